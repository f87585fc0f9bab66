import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ServerCert } from "./ca.js";

export interface HttpsListener {
  server: Server;
  port: number;
  /** `https://127.0.0.1:<port>` */
  origin: string;
  close(): Promise<void>;
}

/** An HTTPS server on loopback (ephemeral port unless one is given) with the local CA's certificate. */
export async function listenHttps(cert: ServerCert, handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>, port = 0): Promise<HttpsListener> {
  const server = createServer({ cert: cert.cert + cert.ca, key: cert.key, keepAliveTimeout: 30_000 }, (req, res) => {
    Promise.resolve(handler(req, res)).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const p = (server.address() as AddressInfo).port;
  return {
    server,
    port: p,
    origin: `https://127.0.0.1:${p}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

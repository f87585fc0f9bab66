import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { createSecureContext, TLSSocket } from "node:tls";
import type { ServerCert } from "./ca.js";

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Azure host names the proxy answers itself (TLS terminated with the local CA); `undefined` = pass through. */
export type HostRouter = (hostname: string) => Handler | undefined;

export interface LocalProxy {
  url: string;
  port: number;
  /** CONNECTs answered locally / tunnelled to their real host. */
  counts: { intercepted: number; tunnelled: number };
  close(): Promise<void>;
}

/**
 * An HTTP proxy on loopback (HTTPS_PROXY): CONNECTs to the Azure host names the router knows are
 * terminated with a certificate of the local CA and served by akspilot's local services; every other
 * host is tunnelled untouched (no TLS interception).
 */
export async function startLocalProxy(cert: ServerCert, route: HostRouter, port = 0): Promise<LocalProxy> {
  const secureContext = createSecureContext({ cert: cert.cert + cert.ca, key: cert.key });
  const counts = { intercepted: 0, tunnelled: 0 };
  const sockets = new Set<Socket>();
  // The decrypted side: one HTTP server fed with TLS sockets, routing by the Host header.
  const inner = createServer((req, res) => {
    const host = (req.headers.host ?? "").replace(/:\d+$/, "").toLowerCase();
    const h = route(host);
    if (!h) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`akspilot proxy: no local service for ${host}\n`);
      return;
    }
    Promise.resolve(h(req, res)).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const server: Server = createServer((req, res) => {
    // Plain-HTTP proxy requests (absolute-form URLs): passed on as they are.
    let target: URL;
    try {
      target = new URL(req.url ?? "");
    } catch {
      res.writeHead(400);
      res.end();
      return;
    }
    const up = httpRequest({ host: target.hostname, port: target.port || 80, method: req.method, path: target.pathname + target.search, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.once("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? "");
    if (!m) {
      client.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      return;
    }
    const host = m[1]!.toLowerCase();
    const port = Number(m[2]);
    if (port === 443 && route(host)) {
      counts.intercepted++;
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) client.unshift(head);
      const tls = new TLSSocket(client, { isServer: true, secureContext });
      tls.on("error", () => client.destroy());
      inner.emit("connection", tls);
      return;
    }
    counts.tunnelled++;
    const upstream = connect(port, host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.once("close", () => sockets.delete(upstream));
    upstream.on("error", () => {
      if (client.writable) client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n");
      client.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const p = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        inner.closeAllConnections();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

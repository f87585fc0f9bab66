import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import type { Endpoints } from "./service.js";
import { UserError } from "../../errors.js";

export interface ServiceProxy {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * kube-proxy for one Service on loopback: each TCP connection goes to one ready endpoint, chosen
 * round-robin, and stays there. Like kube-proxy it does not retry: a connection to an endpoint that
 * hangs, hangs; one to an endpoint that refuses is reset. With no ready endpoint the connection is
 * refused at once (kube-proxy's REJECT rule).
 */
export async function startServiceProxy(endpoints: Endpoints, opts: { host?: string; port?: number } = {}): Promise<ServiceProxy> {
  const host = opts.host ?? "127.0.0.1";
  let next = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    const ready = endpoints.ready();
    if (ready.length === 0) {
      client.resetAndDestroy();
      return;
    }
    const ep = ready[next++ % ready.length]!;
    const upstream = connect({ host: "127.0.0.1", port: ep.port });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.resetAndDestroy());
    client.on("error", () => upstream.destroy());
    upstream.on("connect", () => {
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  });
  server.maxConnections = 4096;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      reject(
        e.code === "EADDRINUSE" || e.code === "EACCES"
          ? new UserError(
              `cannot listen on ${host}:${opts.port}: ${e.code === "EADDRINUSE" ? "the port is in use" : "permission denied"}`,
              "choose another port (or leave it out for a free one)",
            )
          : e,
      );
    });
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${host}:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

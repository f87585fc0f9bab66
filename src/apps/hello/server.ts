import { createServer, type Server } from "node:http";
import { hostname } from "node:os";

/**
 * `YYYY-MM-DD hh:mm:ss.<ms>` in local time, with the milliseconds unpadded (56 ms prints `.56`),
 * exactly as seed 001's page shows them.
 */
export function formatNow(d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${d.getMilliseconds()}`;
}

export function helloBody(now: Date, host: string): string {
  return `Hello world! Now is ${formatNow(now)}.\nRunning on ${host}.`;
}

export interface HelloServerOptions {
  host?: string;
  now?: () => Date;
}

/** The seed-001 page on `/`, plus `/healthz` for probes that should not depend on the page. */
export function createHelloServer(opts: HelloServerOptions = {}): Server {
  // Kubernetes sets HOSTNAME to the pod name (as does the local runtime); os.hostname() says the same in a container.
  const host = opts.host ?? (process.env.HOSTNAME || hostname());
  const now = opts.now ?? (() => new Date());
  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(helloBody(now(), host));
    } else if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end("ok\n");
    } else {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
    }
  });
}

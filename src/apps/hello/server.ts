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
  /** The cluster and Kubernetes version the pod runs on (a runtime with several clusters sets them). */
  cluster?: string;
  kubernetesVersion?: string;
  /**
   * Fault injection for upgrade rehearsals: `http-500` answers 500 on `/` (probes still pass),
   * `never-ready` fails `/healthz`, `slow` answers `/` after 200 ms.
   */
  fault?: HelloFault;
}

export type HelloFault = "http-500" | "never-ready" | "slow";
export const HELLO_FAULTS: readonly HelloFault[] = ["http-500", "never-ready", "slow"];

/** The seed's page, plus a line naming the cluster and version when the pod knows them. */
export function helloPage(now: Date, host: string, cluster?: string, version?: string): string {
  const base = helloBody(now, host);
  return cluster ? `${base}\nCluster ${cluster}${version ? `, Kubernetes ${version}` : ""}.` : base;
}

/** The seed-001 page on `/`, plus `/healthz` for probes that should not depend on the page. */
export function createHelloServer(opts: HelloServerOptions = {}): Server {
  // Kubernetes sets HOSTNAME to the pod name (as does the local runtime); os.hostname() says the same in a container.
  const host = opts.host ?? (process.env.HOSTNAME || hostname());
  const now = opts.now ?? (() => new Date());
  const cluster = opts.cluster ?? (process.env.CLUSTER_NAME || undefined);
  const version = opts.kubernetesVersion ?? (process.env.KUBERNETES_VERSION || undefined);
  const envFault = process.env.HELLO_FAULT;
  const fault = opts.fault ?? (HELLO_FAULTS.includes(envFault as HelloFault) ? (envFault as HelloFault) : undefined);
  // Who answered, for a client watching a switch between clusters (added headers; the page is the seed's).
  const who: Record<string, string> = { ...(cluster ? { "x-cluster": cluster } : {}), ...(version ? { "x-kubernetes-version": version } : {}) };
  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/") {
      if (fault === "http-500") {
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8", ...who }).end("injected fault: http-500\n");
        return;
      }
      const page = () => res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...who }).end(helloPage(now(), host, cluster, version));
      if (fault === "slow") setTimeout(page, 200);
      else page();
    } else if (path === "/healthz") {
      if (fault === "never-ready") {
        res.writeHead(503, { "content-type": "text/plain; charset=utf-8" }).end("injected fault: never-ready\n");
        return;
      }
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8", ...who }).end("ok\n");
    } else {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
    }
  });
}

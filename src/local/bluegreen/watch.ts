import { Agent, request } from "node:http";
import { pace } from "../drill/load.js";

/** One request as a client watching an upgrade saw it: when (ms since the epoch), the status, who answered. */
export interface WatchSample {
  /** When the request was written to its connection (a request waiting for a free connection has not started). */
  start: number;
  end: number;
  /** HTTP status, or 0 when the request failed without one. */
  status: number;
  cluster: string | null;
  version: string | null;
  error?: string;
}

export interface Watch {
  stop(): Promise<WatchSample[]>;
}

/**
 * A client at a fixed rate through the gateway on keep-alive connections (a browser's or an SDK's way,
 * the harder case for a switch), recording for every request which cluster and Kubernetes version
 * answered (the hello app's `x-cluster` / `x-kubernetes-version` headers). Paced as the drill's load
 * (open loop on an absolute schedule, no cap); every request is given up after `timeoutMs`.
 */
export function startWatch(url: string, rate: number, timeoutMs = 5000): Watch {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const samples: WatchSample[] = [];
  const one = () =>
    new Promise<void>((resolve) => {
      let start = Date.now();
      let settled = false;
      const done = (s: Omit<WatchSample, "start" | "end">) => {
        if (settled) return;
        settled = true;
        samples.push({ start, end: Date.now(), ...s });
        resolve();
      };
      const req = request({ host: target.hostname, port: target.port, path: target.pathname, agent }, (res) => {
        res.resume();
        const cluster = (res.headers["x-cluster"] as string | undefined) ?? null;
        const version = (res.headers["x-kubernetes-version"] as string | undefined) ?? null;
        res.on("end", () => done({ status: res.statusCode ?? 0, cluster, version }));
        res.on("error", (e) => done({ status: 0, cluster, version, error: e.message }));
      });
      req.once("finish", () => (start = Date.now()));
      req.setTimeout(timeoutMs, () => req.destroy(new Error("timeout")));
      req.on("error", (e: NodeJS.ErrnoException) => done({ status: 0, cluster: null, version: null, error: e.code ?? e.message }));
      req.end();
    });
  const pacer = pace(rate, one);
  return {
    async stop() {
      await pacer.stop();
      agent.destroy();
      return samples.sort((a, b) => a.start - b.start);
    },
  };
}

export interface CutOver {
  /** From the moment the backend was rewritten to the first request started afterwards that `to` answered, ms. */
  firstNewMs: number | null;
  /** Requests started after the moment (and before `until`) that another cluster still answered. */
  oldAfter: number;
}

/** How fast traffic moved to `to` after `at` (ms since the epoch, up to `until`), from the client's own record. */
export function cutOver(samples: WatchSample[], at: number, to: string, until = Infinity): CutOver {
  const after = samples.filter((s) => s.start >= at && s.start < until);
  const first = after.find((s) => s.cluster === to);
  return { firstNewMs: first ? first.end - at : null, oldAfter: after.filter((s) => s.cluster !== null && s.cluster !== to).length };
}

/** Runs as its own process: `node watch.js <url> [rate]`; on SIGTERM/SIGINT prints every sample as one JSON line. */
export async function watchMain(argv: string[]): Promise<void> {
  const [url, rateRaw] = argv;
  if (!url) {
    process.stderr.write("usage: watch <gateway url> [requests per second]\n");
    process.exit(2);
  }
  const w = startWatch(url, Number(rateRaw ?? 100));
  process.stdout.write(JSON.stringify({ started: Date.now() }) + "\n");
  const stop = async () => {
    const samples = await w.stop();
    process.stdout.write(JSON.stringify({ samples }) + "\n", () => process.exit(0));
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
  // The parent may die without a signal: stop when stdin closes.
  process.stdin.on("end", () => void stop());
  process.stdin.resume();
}

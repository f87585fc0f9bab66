// A loopback HTTP proxy that injects storage faults (latency, resets, 503s, held and paused requests): the
// fault suite puts it in front of Azurite, and the consumer benchmarks count the calls that pass through it.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface FaultRules {
  /** Added before forwarding each request. */
  latencyMs?: number;
  /** Share of requests whose connection is destroyed without an answer (0–1). */
  resetRate?: number;
  /** Share of requests answered 503 Server Busy without reaching storage (0–1). */
  busyRate?: number;
  /** Requests for which this is true are held without an answer until the client gives up. */
  hold?: (req: http.IncomingMessage) => boolean;
  /**
   * Requests for which this is true wait, unanswered, until `resumeOne()` forwards them (oldest first): storage
   * that stalls and then executes the request anyway, whether or not the client still waits for the answer.
   */
  pause?: (req: http.IncomingMessage) => boolean;
}

export interface FaultProxy {
  /** The proxy's base URL (http://127.0.0.1:port): what clients are given instead of storage's. */
  url: string;
  rules: FaultRules;
  /** Where requests go (changes when storage restarts on new ports). */
  setTarget(url: string): void;
  counts: { forwarded: number; reset: number; busy: number; held: number; paused: number };
  /** Forwards the oldest paused request; false when none waits. */
  resumeOne(): boolean;
  close(): Promise<void>;
}

/**
 * An HTTP proxy on loopback that forwards to `target` (keeping the path) and injects faults by its rules.
 * Random choices use `random` (seedable), so a failing run can be replayed.
 */
export async function startFaultProxy(target: string, o: { rules?: FaultRules; random?: () => number } = {}): Promise<FaultProxy> {
  let base = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const counts = { forwarded: 0, reset: 0, busy: 0, held: 0, paused: 0 };
  const paused: { forward: () => void; res: http.ServerResponse }[] = [];
  const rules: FaultRules = o.rules ?? {};
  const random = o.random ?? Math.random;
  const held = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    if (rules.hold?.(req)) {
      counts.held++;
      held.add(res);
      res.on("close", () => held.delete(res));
      req.resume();
      return;
    }
    if (rules.resetRate && random() < rules.resetRate) {
      counts.reset++;
      req.socket.destroy();
      return;
    }
    if (rules.busyRate && random() < rules.busyRate) {
      counts.busy++;
      req.resume();
      res.writeHead(503, { "content-type": "application/xml", "x-ms-error-code": "ServerBusy" });
      res.end('<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>injected</Message></Error>');
      return;
    }
    const forward = () => {
      counts.forwarded++;
      const up = http.request({ host: base.hostname, port: base.port, method: req.method, path: req.url, headers: req.headers, agent }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on("error", () => req.socket.destroy());
      req.pipe(up);
    };
    if (rules.pause?.(req)) {
      // The body is read now, so the request reaches storage when resumed even if its client has given up.
      const body: Buffer[] = [];
      req.on("data", (c: Buffer) => body.push(c));
      counts.paused++;
      paused.push({
        res,
        forward: () => {
          counts.forwarded++;
          const up = http.request({ host: base.hostname, port: base.port, method: req.method, path: req.url, headers: req.headers, agent }, (upRes) => {
            if (res.destroyed) return void upRes.resume();
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            upRes.pipe(res);
          });
          up.on("error", () => req.socket.destroy());
          up.end(Buffer.concat(body));
        },
      });
      return;
    }
    if (rules.latencyMs) setTimeout(forward, rules.latencyMs);
    else forward();
  });
  server.on("clientError", (_e, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    rules,
    counts,
    setTarget(url) {
      base = new URL(url);
    },
    resumeOne() {
      const p = paused.shift();
      if (!p) return false;
      counts.paused--;
      p.forward();
      return true;
    },
    async close() {
      for (const r of held) r.destroy();
      for (const p of paused.splice(0)) p.res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

import { request } from "node:http";

/** One request of the drill's load, as the client saw it. Times in ms since the load started. */
export interface Sample {
  start: number;
  end: number;
  ok: boolean;
  /** Why it failed: the HTTP status, "timeout", or the connection error's code. */
  why?: string;
}

export interface Load {
  /** Stops sending, waits for what is in flight (each bounded by the request timeout), returns every sample. */
  stop(): Promise<Sample[]>;
}

/** A paced sender: stops sending and resolves once every request it started has settled. */
export interface Pacer {
  stop(): Promise<void>;
}

/**
 * Calls `send` every 1/rate seconds on the absolute schedule, whatever earlier requests are doing (a hung
 * request does not slow the next one down). With `cap`, at most that many requests are in flight: a
 * request the cap holds back is not sent and `onCapped` is told instead. The drill's load and the
 * blue-green watch both send this way.
 */
export function pace(rate: number, send: () => Promise<void>, limit?: { cap: number; onCapped: () => void }): Pacer {
  const t0 = performance.now();
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (stopped) return;
    const now = performance.now() - t0;
    // Catch up on the absolute schedule: a late timer sends what was due, not fewer requests.
    while (sent * (1000 / rate) <= now) {
      sent++;
      if (limit && pending.size >= limit.cap) {
        limit.onCapped();
        continue;
      }
      const p = send().finally(() => pending.delete(p));
      pending.add(p);
    }
    timer = setTimeout(tick, Math.max(1, sent * (1000 / rate) - (performance.now() - t0)));
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.all([...pending]);
    },
  };
}

/**
 * An open-loop load at a fixed rate, like the seed's curl loop but faster and counted: paced as above,
 * each request on a new connection as curl makes it, each given up after `timeoutMs`.
 * In-flight requests are capped (rate × timeout, the most a healthy schedule can have) so that the load
 * itself stays bounded; a request the cap holds back counts as failed ("client-limit").
 */
export function startLoad(url: string, rate: number, timeoutMs: number): Load {
  const t0 = performance.now();
  const samples: Sample[] = [];
  const cap = Math.max(10, Math.ceil((rate * timeoutMs) / 1000) + 10);
  const target = new URL(url);

  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const start = performance.now() - t0;
      let settled = false;
      const done = (ok: boolean, why?: string) => {
        if (settled) return;
        settled = true;
        samples.push({ start, end: performance.now() - t0, ok, ...(why ? { why } : {}) });
        resolve();
      };
      const req = request({ host: target.hostname, port: target.port, path: "/", agent: false }, (res) => {
        res.resume();
        res.on("end", () => done(res.statusCode === 200, res.statusCode === 200 ? undefined : String(res.statusCode)));
        res.on("error", () => done(false, "reset"));
      });
      req.setTimeout(timeoutMs, () => {
        done(false, "timeout");
        req.destroy();
      });
      req.on("error", (e: NodeJS.ErrnoException) => done(false, e.code ?? "error"));
      req.end();
    });

  const pacer = pace(rate, one, {
    cap,
    onCapped: () => {
      const now = performance.now() - t0;
      samples.push({ start: now, end: now, ok: false, why: "client-limit" });
    },
  });

  return {
    async stop() {
      await pacer.stop();
      return samples.sort((a, b) => a.start - b.start);
    },
  };
}

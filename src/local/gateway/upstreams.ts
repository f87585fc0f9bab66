import { request as httpRequest } from "node:http";
import { Pool } from "undici";
import type { GatewaySettings } from "./settings.js";

/** What the gateway needs of a Service's endpoints (the cluster's `Endpoints` is one). */
export interface EndpointSource {
  list(): { pod: string; node: string; port: number; ready: boolean; terminating: boolean }[];
  onUpdate(fn: () => void): () => void;
}

/** A try in flight on an endpoint: when it started, and how to abandon it (idempotent tries only). */
export interface InFlightTry {
  at: number;
  abandon?: () => void;
}

export type GatewayEventFn = (type: "Normal" | "Warning", reason: string, message: string) => void;

/** One endpoint as the gateway sees it: health, ejection, in-flight work, a keep-alive pool. */
export class Upstream {
  readonly pool: Pool;
  /** Active probe verdict. Kubernetes already said Ready, so a new endpoint starts healthy. */
  healthy = true;
  /** Passive outlier detection: out until this time, then back after one passing probe. */
  ejectedUntil = 0;
  ejections = 0;
  /** Set by an ejection; cleared by the first passing probe after the back-off. */
  probation = false;
  /** Leaving the Service: no new requests; closed once its in-flight requests end. */
  draining = false;
  inFlight = 0;
  /** Start times of in-flight tries, to notice an endpoint that has stopped answering. */
  readonly starts = new Set<InFlightTry>();
  lastCompletion = 0;
  private passes = 0;
  private failures = 0;
  private probeTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly pod: string,
    readonly node: string,
    readonly port: number,
    private readonly s: GatewaySettings,
    private readonly emit: GatewayEventFn,
  ) {
    this.pool = new Pool(`http://127.0.0.1:${port}`, {
      connections: 128,
      connect: { timeout: s.connectTimeoutMs },
      keepAliveTimeout: 4000,
      headersTimeout: s.retry.perTryTimeoutMs,
      bodyTimeout: s.limits.requestTimeoutMs,
    });
  }

  get key(): string {
    return `${this.pod}:${this.port}`;
  }

  /**
   * A try has waited longer than `stallMs`, this endpoint has answered nothing since it started, and
   * other endpoints have (`peersAnsweredAt`). A frozen process accepts connections (the kernel does) but
   * never answers; this notices it long before a try times out, without mistaking a slow app (all slow
   * alike) for a dead endpoint.
   */
  stalled(now: number, stallMs: number, peersAnsweredAt: number): boolean {
    for (const { at } of this.starts) if (now - at > stallMs && this.lastCompletion < at && peersAnsweredAt > at) return true;
    return false;
  }

  eligible(now: number): boolean {
    return !this.draining && !this.closed && this.healthy && !this.probation && now >= this.ejectedUntil;
  }

  /** A connect failure, reset, timeout or 5xx: out at once, longer each time it happens again. */
  eject(now: number, why: string): void {
    // Already out: failures of tries sent before the ejection do not lengthen it.
    if (this.closed || this.draining || (this.probation && now < this.ejectedUntil)) return;
    const wasIn = this.eligible(now);
    this.ejections++;
    const ms = Math.min(this.s.outlier.baseEjectionMs * 2 ** (this.ejections - 1), this.s.outlier.maxEjectionMs);
    this.ejectedUntil = now + ms;
    this.probation = true;
    if (wasIn) this.emit("Warning", "EndpointEjected", `${this.pod} (${this.node}) taken out for ${ms} ms: ${why}`);
    this.scheduleProbe(ms);
  }

  succeeded(now: number): void {
    this.lastCompletion = now;
    // A clean answer ends the ejection streak: the next failure starts again from the base back-off.
    if (!this.probation && now >= this.ejectedUntil) this.ejections = 0;
  }

  startProbing(): void {
    this.scheduleProbe(this.s.probe.intervalMs);
  }

  private scheduleProbe(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => void this.probe(), ms);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    if (this.closed) return;
    const ok = await probeOnce(this.port, this.s.probe.path, this.s.probe.timeoutMs);
    if (this.closed) return;
    const now = Date.now();
    if (ok) {
      this.failures = 0;
      this.passes++;
      if (!this.healthy && this.passes >= this.s.probe.healthyThreshold) {
        this.healthy = true;
        this.emit("Normal", "EndpointHealthy", `${this.pod} passes ${this.s.probe.path} again`);
      }
      if (this.probation && now >= this.ejectedUntil) {
        this.probation = false;
        this.emit("Normal", "EndpointReturned", `${this.pod} back after its ejection (probe ${this.s.probe.path} passed)`);
      }
    } else {
      this.passes = 0;
      this.failures++;
      if (this.healthy && this.failures >= this.s.probe.unhealthyThreshold) {
        this.healthy = false;
        this.emit("Warning", "EndpointUnhealthy", `${this.pod} failed ${this.failures} probe(s) of ${this.s.probe.path}`);
      }
      // Still out after its back-off: try it again one back-off later, not at the base rate.
      if (this.probation && now >= this.ejectedUntil) this.eject(now, `probe ${this.s.probe.path} failed after the back-off`);
    }
    // An ejection (above, or by a request meanwhile) has already scheduled the probe that ends it.
    if (!(this.probation && Date.now() < this.ejectedUntil)) this.scheduleProbe(this.s.probe.intervalMs);
  }

  /** Stops probing and closes the pool: gracefully, or at once (destroy) for what is still stuck. */
  async close(graceMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.probeTimer);
    const timer = setTimeout(() => void this.pool.destroy().catch(() => undefined), graceMs);
    timer.unref();
    await this.pool.close().catch(() => undefined);
    clearTimeout(timer);
  }
}

/** One probe GET on a fresh connection (never queued behind stuck requests): 2xx/3xx within the timeout. */
function probeOnce(port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent: false, headers: { "user-agent": "akspilot-gateway-probe" } }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve(false);
    }, timeoutMs);
    req.on("error", () => resolve(false));
    req.on("close", () => clearTimeout(timer));
    req.end();
  });
}

/**
 * The gateway's view of a Service's endpoints: an `Upstream` per ready endpoint, kept in step with the
 * Endpoints controller. An endpoint that leaves (pod terminating or not ready, node NotReady) is drained:
 * no new requests, its in-flight ones finish (bounded by the drain timeout), then its pool is closed.
 */
export class UpstreamSet {
  private readonly active = new Map<string, Upstream>();
  private readonly leaving = new Set<Upstream>();
  private next = 0;
  private readonly off: () => void;
  /** Typical answer time (EWMA of successful tries), to tell a slow answer from none. */
  private ewmaMs = 5;

  private readonly watchdog: NodeJS.Timeout;

  /** Called when an endpoint joins (held requests go on). */
  onJoin?: (pod: string) => void;
  /** Narrows the endpoints a try may go to (blue-green's weighted split between clusters). */
  route?: (candidates: Upstream[]) => Upstream[];

  constructor(
    private readonly source: EndpointSource,
    private readonly s: GatewaySettings,
    private readonly emit: GatewayEventFn,
  ) {
    this.off = source.onUpdate(() => this.sync());
    this.sync();
    this.watchdog = setInterval(() => this.checkStalls(), 20);
    this.watchdog.unref();
  }

  /** Latest answer of any endpoint other than `u`. */
  private peersAnsweredAt(u: Upstream): number {
    let t = 0;
    for (const o of this.active.values()) if (o !== u && o.lastCompletion > t) t = o.lastCompletion;
    return t;
  }

  /**
   * A stalled endpoint is ejected, and its idempotent tries are abandoned so that they are retried on
   * another endpoint now instead of after the per-try timeout.
   */
  private checkStalls(): void {
    const now = Date.now();
    const stallMs = this.stallMs();
    for (const u of this.active.values()) {
      if (u.starts.size === 0 || !u.stalled(now, stallMs, this.peersAnsweredAt(u))) continue;
      u.eject(now, `no answer for ${Math.round(stallMs)} ms while other endpoints answered`);
      for (const t of u.starts) t.abandon?.();
    }
  }

  sync(): void {
    const wanted = new Map(
      this.source
        .list()
        .filter((e) => e.ready && !e.terminating)
        .map((e) => [`${e.pod}:${e.port}`, e]),
    );
    for (const [key, up] of this.active) {
      if (wanted.has(key)) continue;
      this.active.delete(key);
      up.draining = true;
      this.leaving.add(up);
      this.emit("Normal", "EndpointDraining", `${up.pod} left the Service: no new requests, ${up.inFlight} in flight`);
      this.closeWhenIdle(up);
    }
    for (const [key, e] of wanted) {
      if (this.active.has(key)) continue;
      const up = new Upstream(e.pod, e.node, e.port, this.s, this.emit);
      this.active.set(key, up);
      up.startProbing();
      this.onJoin?.(up.pod);
    }
  }

  private closeWhenIdle(up: Upstream): void {
    const finish = () => {
      this.leaving.delete(up);
      void up.close(0);
    };
    if (up.inFlight === 0) {
      finish();
      return;
    }
    const deadline = Date.now() + this.s.drainTimeoutMs;
    const check = setInterval(() => {
      if (up.inFlight === 0 || Date.now() >= deadline) {
        clearInterval(check);
        finish();
      }
    }, 50);
    check.unref();
  }

  list(): Upstream[] {
    return [...this.active.values()];
  }

  /** How many endpoints take part (without copying them). */
  get size(): number {
    return this.active.size;
  }

  /** How long a try may go unanswered before its endpoint gets no new work. */
  stallMs(): number {
    return Math.min(Math.max(50, 4 * this.ewmaMs), this.s.retry.perTryTimeoutMs / 2);
  }

  observe(ms: number): void {
    this.ewmaMs = 0.9 * this.ewmaMs + 0.1 * ms;
  }

  /**
   * Round-robin over the endpoints that may take work, skipping those already tried for this request.
   * Stalled endpoints are used only when nothing else is left (better a slow answer than none); when every
   * endpoint is ejected, the ejected-but-probe-healthy ones still take work (Envoy's panic routing):
   * ejecting all of them would turn a partial outage into a total one.
   */
  pick(exclude: readonly Upstream[] | undefined): Upstream | undefined {
    const now = Date.now();
    // The common case, every endpoint fresh and none tried yet: round-robin without building a list.
    if (!this.route && (exclude === undefined || exclude.length === 0) && this.active.size > 0) {
      let allFresh = true;
      let stallMs = -1;
      for (const u of this.active.values()) {
        if (!u.eligible(now)) {
          allFresh = false;
          break;
        }
        if (u.starts.size > 0) {
          if (stallMs < 0) stallMs = this.stallMs();
          if (u.stalled(now, stallMs, this.peersAnsweredAt(u))) {
            allFresh = false;
            break;
          }
        }
      }
      if (allFresh) {
        const i = this.next++ % this.active.size;
        if (this.active.size === 1 || i === 0) return this.active.values().next().value;
        let k = 0;
        for (const u of this.active.values()) if (k++ === i) return u;
      }
    }
    const stallMs = this.stallMs();
    let open: Upstream[] | undefined;
    let fresh: Upstream[] | undefined;
    for (const u of this.active.values()) {
      if (exclude?.includes(u) || !u.eligible(now)) continue;
      (open ??= []).push(u);
      if (!(u.starts.size > 0 && u.stalled(now, stallMs, this.peersAnsweredAt(u)))) (fresh ??= []).push(u);
    }
    const usable = fresh ?? open ?? this.list().filter((u) => !exclude?.includes(u) && !u.draining && u.healthy);
    const from = this.route ? this.route(usable) : usable;
    if (from.length === 0) return undefined;
    return from[this.next++ % from.length];
  }

  async close(): Promise<void> {
    this.off();
    clearInterval(this.watchdog);
    const all = [...this.active.values(), ...this.leaving];
    this.active.clear();
    this.leaving.clear();
    await Promise.all(all.map((u) => u.close(0)));
  }
}

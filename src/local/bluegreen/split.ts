import type { EndpointSource, Upstream } from "../gateway/upstreams.js";
import type { BackendLease, LeaseHolder } from "./backend-lease.js";

/** What the split needs of a cluster's Service endpoints (the cluster's `Endpoints` is one). */
export interface ClusterEndpoints {
  list(): { pod: string; node: string; port: number; ready: boolean; terminating: boolean }[];
  onUpdate(fn: () => void): () => void;
}

export interface ClusterTally {
  requests: number;
  failed: number;
}

export interface WindowFigures {
  requests: number;
  failed: number;
  errorRate: number;
  p95Ms: number | null;
}

function p95(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]!;
}

/**
 * The gateway's backend across clusters: the endpoints of every member cluster's Service, and the share
 * of new requests each cluster gets. Only the lease's holder writes the weights (fenced by generation).
 * Each try goes to a cluster chosen by smooth weighted round-robin (exact shares, no randomness), then to
 * an endpoint of that cluster; a cluster at weight 0 gets nothing. A try already sent finishes where it is:
 * changing the weights affects only the tries that start afterwards, so a switch drops nothing in flight.
 */
export class ClusterSplit implements EndpointSource {
  private readonly members = new Map<string, { source: ClusterEndpoints; off: () => void }>();
  private readonly listeners = new Set<() => void>();
  private readonly clusterOfPod = new Map<string, string>();
  private weights: Record<string, number> = {};
  private readonly current = new Map<string, number>();
  private readonly tally = new Map<string, ClusterTally>();
  private window = new Map<string, { requests: number; failed: number; ms: number[] }>();

  constructor(
    private readonly lease: BackendLease,
    private readonly emit: (type: "Normal" | "Warning", reason: string, message: string) => void = () => undefined,
  ) {}

  /** A cluster's Service joins the backend (at weight 0 until the owner says otherwise). */
  join(cluster: string, source: ClusterEndpoints): void {
    this.leave(cluster);
    const off = source.onUpdate(() => this.changed());
    this.members.set(cluster, { source, off });
    this.changed();
  }

  leave(cluster: string): void {
    const m = this.members.get(cluster);
    if (!m) return;
    m.off();
    this.members.delete(cluster);
    this.changed();
  }

  has(cluster: string): boolean {
    return this.members.has(cluster);
  }

  /** Writes the weights under the lease: refused (LeaseRefused) unless `by` holds it now. */
  write(by: LeaseHolder, weights: Record<string, number>, why: string): void {
    this.lease.check(by, "write the gateway's backend");
    const same = JSON.stringify(weights) === JSON.stringify(this.weights);
    this.weights = { ...weights };
    this.current.clear();
    if (!same)
      this.emit(
        "Normal",
        "BackendWeights",
        `${Object.entries(weights)
          .map(([c, w]) => `${c} ${w}%`)
          .join(", ")} (by ${by.holder}, generation ${by.generation}): ${why}`,
      );
  }

  get shares(): Record<string, number> {
    return { ...this.weights };
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  list(): { pod: string; node: string; port: number; ready: boolean; terminating: boolean }[] {
    const out: ReturnType<ClusterEndpoints["list"]> = [];
    for (const [cluster, m] of this.members) {
      for (const e of m.source.list()) {
        this.clusterOfPod.set(e.pod, cluster);
        out.push(e);
      }
    }
    return out;
  }

  onUpdate(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  clusterOf(pod: string): string | undefined {
    return this.clusterOfPod.get(pod);
  }

  /** The gateway's route hook: the candidates of the cluster whose turn it is. */
  readonly route = (candidates: Upstream[]): Upstream[] => {
    const by = new Map<string, Upstream[]>();
    for (const u of candidates) {
      const c = this.clusterOfPod.get(u.pod);
      if (c === undefined || !((this.weights[c] ?? 0) > 0)) continue;
      const list = by.get(c) ?? [];
      list.push(u);
      by.set(c, list);
    }
    if (by.size <= 1) return by.values().next().value ?? [];
    // Smooth weighted round-robin (nginx) over the clusters that have a candidate now.
    let total = 0;
    let best: string | undefined;
    for (const c of by.keys()) {
      const w = this.weights[c]!;
      total += w;
      const v = (this.current.get(c) ?? 0) + w;
      this.current.set(c, v);
      if (best === undefined || v > this.current.get(best)!) best = c;
    }
    this.current.set(best!, this.current.get(best!)! - total);
    return by.get(best!)!;
  };

  /** The gateway's observe hook: every try's outcome, per cluster. */
  readonly observe = (pod: string, ok: boolean, ms: number): void => {
    const c = this.clusterOfPod.get(pod);
    if (c === undefined) return;
    const t = this.tally.get(c) ?? { requests: 0, failed: 0 };
    t.requests++;
    if (!ok) t.failed++;
    this.tally.set(c, t);
    const w = this.window.get(c) ?? { requests: 0, failed: 0, ms: [] };
    w.requests++;
    if (!ok) w.failed++;
    else if (w.ms.length < 100_000) w.ms.push(ms);
    this.window.set(c, w);
  };

  byCluster(): Record<string, ClusterTally> {
    return Object.fromEntries([...this.tally].map(([c, t]) => [c, { ...t }]));
  }

  /** Starts a comparison window (canary step): per-cluster counts and answer times from now on. */
  startWindow(): void {
    this.window = new Map();
  }

  windowFigures(cluster: string): WindowFigures {
    const w = this.window.get(cluster) ?? { requests: 0, failed: 0, ms: [] };
    return { requests: w.requests, failed: w.failed, errorRate: w.requests ? w.failed / w.requests : 0, p95Ms: p95(w.ms) };
  }

  close(): void {
    for (const c of [...this.members.keys()]) this.leave(c);
    this.listeners.clear();
  }
}

/**
 * Canary analysis: green regresses when its error rate exceeds blue's by more than a point, or its p95
 * exceeds 2 × blue's plus 50 ms (slack for loopback noise at low latencies).
 */
export function compareWindow(green: WindowFigures, blue: WindowFigures): { ok: boolean; reason: string } {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const ms = (x: number | null) => (x === null ? "-" : `${x.toFixed(1)} ms`);
  const figures = `green ${green.requests} tries, ${pct(green.errorRate)} failed, p95 ${ms(green.p95Ms)}; blue ${blue.requests} tries, ${pct(blue.errorRate)} failed, p95 ${ms(blue.p95Ms)}`;
  if (green.requests === 0) return { ok: false, reason: `green answered no request in the window (${figures})` };
  if (green.failed > 0 && green.errorRate > blue.errorRate + 0.01) return { ok: false, reason: `green's error rate is higher than blue's: ${figures}` };
  if (green.p95Ms !== null && blue.p95Ms !== null && green.p95Ms > 2 * blue.p95Ms + 50) return { ok: false, reason: `green's p95 is slower than blue's: ${figures}` };
  return { ok: true, reason: figures };
}

import type { StatusV1 } from "../local/status.js";
import type { ClusterEvent } from "../scaling/events.js";

/**
 * What the dashboard keeps and pushes. A `Sample` is one second of the charts (small: it is kept for the
 * whole history window); a `View` is the latest full picture for the tables and the "why" panel (only the
 * newest one is kept). Both are derived from the control API's StatusV1, so the page never sees the token.
 */
export interface Sample {
  /** Runtime time, ms since the epoch. */
  t: number;
  /** Queue depth (EDW), null where the blueprint has no queue. */
  q: number | null;
  /** Replicas summed over every Deployment: desired, current (running), ready, pending. */
  r: [number, number, number, number];
  /** Nodes by state: Ready, NotReady, Provisioning, Draining. */
  n: [number, number, number, number];
  /** Nodes by pool kind: agent pools (static), Karpenter NodePools. */
  k: [number, number];
  /** Messages processed per second since the previous sample, from the pods' own counters. */
  m: number;
  /**
   * The HTTP gateway (`--gateway akspilot`) per second since the previous sample: requests, retries,
   * retries refused, requests held for a ready endpoint. Null without that gateway (its counters are null).
   */
  g?: [number, number, number, number] | null;
  /** Ready endpoints behind the blueprint's Service, per cluster; null where the blueprint serves no HTTP. */
  e?: Record<string, number> | null;
  /** The HTTP gateway's failed requests (5xx) per second; null without that gateway. */
  f?: number | null;
  /** The HTTP gateway's request latency over its recent window, ms: p50, p95, p99; null when none finished. */
  l?: [number, number, number] | null;
  /** EDW end-to-end latency (enqueued → stored) of the messages stored lately, ms: p50, p95. */
  x?: [number, number] | null;
  /** Requests per second per cluster, where the gateway splits traffic between clusters (blue-green). */
  c?: Record<string, number> | null;
}

/** The blue-green upgrade's state, where the run has one (optional within v1). */
export interface BlueGreenView {
  stage: string;
  phase: string;
  activeCluster: string | null;
  standbyCluster: string | null;
  targetVersion: string | null;
  weights: Record<string, number>;
  owner: string | null;
}

/** Fields of StatusV1 other parts of the runtime add within v1; read only when present. */
type StatusAdditions = StatusV1 & {
  gateway: (NonNullable<StatusV1["gateway"]> & { byCluster?: Record<string, { requests: number; failed: number }> }) | null;
  blueGreen?: (Partial<Omit<BlueGreenView, "owner">> & { owner?: { holder?: unknown; generation?: unknown } | null }) | null;
};

/** The ScaledObject's thresholds, where the blueprint autoscales on a queue. */
export interface ScaledObjectView {
  name: string;
  activationQueueLength: number;
  queueLength: number;
  pollingIntervalSeconds: number;
  minReplicas: number;
  maxReplicas: number;
}

export interface View {
  blueprint: string;
  time: number;
  policy: string;
  paused: boolean;
  queueDepth: number | null;
  scaledObject: ScaledObjectView | null;
  notes: Record<string, string>;
  /** When each autoscaler loop (keda, hpa, …) ticks next, ms since the epoch. */
  nextTicks: Record<string, number>;
  /** What the run can be loaded with from the page: messages (a queue) and/or requests (a gateway). */
  load: { messages: boolean; requests: boolean };
  blueGreen: BlueGreenView | null;
  deployments: StatusV1["deployments"];
  pods: {
    cluster: string;
    name: string;
    deployment: string;
    node: string | null;
    phase: string;
    waiting: string | null;
    ready: boolean;
    restarts: number;
    ageSeconds: number;
    inFlight: number;
  }[];
  nodes: {
    cluster: string;
    name: string;
    pool: string;
    poolKind: string;
    type: string;
    phase: string;
    powered: boolean;
    schedulable: boolean;
    pods: number;
    cpuRequestedMillis: number;
    cpuAllocatableMillis: number;
    ageSeconds: number;
    launchedAt: number | null;
    expectedReadyAt: number | null;
    launchReason: string | null;
  }[];
}

/** The first message of every stream: the history window and the newest view (a reload backfills from it). */
export interface Backfill {
  samples: Sample[];
  events: ClusterEvent[];
  view: View | null;
  /** Seconds of history the server keeps (the charts' window). */
  windowSeconds: number;
}

/** Each second after the backfill: the new sample, the events since the last push and the newest view. */
export interface Push {
  sample: Sample;
  events: ClusterEvent[];
  view: View;
}

const NODE_STATES = ["Ready", "NotReady", "Provisioning", "Draining"] as const;

function scaledObjectOf(extra: Record<string, unknown>): ScaledObjectView | null {
  const so = extra.scaledObject as Partial<ScaledObjectView> | undefined;
  if (!so || typeof so !== "object" || typeof so.activationQueueLength !== "number" || typeof so.queueLength !== "number") return null;
  return {
    name: String(so.name ?? ""),
    activationQueueLength: so.activationQueueLength,
    queueLength: so.queueLength,
    pollingIntervalSeconds: Number(so.pollingIntervalSeconds ?? 0),
    minReplicas: Number(so.minReplicas ?? 0),
    maxReplicas: Number(so.maxReplicas ?? 0),
  };
}

/**
 * Messages processed per second between two status reads. Each pod counts for itself and a pod that goes
 * takes its count with it, so the rate sums each pod's own increase (a new pod's whole count is new).
 */
export class ProcessedRate {
  private last = new Map<string, number>();
  private lastTime?: number;

  next(s: StatusV1): number {
    let done = 0;
    const now = new Map<string, number>();
    for (const p of s.pods) {
      const key = `${p.cluster}/${p.name}`;
      now.set(key, p.processed);
      done += Math.max(0, p.processed - (this.last.get(key) ?? 0));
    }
    const seconds = this.lastTime === undefined ? 0 : (s.time - this.lastTime) / 1000;
    this.last = now;
    this.lastTime = s.time;
    return seconds > 0 ? Math.round((done / seconds) * 10) / 10 : 0;
  }
}

/**
 * The gateway's counters as rates between two status reads. A counter that goes down (a new gateway after
 * a restart) counts from zero again instead of giving a negative rate.
 */
export class GatewayRate {
  private last?: { time: number; c: number[] };

  next(s: StatusV1): Sample["g"] {
    const g = s.gateway;
    if (!g || g.requests === null) {
      this.last = undefined;
      return null;
    }
    const c = [g.requests, g.retries ?? 0, g.retriesRefused ?? 0, g.held ?? 0];
    const prev = this.last;
    this.last = { time: s.time, c };
    const seconds = prev ? (s.time - prev.time) / 1000 : 0;
    const rate = (v: number, i: number) => {
      const before = prev!.c[i]!;
      return Math.round(((v >= before ? v - before : v) / seconds) * 10) / 10;
    };
    return c.map((v, i) => (seconds > 0 ? rate(v, i) : 0)) as [number, number, number, number];
  }
}

/** Counters (by key) as rates per second between two reads; a counter that goes down counts from zero again. */
export class CounterRates {
  private last?: { time: number; c: Map<string, number> };

  next(time: number, counters: Record<string, number> | null | undefined): Record<string, number> | null {
    if (!counters) {
      this.last = undefined;
      return null;
    }
    const prev = this.last;
    this.last = { time, c: new Map(Object.entries(counters)) };
    const seconds = prev ? (time - prev.time) / 1000 : 0;
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(counters)) {
      const before = prev?.c.get(k) ?? 0;
      out[k] = seconds > 0 ? Math.round(((v >= before ? v - before : v) / seconds) * 10) / 10 : 0;
    }
    return out;
  }
}

/** The gateway's failed requests and its per-cluster requests, as rates: what the sample adds to `g`. */
export class TrafficRates {
  private readonly failed = new CounterRates();
  private readonly clusters = new CounterRates();

  next(s: StatusV1): Pick<Sample, "f" | "c"> {
    const g = (s as StatusAdditions).gateway;
    const failed = this.failed.next(s.time, typeof g?.failed === "number" ? { failed: g.failed } : null);
    const by = g?.byCluster;
    const clusters = this.clusters.next(s.time, by ? Object.fromEntries(Object.entries(by).map(([c, x]) => [c, Number(x.requests) || 0])) : null);
    return { f: failed ? failed.failed! : null, c: clusters };
  }
}

/** The blue-green state as the page shows it, or null where the run has none. */
export function blueGreenOf(s: StatusV1): BlueGreenView | null {
  const b = (s as StatusAdditions).blueGreen;
  if (!b || typeof b !== "object") return null;
  const str = (v: unknown) => (typeof v === "string" ? v : v === undefined || v === null ? null : String(v));
  const weights: Record<string, number> = {};
  if (b.weights && typeof b.weights === "object") for (const [k, v] of Object.entries(b.weights)) if (typeof v === "number") weights[k] = v;
  // The backend lease: its holder and generation, shown as "blue (generation 3)".
  const o = b.owner;
  const owner = o && typeof o === "object" && typeof o.holder === "string" ? `${o.holder}${typeof o.generation === "number" ? ` (generation ${o.generation})` : ""}` : null;
  return {
    stage: str(b.stage) ?? "",
    phase: str(b.phase) ?? "",
    activeCluster: str(b.activeCluster),
    standbyCluster: str(b.standbyCluster),
    targetVersion: str(b.targetVersion),
    weights,
    owner,
  };
}

/** EDW end-to-end latency from the driver's status (`extra.latency`), p50 and p95. */
function storedLatencyOf(extra: Record<string, unknown>): [number, number] | null {
  const l = extra.latency as { p50Ms?: unknown; p95Ms?: unknown } | null | undefined;
  return l && typeof l.p50Ms === "number" && typeof l.p95Ms === "number" ? [l.p50Ms, l.p95Ms] : null;
}

/**
 * Ready endpoints per cluster: the gateway's own view where it runs (healthy and not ejected), else the
 * ready pods the Service's L4 proxy sends to. Null where the blueprint has no Service at a gateway URL.
 */
export function endpointsOf(s: StatusV1): Record<string, number> | null {
  if (!s.gateway) return null;
  const out: Record<string, number> = {};
  const clusterOf = new Map(s.pods.map((p) => [p.name, p.cluster]));
  for (const p of s.pods) out[p.cluster] ??= 0;
  if (s.gateway.mode === "akspilot") {
    for (const e of s.gateway.endpoints) {
      const c = clusterOf.get(e.pod) ?? "";
      out[c] = (out[c] ?? 0) + (e.healthy && !e.ejected ? 1 : 0);
    }
  } else {
    for (const p of s.pods) if (p.ready) out[p.cluster] = (out[p.cluster] ?? 0) + 1;
  }
  return out;
}

export function sampleOf(s: StatusV1, processedPerSecond = 0, gateway: Sample["g"] = null, traffic: Pick<Sample, "f" | "c"> = {}): Sample {
  const sum = (f: (d: StatusV1["deployments"][number]) => number) => s.deployments.reduce((a, d) => a + f(d), 0);
  return {
    t: s.time,
    q: s.queueDepth,
    r: [sum((d) => d.desired), sum((d) => d.current), sum((d) => d.ready), sum((d) => d.pending)],
    n: NODE_STATES.map((st) => s.nodes.filter((x) => x.phase === st).length) as Sample["n"],
    k: [s.nodes.filter((x) => x.poolKind === "agentPool").length, s.nodes.filter((x) => x.poolKind === "nodePool").length],
    m: processedPerSecond,
    g: gateway,
    e: endpointsOf(s),
    f: traffic.f ?? null,
    l: s.gateway?.latencyMs ? [s.gateway.latencyMs.p50, s.gateway.latencyMs.p95, s.gateway.latencyMs.p99] : null,
    x: storedLatencyOf(s.extra),
    c: traffic.c ?? null,
  };
}

export function viewOf(s: StatusV1): View {
  return {
    blueprint: s.blueprint,
    time: s.time,
    policy: s.policy,
    paused: s.paused,
    queueDepth: s.queueDepth,
    scaledObject: scaledObjectOf(s.extra),
    notes: s.autoscaler?.notes ?? {},
    nextTicks: s.autoscaler?.nextTicks ?? {},
    load: { messages: s.queueDepth !== null, requests: s.gateway !== null },
    blueGreen: blueGreenOf(s),
    deployments: s.deployments,
    pods: s.pods.map((p) => ({
      cluster: p.cluster,
      name: p.name,
      deployment: p.deployment,
      node: p.node,
      phase: p.phase,
      waiting: p.waiting,
      ready: p.ready,
      restarts: p.restarts,
      ageSeconds: p.ageSeconds,
      inFlight: p.inFlight,
    })),
    nodes: s.nodes.map((n) => ({
      cluster: n.cluster,
      name: n.name,
      pool: n.pool,
      poolKind: n.poolKind,
      type: n.type,
      phase: n.phase,
      powered: n.powered,
      schedulable: n.schedulable,
      pods: n.pods,
      cpuRequestedMillis: n.cpuRequestedMillis,
      cpuAllocatableMillis: n.cpuAllocatableMillis,
      ageSeconds: n.ageSeconds,
      launchedAt: n.launchedAt ?? null,
      expectedReadyAt: n.expectedReadyAt ?? null,
      launchReason: n.launchReason ?? null,
    })),
  };
}

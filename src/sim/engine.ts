import { UserError } from "../errors.js";
import { EventRecorder, REASONS, disruptingReason, type ClusterEvent } from "../scaling/events.js";
import { queueLengthFrom } from "../scaling/azure-queue.js";
import { DEFAULT_TIMINGS, type TimingProfile } from "../scaling/timings.js";
import { ArrivalRateEstimator } from "../scaling/estimator.js";
import { Batcher, KARPENTER, ValidationQueue, revalidate, type PoolSettings } from "../scaling/karpenter.js";
import { makePolicy, type PolicyInput, type PolicyName, type PredictiveOptions } from "../scaling/policy.js";
import type { Resources } from "../scaling/quantity.js";
import type { ScalingRule } from "../scaling/scaledobject.js";
import type { SchedToleration } from "../scaling/scheduling.js";
import { staticPoolNodes } from "../scaling/static-pools.js";
import { daemonSetOverhead, type DaemonSetOverhead } from "../scaling/daemonsets.js";
import type { ClusterSpec } from "../blueprints/types.js";
import { SimCluster } from "./cluster.js";
import { FluidQueue } from "./fluid-queue.js";
import type { Trace } from "./trace.js";

export interface SimOptions {
  rule: ScalingRule;
  pool: PoolSettings;
  trace: Trace;
  policy?: PolicyName;
  predictive?: Partial<PredictiveOptions>;
  /** Milliseconds one message takes (closed loop; also the predictive policy's per-pod throughput in open loop). */
  workMs?: number;
  /** Messages a pod works on at once. */
  concurrency?: number;
  initialReplicas?: number;
  /** The timing profile (default DEFAULT_TIMINGS); the two fields below override it. */
  timings?: Partial<TimingProfile>;
  /** Overrides timings.nodeBootSeconds. */
  nodeStartupSeconds?: number;
  /** Overrides timings.podStartSeconds. */
  podStartupSeconds?: number;
  /** Requests of one pod (default: the seed consumer's 250m / 64Mi). */
  podRequests?: Resources;
  /**
   * The cluster the pods run on, as a blueprint states it: its static agent pools start Ready at t = 0 (the
   * runtime's `staticPoolNodes`), take pods first when they fit and the pods tolerate their taints, are never
   * consolidated (but are consolidation's destinations) and count in nodeSeconds; its add-ons' DaemonSets are on every node (build `pool` from
   * `nodeTypesFor(cluster.addOns).catalog` so Karpenter's sizes match). Default: no static pool — a cluster
   * of Karpenter nodes only, as the runtime runs a blueprint cluster whose `agentPools` is empty.
   */
  cluster?: Pick<ClusterSpec, "agentPools" | "addOns" | "kubernetesVersion">;
  /** The pods' tolerations (default none: no tainted node takes them). */
  podTolerations?: SchedToleration[];
  /** Simulated seconds (default: the last trace row + 900 s). */
  durationSeconds?: number;
  /** The HPA's resync phase after KEDA's poll, seconds in [0, 15) (default 0; the CLI resolves best/worst/random). */
  hpaPhaseSeconds?: number;
  /** Spans [from, to) of simulated seconds during which the scaler cannot reach storage (every read fails). */
  storageUnreachable?: [number, number][];
}

export interface TimelineEntry {
  t: number;
  /** Pods the Deployment has (spec.replicas): pending, starting and ready. */
  replicas: number;
  ready: number;
  nodes: number;
  /** What the trigger reads: KEDA `all` approximate count (waiting + in flight). */
  queueLength: number;
}

export interface SimSummary {
  policy: PolicyName;
  durationSeconds: number;
  maxReplicas: number;
  maxNodes: number;
  /** ∫ pods bound to nodes (starting, ready or terminating) dt. */
  podSeconds: number;
  /**
   * ∫ nodes (provisioning, ready, or drained until the VM is deleted) dt: every node, the static pools' included
   * (as the runtime counts them), and nodes held for the policy's capacity buffer.
   */
  nodeSeconds: number;
  /** The part of nodeSeconds on Karpenter's nodes (what a policy changes; static pools cost the same whatever it does). */
  poolNodeSeconds: number;
  /** Static agent-pool nodes the cluster starts with. */
  staticNodes: number;
  /** What the cluster's DaemonSets (base AKS and its add-ons') take from every node's allocatable. */
  daemonSetsPerNode: DaemonSetOverhead;
  /** USD at the catalog's list prices. */
  nodeCost: number;
  firstScaleUpAt: number | null;
  /** When replicas last returned to 0 (null if they end above 0 or never left it). */
  backToZeroAt: number | null;
  /** Closed loop: first arrival until the last backlog cleared (null if messages still wait at the end). */
  drainSeconds?: number | null;
  /** Closed loop: seconds during which messages waited. */
  backlogSeconds?: number;
  p50LatencyMs?: number | null;
  p95LatencyMs?: number | null;
  arrived?: number;
  processed?: number;
  backlogAtEnd?: number;
}

export interface SimResult {
  timeline: TimelineEntry[];
  summary: SimSummary;
  /** The nodes at the end: name (a static node's as the runtime names it), instance type, pool, pods bound (starting or ready). */
  nodes: { name: string; type: string; pool: string; static: boolean; pods: number }[];
  /** The runtime's event type and reasons (`akspilot events`), timed in milliseconds since the start. */
  events: ClusterEvent[];
}

export const SIM_DEFAULTS = { nodeStartupSeconds: DEFAULT_TIMINGS.nodeBootSeconds, podStartupSeconds: DEFAULT_TIMINGS.podStartSeconds, concurrency: 1, tailSeconds: 900 } as const;
/** Longest simulated span: 366 days. */
export const SIM_MAX_SECONDS = 366 * 86400;
export const SEED_POD_REQUESTS: Resources = { cpuMillis: 250, memoryBytes: 64 * 1024 ** 2 };

// Batch and disruption times land on sums of floats; compare with a small slack.
const EPS = 1e-9;

/**
 * Runs a policy, the ReplicaSet, kube-scheduler and Karpenter over simulated time. Everything happens
 * at events (policy loop ticks, trace rows, batch windows, node/pod startups, disruption passes), and
 * the queue moves as a fluid in between, so the cost is a few operations per event.
 */
export function simulate(o: SimOptions): SimResult {
  const { rule, pool, trace } = o;
  const policyName = o.policy ?? "keda";
  const closed = trace.kind === "arrivals";
  const workMs = o.workMs;
  if (closed && (workMs === undefined || !(workMs > 0))) throw new UserError("an arrivalsPerSecond trace needs --work-ms (milliseconds per message)", "pass e.g. --work-ms 200");
  const concurrency = o.concurrency ?? SIM_DEFAULTS.concurrency;
  if (!(concurrency >= 1)) throw new UserError(`--concurrency must be ≥ 1, got ${concurrency}`);
  const perPod = workMs ? (concurrency * 1000) / workMs : undefined;
  const timings: TimingProfile = {
    ...DEFAULT_TIMINGS,
    ...o.timings,
    ...(o.nodeStartupSeconds !== undefined ? { nodeBootSeconds: o.nodeStartupSeconds } : {}),
    ...(o.podStartupSeconds !== undefined ? { podStartSeconds: o.podStartupSeconds } : {}),
  };
  const lastRow = trace.points[trace.points.length - 1]!.t;
  const end = o.durationSeconds ?? lastRow + SIM_DEFAULTS.tailSeconds;
  // The loops tick every 10-30 s of simulated time whatever the load, so the cost grows with the span: a year takes seconds.
  if (!(end <= SIM_MAX_SECONDS)) {
    throw new UserError(
      `${o.durationSeconds !== undefined ? "--duration" : "the trace (last row + 900 s tail)"} spans ${end} simulated seconds; the limit is ${SIM_MAX_SECONDS} (a year)`,
      "simulate a shorter span (--duration, or a trace ending sooner)",
    );
  }

  // Every event is kept (Infinity): a simulated year is read afterwards, not streamed.
  const events = new EventRecorder(Infinity, () => 0);
  const at = (t: number) => Math.round(t * 1000);
  const cluster = new SimCluster(pool, o.podRequests ?? SEED_POD_REQUESTS, timings, events, o.cluster ? staticPoolNodes(o.cluster) : [], o.podTolerations ?? []);
  const staticNodes = cluster.nodes.length;
  const fq = new FluidQueue((workMs ?? 0) / 1000);
  const policy = makePolicy(policyName, rule, o.predictive, o.hpaPhaseSeconds ?? 0);
  const loops = policy.loops().map((l) => ({ ...l, next: l.offsetSeconds ?? 0 }));
  // The runtime's estimator, sampled at every policy tick as the runtime's autoscaler samples it.
  const arrivals = new ArrivalRateEstimator();

  let traceIdx = 0;
  let value = 0; // current trace value
  const capacity = () => (closed ? cluster.readyPods * perPod! : 0);
  // Closed loop: the trigger's read by its queueLengthStrategy (visibleonly peeks the waiting messages, up to 32).
  const observed = () => (closed ? Math.round(queueLengthFrom(rule.queueLengthStrategy, Math.round(fq.waiting), fq.observed(value, capacity()))) : value);

  // Karpenter's batch window (opened by new pending pods): the runtime's Batcher.
  const batcher = new Batcher();
  let lastUnnominated = 0;
  const triggerIfNeeded = (t: number) => {
    const u = cluster.unnominated();
    if (u > lastUnnominated) batcher.trigger(t);
    lastUnnominated = u;
  };

  // Disruption: a pass every 10 s; decisions are re-validated 15 s later before they run (the runtime's queue).
  let nextDisruption = 0;
  let memo: { version: number; quietAt: number } | undefined;
  const validations = new ValidationQueue();

  const initial = o.initialReplicas ?? 0;
  if (initial > 0) {
    cluster.setReplicas(Math.min(initial, rule.maxReplicas), 0);
    events.normal(`deployment/${rule.target}`, REASONS.scalingReplicaSet, `initial: 0 → ${cluster.replicas}: --initial-replicas`, 0);
  }

  const timeline: TimelineEntry[] = [];
  let podSeconds = 0;
  let nodeSeconds = 0;
  let poolNodeSeconds = 0;
  let nodeCost = 0;
  let maxReplicas = cluster.replicas;
  let maxNodes = 0;
  let firstScaleUpAt: number | null = null;
  let backToZeroAt: number | null = null;
  let firstArrivalAt: number | undefined;

  let t = 0;
  for (;;) {
    // 1. Trace rows that start now.
    while (traceIdx < trace.points.length && trace.points[traceIdx]!.t <= t + EPS) value = trace.points[traceIdx++]!.v;
    if (closed && value > 0) firstArrivalAt ??= t;
    // 2. Nodes and pods whose startup elapsed.
    cluster.advanceTo(t);
    cluster.schedulePending(t);
    // 3. A closed batch launches nodes.
    if (batcher.due(t + EPS)) {
      cluster.provision(t);
      lastUnnominated = cluster.unnominated();
    }
    triggerIfNeeded(t);
    // 4. Policy loops due now, in their declared order (KEDA before the HPA at equal times).
    for (const l of loops) {
      if (l.next > t + EPS) continue;
      const q = observed();
      const input: PolicyInput = { now: t, queueLength: q, current: cluster.replicas, ready: cluster.readyPods };
      const outage = o.storageUnreachable?.find(([from, to]) => t + EPS >= from && t + EPS < to);
      if (outage) input.scalerError = `storage unreachable (outage ${outage[0]}–${outage[1]} s)`;
      // Completed messages: arrived less what the trigger still counts (closed loop); none in open loop.
      const rate = arrivals.sample(t, q, closed ? fq.arrived - fq.observed(value, capacity()) : 0);
      if (rate !== undefined) input.arrivalRate = rate;
      const mu = closed ? (fq.saturatedPodSeconds > 0 ? fq.saturatedProcessed / fq.saturatedPodSeconds : undefined) : perPod;
      if (mu !== undefined) input.perPodThroughput = mu;
      const r = policy.tick(l.name, input);
      if (outage) events.warning(`scaledobject/${rule.name}`, "KEDAScalerFailed", `${l.name}: ${input.scalerError}`, at(t));
      l.next += l.periodSeconds;
      if (r.decision && r.decision.replicas !== cluster.replicas) {
        const before = cluster.replicas;
        cluster.setReplicas(r.decision.replicas, t);
        // As the runtime's autoscaler and ReplicaSet record a decision: the ScaledObject's, then the Deployment's.
        events.normal(`scaledobject/${rule.name}`, r.decision.reason, `${l.name}: ${r.decision.message}`, at(t));
        events.normal(
          `deployment/${rule.target}`,
          REASONS.scalingReplicaSet,
          `${policy.name}/${l.name}: ${before} → ${cluster.replicas}: ${r.decision.reason} (scaledobject/${rule.name})`,
          at(t),
        );
        if (cluster.replicas > before && firstScaleUpAt === null) firstScaleUpAt = t;
        if (cluster.replicas === 0 && before > 0) backToZeroAt = t;
        if (cluster.replicas > 0) backToZeroAt = null;
        cluster.schedulePending(t);
        triggerIfNeeded(t);
      }
      // The policy's capacity buffer (phantom pods), re-read at each of its ticks.
      if (policy.warmPods) {
        const before = cluster.warm;
        cluster.setWarm(policy.warmPods(t, cluster.replicas), t);
        if (cluster.warm !== before) triggerIfNeeded(t);
      }
    }
    // 5. Validated disruptions run; then a disruption pass if one is due.
    for (const v of validations.due(t, EPS)) {
      const still = revalidate(v, cluster.consolidate(t));
      if (still) {
        events.normal(`node/${still.node}`, disruptingReason(still.reason), `${still.action}: ${still.message} (validated ${Math.round(t - v.since)} s later)`, at(t));
        cluster.execute(still, t);
        memo = undefined;
      }
    }
    if (t + EPS >= nextDisruption) {
      nextDisruption += KARPENTER.disruptionPollSeconds;
      // Same nodes, pods and quiet set as the last empty pass: the answer cannot have changed.
      if (!memo || memo.version !== cluster.version || t + EPS >= memo.quietAt) {
        const ds = cluster.consolidate(t);
        validations.propose(t, ds);
        memo = ds.length === 0 ? { version: cluster.version, quietAt: cluster.nextQuietAt(t + EPS) } : undefined;
      }
    }
    cluster.schedulePending(t);
    triggerIfNeeded(t);

    // 6. Record a timeline entry when anything visible changed.
    const entry: TimelineEntry = { t: round3(t), replicas: cluster.replicas, ready: cluster.readyPods, nodes: cluster.nodes.length, queueLength: observed() };
    const last = timeline[timeline.length - 1];
    if (!last || last.replicas !== entry.replicas || last.ready !== entry.ready || last.nodes !== entry.nodes || last.queueLength !== entry.queueLength) timeline.push(entry);
    maxReplicas = Math.max(maxReplicas, entry.replicas);
    maxNodes = Math.max(maxNodes, entry.nodes);

    if (t >= end - EPS) break;
    // 7. Jump to the next event.
    let next = end;
    for (const l of loops) next = Math.min(next, l.next);
    if (traceIdx < trace.points.length) next = Math.min(next, trace.points[traceIdx]!.t);
    next = Math.min(next, batcher.dueAt(), cluster.nextChange(), nextDisruption, validations.nextAt());
    if (next <= t) next = t + EPS * 10; // never stall on float ties
    const dt = next - t;
    if (closed) fq.advance(t, next, value, capacity(), cluster.readyPods);
    podSeconds += cluster.boundPods * dt;
    nodeSeconds += cluster.nodes.length * dt;
    poolNodeSeconds += (cluster.nodes.length - staticNodes) * dt;
    nodeCost += (cluster.pricePerHour * dt) / 3600;
    t = next;
  }

  const summary: SimSummary = {
    policy: policyName,
    durationSeconds: round3(end),
    maxReplicas,
    maxNodes,
    podSeconds: round3(podSeconds),
    nodeSeconds: round3(nodeSeconds),
    poolNodeSeconds: round3(poolNodeSeconds),
    staticNodes,
    daemonSetsPerNode: daemonSetOverhead(o.cluster?.addOns ?? []),
    nodeCost: Math.round(nodeCost * 10000) / 10000,
    firstScaleUpAt,
    backToZeroAt: cluster.replicas === 0 ? backToZeroAt : null,
  };
  if (closed) {
    const p50 = fq.latencyQuantile(0.5);
    const p95 = fq.latencyQuantile(0.95);
    const drained = fq.waiting < 0.5 && firstArrivalAt !== undefined;
    summary.drainSeconds = drained ? round3((fq.lastEmptiedAt ?? firstArrivalAt!) - firstArrivalAt!) : null;
    summary.backlogSeconds = round3(fq.backlogSeconds);
    summary.p50LatencyMs = p50 === undefined ? null : Math.round(p50 * 1000);
    summary.p95LatencyMs = p95 === undefined ? null : Math.round(p95 * 1000);
    summary.arrived = Math.round(fq.arrived);
    summary.processed = Math.round(fq.processed);
    summary.backlogAtEnd = Math.round(fq.waiting);
  }
  const nodes = cluster.nodes.map((n) => ({ name: n.name, type: n.type.name, pool: n.static?.pool ?? pool.name, static: n.static !== undefined, pods: n.bound }));
  return { timeline, summary, nodes, events: events.list() };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

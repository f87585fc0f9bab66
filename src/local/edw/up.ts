import { startEdwRuntime, poisonQueueOf, storageLabel, type ConsumerTuning, type EdwRuntime } from "./runtime.js";
import { auditRun } from "./audit.js";
import { runProducer, type ProducerReport } from "../../apps/producer/producer.js";
import { formatStamp, nowMicros } from "../../apps/message.js";
import type { Blueprint } from "../../blueprints/types.js";
import type { InstanceType } from "../../scaling/catalog.js";
import { UserError } from "../../errors.js";
import { ClusterClock } from "../controllers/clock.js";
import { Autoscaler } from "../controllers/autoscaler.js";
import { Provisioner } from "../controllers/provisioner.js";
import { startControlApi } from "../control-api.js";
import { removeRuntimeFile, writeRuntimeFile } from "../runtime-file.js";
import type { ScalingPolicy } from "../../scaling/policy.js";
import type { PoolSettings } from "../../scaling/karpenter.js";

export interface UpEdwOptions {
  blueprint: Blueprint;
  /** Scripted run: send this many messages, then (with exitWhenDrained) stop once all are handled. */
  messages?: number;
  rate: number;
  burst: number;
  burstEverySeconds?: number;
  producerConcurrency: number;
  consumer: ConsumerTuning;
  initialReplicas: number;
  systemNode?: InstanceType;
  initialPoolNodes: InstanceType[];
  /** Replica autoscaling; none = fixed replicas. */
  policy?: ScalingPolicy;
  /** The ScaledObject's name (events). */
  scaledObjectName: string;
  pool: PoolSettings;
  nodeStartupSeconds: number;
  /** Serve the control API and write .akspilot/runtime.json (in `cwd`). */
  control: boolean;
  cwd?: string;
  /** Consumer pods act as this local identity (role assignments from `deploy --target local` enforced). */
  identity?: string;
  dataDir?: string;
  logDir?: string;
  timeScale: number;
  exitWhenDrained: boolean;
  drainTimeoutSeconds: number;
  /** Scripted run: stop once messages have waited this long (wall clock) with the autoscaler at 0 replicas. */
  stuckSeconds?: number;
  onStarted?: (rt: EdwRuntime, control?: { url: string; token: string }) => Promise<void> | void;
  status: (line: string) => void;
  signal?: AbortSignal;
}

export interface UpEdwReport {
  blueprint: string;
  storage: string;
  sent: number;
  processed: number;
  poisoned: number;
  lost: number;
  duplicates: number;
  inQueue: number;
  drained: boolean;
  /** Why a scripted run stopped before draining. */
  stuck?: string;
  drainSeconds: number;
  readySeconds: number;
  maxReplicas: number;
  maxNodes: number;
  podSeconds: number;
  nodeSeconds: number;
  p50LatencyMs: number;
  p95LatencyMs: number;
  maxLatencyMs: number;
  storageCallsPerMessage: number;
  consumerStorageCalls: number;
  maxConsumerRssMiB: number;
  /** Spawn → first receive of each pod, worst case. */
  maxPodFirstReceiveMs: number;
  producer: { achievedRate: number; elapsedSeconds: number };
}

/**
 * `akspilot up edw`: embedded storage, the producer, consumer pods on nodes, a live status line; in the
 * scripted form it stops once every message is handled and reports what storage itself says happened.
 */
export async function upEdw(o: UpEdwOptions): Promise<UpEdwReport> {
  const t0 = performance.now();
  const sinceStamp = formatStamp(nowMicros() - 1_000_000);
  const rt = await startEdwRuntime({
    blueprint: o.blueprint,
    dataDir: o.dataDir,
    logDir: o.logDir,
    timeScale: o.timeScale,
    consumer: o.consumer,
    initialReplicas: o.initialReplicas,
    systemNode: o.systemNode,
    initialPoolNodes: o.initialPoolNodes,
    poolName: o.pool.name,
    identity: o.identity,
  });
  const clock = new ClusterClock(o.timeScale);
  const template = rt.cluster.requireDeployment(rt.deployment).template;
  const policy = o.policy;
  const provisioner = new Provisioner({
    cluster: rt.cluster,
    pool: o.pool,
    clock,
    nodeStartupSeconds: o.nodeStartupSeconds,
    buffer: policy?.warmPods
      ? { pods: () => policy.warmPods!(clock.now(), rt.cluster.requireDeployment(rt.deployment).replicas), requests: template.requests }
      : undefined,
  });
  const autoscaler = o.policy
    ? new Autoscaler({ cluster: rt.cluster, deployment: rt.deployment, object: o.scaledObjectName, policy: o.policy, clock, queueLength: () => rt.queueDepth() })
    : undefined;
  let control: Awaited<ReturnType<typeof startControlApi>> | undefined;
  const detach = async () => {
    await autoscaler?.stop();
    await provisioner.stop();
    await control?.close();
    if (control) removeRuntimeFile(o.cwd);
  };
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(new Error("interrupted"));
  o.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const podCalls = new Map<string, number>();
  let maxRss = 0;
  let maxFirstReceiveMs = 0;
  let maxReplicas = 0;
  let maxNodes = 0;
  const sentIndexes: number[] = [];
  let producerReport: ProducerReport | undefined;
  let producerDone = false;
  let drainedAt: number | undefined;
  let startSendingAt = 0;
  let readySeconds = 0;
  let stuck: string | undefined;
  let failed = false;
  try {
    // Nodes follow pods from the start: replicas beyond the initial node must not wait for "ready".
    provisioner.start();
    await waitForReady(rt, o.initialReplicas, abort.signal);
    readySeconds = (performance.now() - t0) / 1000;
    maxReplicas = [...rt.cluster.pods.values()].filter((p) => p.phase === "Running").length;
    autoscaler?.start();
    if (o.control) {
      control = await startControlApi({
        cluster: rt.cluster,
        blueprint: o.blueprint.name,
        deployment: rt.deployment,
        queueDepth: () => rt.queueDepth(),
        autoscaler,
        policy: o.policy?.name,
      });
      writeRuntimeFile({
        controlUrl: control.url,
        token: control.token,
        pid: process.pid,
        blueprint: o.blueprint.name,
        ...(rt.endpoint.kind === "connection-string" && rt.endpoint.origin === "embedded" ? { storage: { connectionString: rt.endpoint.connectionString } } : {}),
      }, o.cwd);
    }
    await o.onStarted?.(rt, control);

    startSendingAt = performance.now();
    const count = o.messages ?? Infinity;
    const scriptedBurst = o.messages !== undefined && o.rate === 0 && o.burst === 0;
    const producing = runProducer({
      queue: rt.clients.queue(rt.names.queueName),
      count,
      rate: o.rate,
      burst: scriptedBurst ? count : o.burst,
      burstEverySeconds: o.burstEverySeconds,
      startIndex: 1,
      concurrency: o.producerConcurrency,
      signal: abort.signal,
      onSent: (i) => sentIndexes.push(i),
    }).then((r) => {
      producerReport = r;
      producerDone = true;
      if (r.firstError && !abort.signal.aborted) o.status(`producer stopped: ${r.firstError.split("\n")[0]}`);
    });

    // Monitor: queue depth, replicas, status line, drain detection.
    // Totals per pod survive the pod: processed/s is the change of the sum over every pod ever run.
    const podProcessed = new Map<string, number>();
    let rateMark = { at: performance.now(), total: 0 };
    let processedPerSecond = 0;
    let stuckSince: number | undefined;
    while (!abort.signal.aborted) {
      const depth = await rt.queueDepth().catch(() => -1);
      const pods = [...rt.cluster.pods.values()];
      const running = pods.filter((p) => p.phase === "Running");
      maxReplicas = Math.max(maxReplicas, running.length);
      maxNodes = Math.max(maxNodes, rt.cluster.liveNodes().length);
      for (const p of pods) {
        const s = p.stats;
        if (typeof s.storageCalls === "number") podCalls.set(p.name, s.storageCalls);
        if (typeof s.rssBytes === "number") maxRss = Math.max(maxRss, s.rssBytes);
        // Spawn (as the runtime saw it) to the first receive call answered.
        if (typeof s.firstReceiveAt === "number" && p.startedAt !== undefined) maxFirstReceiveMs = Math.max(maxFirstReceiveMs, s.firstReceiveAt - p.startedAt);
        podProcessed.set(p.name, Number(s.processed ?? 0));
      }
      const processed = [...podProcessed.values()].reduce((a, b) => a + b, 0);
      const sinceMark = performance.now() - rateMark.at;
      if (sinceMark >= 1000) {
        processedPerSecond = ((processed - rateMark.total) * 1000) / sinceMark;
        rateMark = { at: performance.now(), total: processed };
      }
      if (depth > 0) for (const p of running) p.wake();
      o.status(
        `queue ${depth < 0 ? "?" : depth} | replicas ${running.length}/${rt.cluster.requireDeployment(rt.deployment).replicas} | nodes ${rt.cluster.liveNodes().filter((n) => n.phase === "Ready").length} | sent ${sentIndexes.length} | processed ${processed} (${processedPerSecond.toFixed(0)}/s) | last latency ${Math.round(Number(running[0]?.stats.lastLatencyMs ?? 0))} ms`,
      );
      const desired = rt.cluster.requireDeployment(rt.deployment).replicas;
      if (producerDone && depth > 0 && desired === 0 && running.length === 0) {
        stuckSince ??= performance.now();
        // Messages wait but the autoscaler keeps zero replicas (e.g. KEDA: queue ≤ activationQueueLength).
        if (o.exitWhenDrained && o.stuckSeconds !== undefined && performance.now() - stuckSince > o.stuckSeconds * 1000) {
          stuck = `${depth} message(s) wait but the autoscaler keeps 0 replicas`;
          o.status(`${stuck}; stopping`);
          break;
        }
      } else stuckSince = undefined;
      if (producerDone && depth === 0) {
        drainedAt ??= performance.now();
        if (o.exitWhenDrained) break;
      } else if (depth !== 0) {
        drainedAt = undefined;
      }
      if (o.exitWhenDrained && producerDone && (performance.now() - startSendingAt) / 1000 > o.drainTimeoutSeconds) {
        o.status(`not drained after ${o.drainTimeoutSeconds} s; stopping`);
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    abort.abort(new Error("stopping"));
    await producing;
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    o.signal?.removeEventListener("abort", onOuterAbort);
    abort.abort(new Error("stopping"));
    await detach().catch(() => undefined);
    await rt.cluster.shutdown();
    // No report after a failure, but storage still stops gracefully (Azurite saves --data on SIGTERM).
    if (failed) await rt.stop();
  }
  try {
    for (const p of rt.cluster.pods.values()) if (typeof p.stats.storageCalls === "number") podCalls.set(p.name, p.stats.storageCalls);
    const audit = await auditRun({
      sentIndexes,
      table: rt.clients.table(rt.names.tableName),
      queue: rt.clients.queue(rt.names.queueName),
      poisonQueue: poisonQueueOf(rt),
      sinceStamp: rt.endpoint.kind === "connection-string" && rt.endpoint.origin === "embedded" ? undefined : sinceStamp,
    });
    const consumerCalls = [...podCalls.values()].reduce((a, b) => a + b, 0);
    const now = Date.now();
    return {
      blueprint: o.blueprint.name,
      storage: storageLabel(rt),
      sent: sentIndexes.length,
      processed: audit.stored,
      poisoned: audit.poisoned,
      lost: audit.lost,
      duplicates: audit.duplicates,
      inQueue: audit.inQueue,
      drained: drainedAt !== undefined,
      ...(stuck ? { stuck } : {}),
      drainSeconds: round((drainedAt ?? performance.now()) - startSendingAt) / 1000,
      readySeconds: round(readySeconds * 1000) / 1000,
      maxReplicas,
      maxNodes,
      podSeconds: round(rt.cluster.podSeconds(now)),
      nodeSeconds: round(rt.cluster.nodeSeconds(now)),
      p50LatencyMs: audit.p50LatencyMs,
      p95LatencyMs: audit.p95LatencyMs,
      maxLatencyMs: audit.maxLatencyMs,
      storageCallsPerMessage: audit.stored > 0 ? Math.round((consumerCalls / audit.stored) * 1000) / 1000 : 0,
      consumerStorageCalls: consumerCalls,
      maxConsumerRssMiB: Math.round((maxRss / 2 ** 20) * 10) / 10,
      maxPodFirstReceiveMs: Math.round(maxFirstReceiveMs),
      producer: { achievedRate: round((producerReport?.achievedRate ?? 0) * 100) / 100, elapsedSeconds: round((producerReport?.elapsedSeconds ?? 0) * 100) / 100 },
    };
  } finally {
    await rt.stop();
  }
}

const round = (n: number) => Math.round(n);

/**
 * Ready: storage is up and every initial replica that a node could take has made its first receive
 * (replicas waiting for a new node do not hold the start back).
 */
async function waitForReady(rt: EdwRuntime, replicas: number, signal: AbortSignal): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const pods = [...rt.cluster.pods.values()];
    const receiving = pods.filter((p) => typeof p.stats.firstReceiveAt === "number").length;
    const bound = pods.filter((p) => p.phase === "Running").length;
    if (receiving >= Math.min(replicas, Math.max(bound, 1)) && pods.length >= replicas) return;
    if (signal.aborted) return;
    if (performance.now() > deadline) {
      throw new UserError(`consumer pods did not start receiving within 60 s (${receiving}/${replicas})`, "see the pod logs in .akspilot/logs");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

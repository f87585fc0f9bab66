import { startEdwRuntime, poisonQueueOf, storageLabel, type ConsumerTuning, type EdwRuntime } from "./runtime.js";
import { auditRun } from "./audit.js";
import { runProducer, type ProducerReport } from "../../apps/producer/producer.js";
import { formatStamp, nowMicros } from "../../apps/message.js";
import type { Blueprint } from "../../blueprints/types.js";
import type { InstanceType } from "../../scaling/catalog.js";
import { UserError } from "../../errors.js";

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
  initialNodes: InstanceType[];
  dataDir?: string;
  logDir?: string;
  timeScale: number;
  exitWhenDrained: boolean;
  drainTimeoutSeconds: number;
  /** Attach autoscalers etc. once the runtime is up; returns a stop function. */
  attach?: (rt: EdwRuntime, hooks: { producerRate: () => number }) => Promise<() => Promise<void>>;
  onStarted?: (rt: EdwRuntime) => Promise<void> | void;
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
    initialNodes: o.initialNodes,
  });
  let detach: (() => Promise<void>) | undefined;
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
  try {
    await waitForReady(rt, o.initialReplicas, abort.signal);
    readySeconds = (performance.now() - t0) / 1000;
    await o.onStarted?.(rt);
    let lastSentCount = 0;
    let lastRateAt = performance.now();
    let arrivalRate = 0;
    detach = await o.attach?.(rt, { producerRate: () => arrivalRate });

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
    let lastProcessed = 0;
    while (!abort.signal.aborted) {
      const depth = await rt.queueDepth().catch(() => -1);
      const pods = [...rt.cluster.pods.values()];
      const running = pods.filter((p) => p.phase === "Running");
      maxReplicas = Math.max(maxReplicas, running.length);
      maxNodes = Math.max(maxNodes, rt.cluster.liveNodes().length);
      let processed = 0;
      for (const p of pods) {
        const s = p.stats;
        if (typeof s.storageCalls === "number") podCalls.set(p.name, s.storageCalls);
        if (typeof s.rssBytes === "number") maxRss = Math.max(maxRss, s.rssBytes);
        // Spawn (as the runtime saw it) to the first receive call answered.
        if (typeof s.firstReceiveAt === "number" && p.startedAt !== undefined) maxFirstReceiveMs = Math.max(maxFirstReceiveMs, s.firstReceiveAt - p.startedAt);
        processed += Number(s.processed ?? 0);
      }
      if (depth > 0) for (const p of running) p.wake();
      const now = performance.now();
      if (now - lastRateAt >= 1000) {
        arrivalRate = ((sentIndexes.length - lastSentCount) * 1000) / (now - lastRateAt);
        lastSentCount = sentIndexes.length;
        lastRateAt = now;
      }
      o.status(
        `queue ${depth < 0 ? "?" : depth} | replicas ${running.length}/${rt.cluster.requireDeployment(rt.deployment).replicas} | nodes ${rt.cluster.liveNodes().filter((n) => n.phase === "Ready").length} | sent ${sentIndexes.length} | processed ${processed} (+${Math.max(0, processed - lastProcessed)}) | last latency ${Math.round(Number(running[0]?.stats.lastLatencyMs ?? 0))} ms`,
      );
      lastProcessed = processed;
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
  } finally {
    o.signal?.removeEventListener("abort", onOuterAbort);
    abort.abort(new Error("stopping"));
    await detach?.().catch(() => undefined);
    await rt.cluster.shutdown();
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

/** Ready: storage is up and the initial replicas have made their first receive. */
async function waitForReady(rt: EdwRuntime, replicas: number, signal: AbortSignal): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const receiving = [...rt.cluster.pods.values()].filter((p) => typeof p.stats.firstReceiveAt === "number").length;
    if (receiving >= replicas) return;
    if (signal.aborted) return;
    if (performance.now() > deadline) {
      throw new UserError(`consumer pods did not start receiving within 60 s (${receiving}/${replicas})`, "see the pod logs in .akspilot/logs");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

import { startAzurite, type AzuriteHandle } from "../../process/azurite.js";
import { storageClients, type StorageClients } from "../../storage/clients.js";
import { storageFromEnv, describeStorage, type StorageEndpoint, type StorageNames } from "../../storage/config.js";
import { ensureStorage, storageError } from "../../storage/ensure.js";
import { poisonQueueName } from "../../storage/names.js";
import { appStorageNames } from "../../apps/storage.js";
import { runProducer, type ProducerReport } from "../../apps/producer/producer.js";
import { formatStamp, nowMicros } from "../../apps/message.js";
import type { AppSpec, Blueprint } from "../../blueprints/types.js";
import { resources } from "../../scaling/quantity.js";
import type { ScalingPolicy } from "../../scaling/policy.js";
import { readQueueLength } from "../../scaling/azure-queue.js";
import type { ScalingRule } from "../../scaling/scaledobject.js";
import { UserError } from "../../errors.js";
import { Autoscaler } from "../controllers/autoscaler.js";
import type { ControlAutoscaler } from "../status.js";
import type { BlueprintDriver } from "../drivers/driver.js";
import type { AppOverrides, LocalRuntime } from "../runtime.js";
import type { Cluster } from "../cluster/cluster.js";
import { auditRun, settleBoundMs } from "./audit.js";
import { queueConsistency, UnreadableWatch, type Unreadable } from "../../storage/consistency.js";
import { defaultVisibilitySeconds } from "../../apps/consumer/consumer.js";
import { unlessAborted } from "../../util/time.js";
import { checkDataDir } from "../run-dir.js";
import { StoredLatency } from "./latency.js";
import { findIdentity, startWorkloadIdentity, usesWorkloadIdentity, type WorkloadIdentityWiring } from "../identity/workload.js";
import { kedaQueueClient } from "../identity/keda.js";
import { workloadQueueClient, type ServiceAccountIdentity } from "../identity/workload-queue.js";
import type { QueueClient } from "@azure/storage-queue";
import type { LoadOutcome, MessageLoad, StatusV1 } from "../status.js";
import { ProducerPod, producerClientId } from "./producer-pod.js";
import { refusedLoadLine } from "./load-refusal.js";

export interface ConsumerTuning {
  workMs: number;
  concurrency: number;
  batchSize: number;
  visibilityTimeoutSeconds?: number;
  maxDequeue: number;
  failMatch?: string;
  idleMaxMs: number;
}

export interface EdwDriverOptions {
  blueprint: Blueprint;
  /** Scripted run: send this many messages, then (with exitWhenDrained) stop once all are handled. */
  messages?: number;
  rate: number;
  burst: number;
  burstEverySeconds?: number;
  producerConcurrency: number;
  consumer: ConsumerTuning;
  /** Fixed replicas (no autoscaling), or undefined for the blueprint's. */
  replicas?: number;
  /** Replica autoscaling; none = fixed replicas. */
  policy?: ScalingPolicy;
  /** The ScaledObject's name (events). */
  scaledObjectName: string;
  /** The ScaledObject's thresholds, shown by the status (the dashboard draws them); none for fixed replicas. */
  scaledObject?: Pick<ScalingRule, "activationQueueLength" | "queueLength" | "pollingIntervalSeconds" | "minReplicas" | "maxReplicas"> &
    Partial<Pick<ScalingRule, "queueLengthStrategy">>;
  /**
   * Consumer pods use workload identity as this local identity (name, client or principal id): their
   * service account is annotated with its client id, tokens come from the local token service, and
   * storage is reached through the enforcing front (role assignments from `deploy --target local`).
   */
  identity?: string;
  /**
   * With `identity`: the producer's identity (name, client or principal id). Default: the one federated
   * with the producer's service account (the blueprint's producer identity).
   */
  producerIdentity?: string;
  dataDir?: string;
  timeScale: number;
  exitWhenDrained: boolean;
  /**
   * Scripted run, with exitWhenDrained: once drained, stay until the autoscaler has set the consumer back to
   * zero replicas (KEDA's cooldown), then stop; the report gives backToZeroSeconds. Bounded by the drain timeout.
   */
  exitWhenZero?: boolean;
  drainTimeoutSeconds: number;
  /** Scripted run: stop once messages have waited this long (wall clock) with the autoscaler at 0 replicas. */
  stuckSeconds?: number;
  cwd: string;
  /** Ctrl-C: ends the first storage check at once, and a scripted run's wait for invisible messages. */
  signal?: AbortSignal;
}

export interface EdwReport {
  blueprint: string;
  storage: string;
  sent: number;
  processed: number;
  poisoned: number;
  lost: number;
  duplicates: number;
  inQueue: number;
  /** Messages the queue still counts but no one can read yet (held by a pod that died, back after the visibility timeout). */
  invisible: number;
  /** Messages storage counts but will not return, once that has lasted longer than the visibility timeout. */
  unreadable?: number;
  drained: boolean;
  /** Why a scripted run stopped before draining. */
  stuck?: string;
  drainSeconds: number;
  /** First message sent → the autoscaler's decision back to zero replicas after draining (with exitWhenZero; null if it did not happen). */
  backToZeroSeconds?: number | null;
  readySeconds: number;
  maxReplicas: number;
  maxNodes: number;
  podSeconds: number;
  nodeSeconds: number;
  /** Messages per cluster second one ready pod handled while work waited, as the autoscaler measured it (null with fixed replicas). */
  perPodThroughput: number | null;
  p50LatencyMs: number;
  p95LatencyMs: number;
  maxLatencyMs: number;
  storageCallsPerMessage: number;
  consumerStorageCalls: number;
  maxConsumerRssMiB: number;
  /** Spawn → first receive of each pod, worst case. */
  maxPodFirstReceiveMs: number;
  /** Spawn → first receive, mean over the pods (0 if none received). */
  meanPodFirstReceiveMs: number;
  /** First message sent → the first receive of a pod started after it (the first pod a scale-up added; null if none). */
  firstAddedPodSeconds: number | null;
  producer: { achievedRate: number; elapsedSeconds: number };
}

const round = Math.round;

/** The first COUNT of messages sent by `POST /v1/load`: far above any the run's own producer reaches. */
export const LOAD_FIRST_INDEX = 1_000_000_001;

/** Only the thresholds: the status carries no more of the rule than a reader needs. */
function pickRule(r: NonNullable<EdwDriverOptions["scaledObject"]>) {
  return {
    activationQueueLength: r.activationQueueLength,
    queueLength: r.queueLength,
    pollingIntervalSeconds: r.pollingIntervalSeconds,
    minReplicas: r.minReplicas,
    maxReplicas: r.maxReplicas,
  };
}

/**
 * The EDW blueprint beyond Kubernetes: storage (embedded Azurite unless the environment names one), the
 * producer, KEDA's queue scaler driving the consumer Deployment, and the report counted from storage.
 */
export class EdwDriver implements BlueprintDriver<EdwReport> {
  private endpoint?: StorageEndpoint;
  private azurite?: AzuriteHandle;
  private clients?: StorageClients;
  private names: StorageNames;
  private consumerApp: AppSpec;
  private scaler?: Autoscaler;
  private pausedBeforeStart = false;
  private readonly t0 = performance.now();
  private readonly sinceStamp = formatStamp(nowMicros() - 1_000_000);
  private readonly podCalls = new Map<string, number>();
  private maxRss = 0;
  private maxFirstReceiveMs = 0;
  /** Spawn → first receive of each pod that has received, by pod name. */
  private firstReceiveMs = new Map<string, number>();
  private maxReplicas = 0;
  private maxNodes = 0;
  private readonly sentIndexes: number[] = [];
  private producerReport?: ProducerReport;
  private drainedAt?: number;
  private startSendingAt = 0;
  /** The same instant on the cluster's event clock (epoch ms). */
  private startSendingWall = 0;
  /** Event time of the decision back to zero replicas after draining. */
  private backToZeroWall?: number;
  /** Wall time of the first receive by a pod started after sending began. */
  private firstAddedReceiveWall?: number;
  private readySeconds = 0;
  private stuck?: string;
  private stopped?: Promise<void>;
  private readonly watch: UnreadableWatch;
  private unreadable?: Unreadable;
  private lastConsistencyAt = 0;
  /** End-to-end latency of recent messages, read from the stored rows (the status and the dashboard). */
  private latency?: StoredLatency;
  private lastLatencyPollAt = 0;
  private rt?: LocalRuntime;
  /** Load bursts asked for through the control API: their sends stop with the run. */
  private loadAbort?: AbortController;
  private loadSent = 0;
  private readonly loads = new Set<Promise<void>>();
  private wiring?: WorkloadIdentityWiring;
  private consumerEnv?: Record<string, string>;
  /** With --identity the producer is a pod with its service account's workload identity (else it runs here). */
  private producerApp?: AppSpec;
  private producerEnv?: Record<string, string>;
  private producerPod?: ProducerPod;
  /** With --identity: the queue as KEDA reads it (TriggerAuthentication, podIdentity.provider azure-workload). */
  private kedaQueue?: QueueClient;
  /**
   * With --identity: the queue as the producer's workload identity reaches it, for load bursts asked for
   * through the control API (as a run of the producer job would send them on AKS, never with the account key).
   */
  private loadQueue?: { queue: QueueClient; as: ServiceAccountIdentity & { name: string } };
  readonly policy?: string;

  constructor(private readonly o: EdwDriverOptions) {
    this.names = appStorageNames();
    const app = o.blueprint.apps.find((a) => a.program === "consumer");
    if (!app) throw new UserError(`blueprint ${o.blueprint.name} has no consumer app`, "the EDW driver runs a blueprint with a consumer");
    this.consumerApp = app;
    this.policy = o.policy?.name;
    this.watch = new UnreadableWatch(this.visibilityMs);
  }

  private get visibilityMs(): number {
    return (this.o.consumer.visibilityTimeoutSeconds ?? defaultVisibilitySeconds(this.o.consumer.workMs)) * 1000;
  }

  /**
   * The autoscaler as the control API sees it, from the moment the API serves: a pause asked for while the
   * consumers are still starting (before KEDA's loops run) holds once they do.
   */
  get autoscaler(): ControlAutoscaler | undefined {
    if (!this.o.policy) return undefined;
    const driver = this;
    return {
      setPaused(p: boolean) {
        const changed = driver.pausedBeforeStart !== p;
        driver.pausedBeforeStart = p;
        if (driver.scaler) return driver.scaler.setPaused(p);
        // KEDA's loops are not running yet (the first consumers are starting): the pause is recorded now, so
        // that it shows in the events at once, and the autoscaler starts paused.
        const cluster = driver.rt ? [...driver.rt.clusters.values()][0] : undefined;
        if (changed && cluster)
          cluster.events.normal(
            `scaledobject/${driver.o.scaledObjectName}`,
            p ? "ScaledObjectPaused" : "ScaledObjectResumed",
            p ? "autoscaling paused by `akspilot scale` (before KEDA's first poll)" : "autoscaling resumed",
          );
      },
      get isPaused() {
        return driver.scaler?.isPaused ?? driver.pausedBeforeStart;
      },
      get lastNotes() {
        return driver.scaler?.lastNotes ?? new Map<string, string>();
      },
      get nextTicks() {
        return driver.scaler?.nextTicks;
      },
      measured: () => driver.scaler?.measured() ?? { arrivalRate: 0, perPodThroughput: 0 },
    };
  }

  private get storage(): { endpoint: StorageEndpoint; clients: StorageClients } {
    if (!this.endpoint || !this.clients) throw new Error("storage is not prepared");
    return { endpoint: this.endpoint, clients: this.clients };
  }

  private get embedded(): boolean {
    return this.endpoint?.kind === "connection-string" && this.endpoint.origin === "embedded";
  }

  async prepare(): Promise<void> {
    let endpoint = storageFromEnv();
    if (!endpoint) {
      if (this.o.dataDir !== undefined) checkDataDir(this.o.dataDir);
      this.azurite = await startAzurite({ dataDir: this.o.dataDir });
      endpoint = { kind: "connection-string", connectionString: this.azurite.connectionString, origin: "embedded" };
    }
    this.endpoint = endpoint;
    this.clients = storageClients(endpoint);
    await ensureStorage(endpoint, this.clients, this.names, { signal: this.o.signal });
    if (this.o.identity && usesWorkloadIdentity(this.consumerApp)) {
      if (endpoint.kind !== "connection-string")
        throw new UserError("--identity needs local storage (embedded Azurite or an Azurite connection string)", "unset AZURE_STORAGE_ACCOUNT_NAME");
      const clientId = findIdentity(this.o.cwd, this.o.identity).clientId;
      this.wiring = await startWorkloadIdentity({ root: this.o.cwd, blueprint: this.o.blueprint, connectionString: endpoint.connectionString });
      if (!this.wiring.account) throw new UserError("no storage account is recorded by a local deploy here", "run `akspilot deploy edw --target local` first");
      this.consumerEnv = { ...(await this.wiring.podEnv(this.consumerApp, clientId)), AZURE_STORAGE_ACCOUNT_NAME: this.wiring.account };
      const producer = this.o.blueprint.apps.find((a) => a.program === "producer");
      if (producer && usesWorkloadIdentity(producer)) {
        const id = producerClientId(this.o.cwd, this.wiring.cluster, this.o.blueprint.namespace, producer, this.o.producerIdentity);
        this.producerApp = producer;
        this.producerEnv = {
          ...(await this.wiring.podEnv(producer, id.clientId)),
          AZURE_STORAGE_ACCOUNT_NAME: this.wiring.account,
          AZURE_QUEUE_NAME: this.names.queueName,
        };
        const as = { namespace: this.o.blueprint.namespace, serviceAccount: producer.serviceAccountName ?? "default", clientId: id.clientId, name: id.name };
        this.loadQueue = { queue: await workloadQueueClient(this.wiring, as, this.wiring.account, this.names.queueName), as };
      }
      if (this.o.policy) this.kedaQueue = await kedaQueueClient(this.wiring, clientId, this.wiring.account, this.names.queueName);
    }
  }

  app(app: AppSpec): AppOverrides | "driver" {
    // The producer runs here, on the run's schedule, so that the report knows every index it sent.
    if (app.program === "producer") return "driver";
    if (app.program !== "consumer") return {};
    const c = this.o.consumer;
    const graceMs = app.terminationGracePeriodSeconds * 1000;
    const args = [
      "--work-ms",
      String(c.workMs),
      "--concurrency",
      String(c.concurrency),
      "--batch-size",
      String(c.batchSize),
      "--max-dequeue",
      String(c.maxDequeue),
      "--idle-max-ms",
      String(c.idleMaxMs),
      // The app must finish or release before the kubelet's SIGKILL.
      "--grace-ms",
      String(Math.max(1000, graceMs - 5000)),
    ];
    if (c.visibilityTimeoutSeconds !== undefined) args.push("--visibility-timeout", String(c.visibilityTimeoutSeconds));
    if (c.failMatch) args.push("--fail-match", c.failMatch);
    const { endpoint } = this.storage;
    const env: Record<string, string> = { AZURE_QUEUE_NAME: this.names.queueName, AZURE_TABLE_NAME: this.names.tableName, AKSPILOT_SKIP_ENSURE: "1" };
    if (this.consumerEnv) Object.assign(env, this.consumerEnv);
    else if (endpoint.kind === "connection-string") env.AZURE_STORAGE_CONNECTION_STRING = endpoint.connectionString;
    else env.AZURE_STORAGE_ACCOUNT_NAME = endpoint.accountName;
    return { args, env, replicas: this.o.replicas };
  }

  /** The predictive policy's warm pods: capacity Karpenter keeps ready for a burst. */
  get buffer() {
    const policy = this.o.policy;
    if (!policy?.warmPods) return undefined;
    return (rt: LocalRuntime) => ({
      pods: () => policy.warmPods!(rt.clusterClock.now(), this.consumerCluster(rt).requireDeployment(this.consumerApp.name).replicas),
      requests: resources(this.consumerApp.resources.requests),
    });
  }

  private consumerCluster(rt: LocalRuntime): Cluster {
    return rt.clusterOfDeployment(this.consumerApp.name);
  }

  /** Approximate message count, as KEDA's default `all` strategy reads it (in-flight included). */
  async queueDepth(): Promise<number> {
    const { endpoint, clients } = this.storage;
    try {
      return (await clients.queue(this.names.queueName).getProperties()).approximateMessagesCount ?? 0;
    } catch (e) {
      throw storageError(endpoint, e);
    }
  }

  /** What KEDA's azure-queue scaler reads, by the ScaledObject's queueLengthStrategy (visibleonly peeks up to 32). */
  async scalerRead(): Promise<number> {
    const strategy = this.o.scaledObject?.queueLengthStrategy ?? "all";
    const { endpoint, clients } = this.storage;
    const keda = this.kedaQueue;
    if (keda) {
      // Through the front as the TriggerAuthentication's workload identity: Azure's refusal is the scaler's error.
      const read = async <T>(f: () => Promise<T>): Promise<T> => {
        try {
          return await f();
        } catch (e) {
          const err = e as { statusCode?: number; code?: string; message?: string };
          throw new Error(
            `azure-queue scaler (TriggerAuthentication azure-workload): ${err.statusCode ? `${err.statusCode} ` : ""}${err.code ? `${err.code}: ` : ""}${String(err.message ?? e)
              .split("\n")[0]!
              .slice(0, 300)}`,
          );
        }
      };
      return readQueueLength(strategy, {
        approximateCount: () => read(async () => (await keda.getProperties()).approximateMessagesCount ?? 0),
        peekVisible: (max) => read(async () => (await keda.peekMessages({ numberOfMessages: max })).peekedMessageItems.length),
      });
    }
    if (strategy === "all") return this.queueDepth();
    const queue = clients.queue(this.names.queueName);
    return readQueueLength(strategy, {
      approximateCount: () => this.queueDepth(),
      peekVisible: async (max) => {
        try {
          return (await queue.peekMessages({ numberOfMessages: max })).peekedMessageItems.length;
        } catch (e) {
          throw storageError(endpoint, e);
        }
      },
    });
  }

  async status(): Promise<Record<string, unknown>> {
    return {
      queueDepth: await this.queueDepth().catch(() => null),
      storage: describeStorage(this.storage.endpoint),
      ...(this.o.scaledObject ? { scaledObject: { name: this.o.scaledObjectName, ...pickRule(this.o.scaledObject) } } : {}),
      ...(this.unreadable ? { queue: { unreadable: this.unreadable } } : {}),
      latency: this.latency?.recent() ?? null,
      ...(this.wiring ? { workloadIdentity: await this.wiring.status() } : {}),
    };
  }

  /** Every ~5 s: does the queue count messages that neither a receive returns nor a consumer holds? */
  private async watchConsistency(cluster: Cluster, held: number): Promise<void> {
    const now = performance.now();
    if (now - this.lastConsistencyAt < 5000) return;
    this.lastConsistencyAt = now;
    const c = await queueConsistency(this.storage.clients.queue(this.names.queueName)).catch(() => undefined);
    if (!c) return;
    const u = this.watch.observe(c, held);
    if (u && !this.unreadable) cluster.event("Warning", `queue/${this.names.queueName}`, "QueueUnreadable", u.line);
    this.unreadable = u;
  }

  runtimeFile(): Record<string, unknown> {
    // Only embedded Azurite's connection string: its account key is the public development key.
    const identity = this.wiring?.runtimeFields() ?? {};
    return this.embedded && this.endpoint?.kind === "connection-string" ? { storage: { connectionString: this.endpoint.connectionString }, ...identity } : identity;
  }

  /** The runtime, as soon as it runs: the control API may pause the autoscaler before run() creates it. */
  async started(rt: LocalRuntime): Promise<void> {
    this.rt = rt;
  }

  async run(rt: LocalRuntime, ctx: { signal: AbortSignal; status(line: string): void }): Promise<void> {
    const o = this.o;
    const cluster = this.consumerCluster(rt);
    const deployment = this.consumerApp.name;
    const initial = cluster.requireDeployment(deployment).replicas;
    await waitForReady(cluster, deployment, initial, ctx.signal);
    this.readySeconds = (performance.now() - this.t0) / 1000;
    this.maxReplicas = cluster.podsOf(deployment).filter((p) => p.phase === "Running").length;
    if (o.policy) {
      this.scaler = new Autoscaler({
        cluster,
        deployment,
        object: o.scaledObjectName,
        policy: o.policy,
        clock: rt.clusterClock,
        queueLength: () => this.scalerRead(),
        paused: this.pausedBeforeStart,
      });
      this.scaler.start();
    }
    const abort = new AbortController();
    this.rt = rt;
    this.loadAbort = abort;
    const onOuter = () => abort.abort(new Error("interrupted"));
    ctx.signal.addEventListener("abort", onOuter, { once: true });
    // A Ctrl-C during the start has already fired: the listener above would never hear it.
    if (ctx.signal.aborted) onOuter();
    try {
      this.startSendingAt = performance.now();
      this.startSendingWall = Date.now();
      const count = o.messages ?? Infinity;
      const scriptedBurst = o.messages !== undefined && o.rate === 0 && o.burst === 0;
      // `--rate 0 --burst 0` without --messages: the run's own producer sends nothing (messages come from
      // `akspilot load`), so no producer pod is started just to refuse such settings.
      const sendsNothing = o.messages === undefined && o.rate === 0 && o.burst === 0;
      let producerDone = false;
      const producing =
        this.producerEnv && !sendsNothing
          ? this.startProducerPod(rt, cluster, count, scriptedBurst).then(() => {
              producerDone = true;
            })
          : runProducer({
              queue: this.storage.clients.queue(this.names.queueName),
              count,
              rate: o.rate,
              burst: scriptedBurst ? count : o.burst,
              burstEverySeconds: o.burstEverySeconds,
              startIndex: 1,
              concurrency: o.producerConcurrency,
              signal: abort.signal,
              onSent: (i) => this.sentIndexes.push(i),
            }).then((r) => {
              this.producerReport = r;
              producerDone = true;
              if (r.firstError && !abort.signal.aborted) ctx.status(`producer stopped: ${r.firstError.split("\n")[0]}`);
            });
      // The producer pod's own failure (e.g. Azure's 403 for its identity) ends the run, as a consumer's does.
      const producerFailed = () => (this.producerPod?.phase === "Failed" ? this.producerPod : undefined);
      // Totals per pod survive the pod: processed/s is the change of the sum over every pod ever run.
      const podProcessed = new Map<string, number>();
      let rateMark = { at: performance.now(), total: 0 };
      let processedPerSecond = 0;
      let stuckSince: number | undefined;
      const reported = new Set<string>();
      while (!abort.signal.aborted) {
        // A storage read that hangs must not hold a Ctrl-C: the loop leaves at once on abort.
        const depth = await unlessAborted(this.queueDepth(), abort.signal, -1).catch(() => -1);
        if (abort.signal.aborted) break;
        const failedProducer = producerFailed();
        if (failedProducer) {
          throw new UserError(
            `producer pod ${failedProducer.name} failed: ${failedProducer.lastFailure}`,
            `its log is in .akspilot/logs; see \`akspilot identity explain ${this.o.blueprint.namespace}/${this.producerApp!.serviceAccountName ?? "default"} --resource queue --send\``,
          );
        }
        const pods = cluster.podsOf(deployment);
        const running = pods.filter((p) => p.phase === "Running");
        this.maxReplicas = Math.max(this.maxReplicas, running.length);
        this.maxNodes = Math.max(this.maxNodes, cluster.liveNodes().length);
        for (const p of pods) {
          const s = p.stats;
          if (typeof s.storageCalls === "number") this.podCalls.set(p.name, s.storageCalls);
          if (typeof s.rssBytes === "number") this.maxRss = Math.max(this.maxRss, s.rssBytes);
          // Spawn (as the runtime saw it) to the first receive call answered.
          if (typeof s.firstReceiveAt === "number" && p.startedAt !== undefined) {
            this.maxFirstReceiveMs = Math.max(this.maxFirstReceiveMs, s.firstReceiveAt - p.startedAt);
            this.firstReceiveMs.set(p.name, s.firstReceiveAt - p.startedAt);
            if (this.startSendingWall > 0 && p.startedAt >= this.startSendingWall && s.firstReceiveAt < (this.firstAddedReceiveWall ?? Infinity)) {
              this.firstAddedReceiveWall = s.firstReceiveAt;
            }
          }
          podProcessed.set(p.name, Number(s.processed ?? 0));
          // A pod's own reason for failing (e.g. Azure's 403) is shown at once, not left in its log.
          if (p.lastFailure && !reported.has(`${p.name}:${p.lastFailure}`)) {
            reported.add(`${p.name}:${p.lastFailure}`);
            ctx.status(`pod ${p.name} failed: ${p.lastFailure}`);
          }
        }
        const processed = [...podProcessed.values()].reduce((a, b) => a + b, 0);
        const sinceMark = performance.now() - rateMark.at;
        if (sinceMark >= 1000) {
          processedPerSecond = ((processed - rateMark.total) * 1000) / sinceMark;
          rateMark = { at: performance.now(), total: processed };
        }
        if (depth > 0) for (const p of running) p.wake();
        this.pollLatency();
        await this.watchConsistency(
          cluster,
          running.reduce((a, p) => a + Number(p.stats.inFlight ?? 0), 0),
        );
        const desired = cluster.requireDeployment(deployment).replicas;
        ctx.status(
          `queue ${depth < 0 ? "?" : depth} | replicas ${running.length}/${desired} | nodes ${cluster.liveNodes().filter((n) => n.phase === "Ready").length} | sent ${this.sentIndexes.length} | processed ${processed} (${processedPerSecond.toFixed(0)}/s) | last latency ${Math.round(Number(running[0]?.stats.lastLatencyMs ?? 0))} ms${this.unreadable ? ` | unreadable ${this.unreadable.count} (${this.unreadable.sinceSeconds} s)` : ""}${this.waitingFor(depth, desired, running.length)}`,
        );
        if (producerDone && depth > 0 && desired === 0 && running.length === 0) {
          stuckSince ??= performance.now();
          // Messages wait but the autoscaler keeps zero replicas (e.g. KEDA: queue ≤ activationQueueLength).
          if (o.exitWhenDrained && o.stuckSeconds !== undefined && performance.now() - stuckSince > o.stuckSeconds * 1000) {
            this.stuck = `${depth} message(s) wait but the autoscaler keeps 0 replicas`;
            ctx.status(`${this.stuck}; stopping`);
            break;
          }
        } else stuckSince = undefined;
        if (producerDone && depth === 0) {
          this.drainedAt ??= performance.now();
          if (o.exitWhenDrained && !o.exitWhenZero) break;
          if (o.exitWhenZero && desired === 0) {
            // When the decision was made (its event), not when this loop saw it.
            const zero = cluster.events
              .list()
              .filter((e) => e.object === `deployment/${deployment}` && e.reason === "ScalingReplicaSet" && / → 0:/.test(e.message))
              .pop();
            this.backToZeroWall = zero?.time ?? Date.now();
            break;
          }
        } else if (depth !== 0) {
          this.drainedAt = undefined;
        }
        if (o.exitWhenDrained && producerDone && (performance.now() - this.startSendingAt) / 1000 > o.drainTimeoutSeconds) {
          ctx.status(`not drained after ${o.drainTimeoutSeconds} s; stopping`);
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      abort.abort(new Error("stopping"));
      await this.producerPod?.stop();
      await producing;
    } finally {
      ctx.signal.removeEventListener("abort", onOuter);
      abort.abort(new Error("stopping"));
      await this.producerPod?.stop();
      await Promise.all([...this.loads]);
      await this.scaler?.stop();
    }
  }

  /**
   * `POST /v1/load {"messages": N}`: N more messages at once, through the producer the run uses, numbered
   * from LOAD_FIRST_INDEX on (never a COUNT the run's own producer sends) and counted in the report like
   * every other message sent. With --identity they are sent as the producer's workload identity, through the
   * enforcing front: a refusal stops the burst, and its one line says how many were sent before it, Azure's
   * error and what fixes it. The outcome is an event and, for a caller that waits, the answer.
   */
  load(messages: number): MessageLoad {
    const rt = this.rt;
    if (!rt || !this.clients || !this.loadAbort || this.loadAbort.signal.aborted)
      throw new UserError("the run is not sending yet (or is stopping)", "try again once `akspilot status` shows the consumers");
    const startIndex = LOAD_FIRST_INDEX + this.loadSent;
    this.loadSent += messages;
    const cluster = this.consumerCluster(rt);
    const object = `queue/${this.names.queueName}`;
    const as = this.loadQueue?.as;
    const who = as ? ` as the workload identity ${as.name} of ${as.namespace}/${as.serviceAccount}` : "";
    cluster.event("Normal", object, "LoadBurst", `${messages} message(s) enqueued at once (COUNT ${startIndex}…${startIndex + messages - 1}, from the control API${who})`);
    const t0 = performance.now();
    const signal = this.loadAbort.signal;
    const done: Promise<LoadOutcome> = runProducer({
      queue: this.loadQueue?.queue ?? this.storage.clients.queue(this.names.queueName),
      count: messages,
      rate: 0,
      burst: messages,
      startIndex,
      concurrency: this.o.producerConcurrency,
      signal,
      onSent: (i) => this.sentIndexes.push(i),
    }).then(
      async (r): Promise<LoadOutcome> => {
        const seconds = ((performance.now() - t0) / 1000).toFixed(1);
        const firstError = (r.firstError ?? "").split("\n")[0]!;
        if (r.failed && as) {
          // Azure's refusal of the producer's identity: the chain says which link is missing and how to mend it.
          const error = await refusedLoadLine(
            this.o.cwd,
            { ...as, cluster: this.wiring?.cluster.name, queue: this.names.queueName },
            { sent: r.sent, asked: messages, firstError },
          );
          cluster.event("Warning", object, "LoadBurstDone", error);
          return { sent: r.sent, error };
        }
        cluster.event(
          r.failed ? "Warning" : "Normal",
          object,
          "LoadBurstDone",
          `${r.sent} message(s) sent in ${seconds} s${r.failed ? `, ${r.failed} failed: ${firstError}` : ""}${r.cancelled ? `, ${r.cancelled} cancelled` : ""}`,
        );
        if (r.failed) return { sent: r.sent, error: `${r.sent} of ${messages} message(s) sent, then storage failed: ${firstError}` };
        if (r.sent < messages) return { sent: r.sent, error: `the run stopped after ${r.sent} of ${messages} message(s) were sent` };
        return { sent: r.sent };
      },
      (e: unknown) => {
        if (!(e instanceof UserError) && process.env.AKSPILOT_DEBUG) process.stderr.write(`load: ${(e as Error).stack}\n`);
        return { sent: 0, error: `the load burst failed: ${e instanceof UserError ? e.line() : "unexpected error (AKSPILOT_DEBUG=1 on `up` prints it)"}` };
      },
    );
    const settled = done.then(() => undefined);
    this.loads.add(settled);
    void settled.finally(() => this.loads.delete(settled));
    return {
      accepted: { queue: this.names.queueName, messages, firstIndex: startIndex, ...(as ? { identity: as.name, serviceAccount: `${as.namespace}/${as.serviceAccount}` } : {}) },
      done,
    };
  }

  /**
   * The producer as a pod (a Job's pod) with its service account's workload identity, on the run's
   * schedule; the indexes it sends come back over its IPC channel, so the report counts every one.
   */
  private startProducerPod(rt: LocalRuntime, cluster: Cluster, count: number, scriptedBurst: boolean): Promise<void> {
    const o = this.o;
    const args = ["--rate", String(o.rate), "--burst", String(scriptedBurst ? count : o.burst), "--concurrency", String(o.producerConcurrency), "--start-index", "1"];
    if (Number.isFinite(count)) args.push("--count", String(count));
    // The run's defaults name a burst period even without bursts; the producer refuses a period with no burst.
    if (o.burstEverySeconds !== undefined && o.burst > 0 && !scriptedBurst) args.push("--burst-every", String(o.burstEverySeconds));
    this.producerPod = new ProducerPod({
      app: this.producerApp!,
      cluster,
      runner: rt.processRunner(),
      env: this.producerEnv!,
      args,
      onSent: (i) => this.sentIndexes.push(i),
    });
    const pod = this.producerPod;
    return pod.exited.then(() => {
      const elapsedSeconds = (performance.now() - this.startSendingAt) / 1000;
      const sent = this.sentIndexes.length;
      const steady = Math.max(0, sent - (scriptedBurst ? count : o.burst));
      this.producerReport = {
        sent,
        failed: pod.phase === "Failed" ? 1 : 0,
        cancelled: 0,
        elapsedSeconds,
        achievedRate: o.rate > 0 && elapsedSeconds > 0 ? steady / elapsedSeconds : 0,
      };
    });
  }

  /** The producer pod joins the status's pods. */
  decorateStatus(s: StatusV1): void {
    this.producerPod?.decorate(s);
  }

  /** Every ~2 s, in the background: the rows stored since the last look (their end-to-end latency). */
  private pollLatency(): void {
    const now = performance.now();
    if (now - this.lastLatencyPollAt < 2000) return;
    this.lastLatencyPollAt = now;
    this.latency ??= new StoredLatency(this.storage.clients.table(this.names.tableName), nowMicros() - 1_000_000);
    void this.latency.poll();
  }

  /** What a person watching would otherwise wonder about: why nothing moves yet. */
  private waitingFor(depth: number, desired: number, running: number): string {
    if (depth <= 0 || running > 0) return "";
    const note = this.scaler ? [...this.scaler.lastNotes.values()].pop() : undefined;
    if (desired === 0) return ` | waiting: ${note ?? "the autoscaler's next poll"}${this.o.timeScale === 1 ? " (try --time-scale 10 for a first look)" : ""}`;
    return " | waiting: pods starting or a node booting";
  }

  async report(rt: LocalRuntime): Promise<EdwReport> {
    const cluster = this.consumerCluster(rt);
    for (const p of cluster.podsOf(this.consumerApp.name)) if (typeof p.stats.storageCalls === "number") this.podCalls.set(p.name, p.stats.storageCalls);
    const { clients } = this.storage;
    const audit = await auditRun({
      sentIndexes: this.sentIndexes,
      table: clients.table(this.names.tableName),
      queue: clients.queue(this.names.queueName),
      poisonQueue: clients.queue(poisonQueueName(this.names.queueName)),
      sinceStamp: this.embedded ? undefined : this.sinceStamp,
      // A scripted run waits (bounded) for messages held by pods that died to come back, rather than
      // report them as missing; a Ctrl-C reports them as invisible at once.
      settle: this.o.exitWhenDrained && !this.o.signal?.aborted ? { timeoutMs: settleBoundMs(this.visibilityMs / 1000), signal: this.o.signal } : undefined,
    });
    const consumerCalls = [...this.podCalls.values()].reduce((a, b) => a + b, 0);
    // KEDA's decision to go to zero is no sighting of the drain: it deactivates once the queue's count has stayed
    // at or under activationQueueLength (20 in the seed) for cooldownPeriod, so it can come while the last
    // messages are still being stored (the pods finish what they hold when told to stop). The drain is what
    // this run's own poll saw.
    const backToZeroSeconds = this.backToZeroWall === undefined ? null : round(this.backToZeroWall - this.startSendingWall) / 1000;
    const drainSeconds = round((this.drainedAt ?? performance.now()) - this.startSendingAt) / 1000;
    return {
      blueprint: this.o.blueprint.name,
      storage: describeStorage(this.storage.endpoint),
      sent: this.sentIndexes.length,
      processed: audit.stored,
      poisoned: audit.poisoned,
      lost: audit.lost,
      duplicates: audit.duplicates,
      inQueue: audit.inQueue,
      invisible: audit.invisible,
      ...(this.unreadable ? { unreadable: this.unreadable.count } : {}),
      drained: this.drainedAt !== undefined,
      ...(this.stuck ? { stuck: this.stuck } : {}),
      drainSeconds,
      ...(this.o.exitWhenZero ? { backToZeroSeconds } : {}),
      readySeconds: round(this.readySeconds * 1000) / 1000,
      maxReplicas: this.maxReplicas,
      maxNodes: this.maxNodes,
      podSeconds: round(rt.podSeconds()),
      nodeSeconds: round(rt.nodeSeconds()),
      perPodThroughput: this.scaler?.measured().perPodThroughput ? Math.round(this.scaler.measured().perPodThroughput * 1000) / 1000 : null,
      p50LatencyMs: audit.p50LatencyMs,
      p95LatencyMs: audit.p95LatencyMs,
      maxLatencyMs: audit.maxLatencyMs,
      storageCallsPerMessage: audit.stored > 0 ? Math.round((consumerCalls / audit.stored) * 1000) / 1000 : 0,
      consumerStorageCalls: consumerCalls,
      maxConsumerRssMiB: Math.round((this.maxRss / 2 ** 20) * 10) / 10,
      maxPodFirstReceiveMs: Math.round(this.maxFirstReceiveMs),
      firstAddedPodSeconds: this.firstAddedReceiveWall === undefined ? null : round(this.firstAddedReceiveWall - this.startSendingWall) / 1000,
      meanPodFirstReceiveMs: this.firstReceiveMs.size ? Math.round([...this.firstReceiveMs.values()].reduce((a, b) => a + b, 0) / this.firstReceiveMs.size) : 0,
      producer: { achievedRate: round((this.producerReport?.achievedRate ?? 0) * 100) / 100, elapsedSeconds: round((this.producerReport?.elapsedSeconds ?? 0) * 100) / 100 },
    };
  }

  stop(): Promise<void> {
    // Graceful: Azurite saves --data on SIGTERM.
    return (this.stopped ??= (async () => {
      await this.wiring?.stop();
      await this.azurite?.stop();
    })());
  }
}

/**
 * Ready: storage is up and every initial replica that a node could take has made its first receive
 * (replicas waiting for a new node do not hold the start back). A pod that fails says why at once.
 */
async function waitForReady(cluster: Cluster, deployment: string, replicas: number, signal: AbortSignal): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const pods = cluster.podsOf(deployment);
    const receiving = pods.filter((p) => typeof p.stats.firstReceiveAt === "number").length;
    const bound = pods.filter((p) => p.phase === "Running").length;
    if (receiving >= Math.min(replicas, Math.max(bound, 1)) && pods.length >= replicas) return;
    if (signal.aborted) return;
    const failed = pods.find((p) => p.lastFailure && p.restarts > 0 && typeof p.stats.firstReceiveAt !== "number");
    if (failed) throw new UserError(`consumer pod ${failed.name} failed: ${failed.lastFailure}`, "fix the cause above (its log is in .akspilot/logs)");
    if (performance.now() > deadline) {
      throw new UserError(`consumer pods did not start receiving within 60 s (${receiving}/${replicas})`, "see the pod logs in .akspilot/logs");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

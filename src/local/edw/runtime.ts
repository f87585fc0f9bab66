import { fileURLToPath } from "node:url";
import { startAzurite, type AzuriteHandle } from "../../process/azurite.js";
import { Cluster } from "../cluster/cluster.js";
import type { PodTemplate, ProbeSettings } from "../cluster/pod.js";
import { storageClients, type StorageClients } from "../../storage/clients.js";
import { storageFromEnv, describeStorage, type StorageEndpoint, type StorageNames } from "../../storage/config.js";
import { ensureStorage, storageError } from "../../storage/ensure.js";
import { poisonQueueName } from "../../storage/names.js";
import { appStorageNames } from "../../apps/storage.js";
import { resources } from "../../scaling/quantity.js";
import type { Blueprint, HttpProbe } from "../../blueprints/types.js";
import type { InstanceType } from "../../scaling/catalog.js";

export interface ConsumerTuning {
  workMs: number;
  concurrency: number;
  batchSize: number;
  visibilityTimeoutSeconds?: number;
  maxDequeue: number;
  failMatch?: string;
  idleMaxMs: number;
}

export interface EdwRuntimeOptions {
  blueprint: Blueprint;
  dataDir?: string;
  logDir?: string;
  timeScale: number;
  consumer: ConsumerTuning;
  initialReplicas: number;
  /** The system node: tainted CriticalAddonsOnly (as the seed's system pool), so workloads never land on it. */
  systemNode?: InstanceType;
  /** Pool nodes Ready at start (the node pool "starts at one node and grows"). */
  initialPoolNodes: InstanceType[];
  poolName: string;
  /** Pods act as this local identity: its recorded role assignments are enforced (local RBAC). */
  identity?: string;
}

/** Storage, the cluster and the consumer Deployment of the EDW blueprint, running locally. */
export interface EdwRuntime {
  endpoint: StorageEndpoint;
  azurite?: AzuriteHandle;
  clients: StorageClients;
  names: StorageNames;
  cluster: Cluster;
  deployment: string;
  /** Approximate message count, as KEDA's default `all` strategy reads it (in-flight included). */
  queueDepth(): Promise<number>;
  stop(): Promise<void>;
}

import { existsSync } from "node:fs";

/** The bundled consumer starts twice as fast; the module tree is the fallback (e.g. tsc-only builds). */
const consumerMain = [new URL("../../../bundle/consumer.mjs", import.meta.url), new URL("../../apps/consumer/main.js", import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((p) => existsSync(p))!;

function probe(p: HttpProbe | undefined, timeScale: number): ProbeSettings | undefined {
  if (!p) return undefined;
  // Probe cadence follows the time scale like every other controller timing.
  return {
    path: p.path,
    periodMs: (p.periodSeconds * 1000) / timeScale,
    timeoutMs: p.timeoutSeconds * 1000,
    failureThreshold: p.failureThreshold,
    initialDelayMs: (p.initialDelaySeconds * 1000) / timeScale,
  };
}

/**
 * A small young generation: the consumer's garbage is short-lived request buffers, and V8's default
 * 16 MiB semi-spaces alone would put a pod near its 64Mi memory request.
 */
const POD_NODE_ARGS = "--max-semi-space-size=1 --max-old-space-size=64";

export async function startEdwRuntime(o: EdwRuntimeOptions): Promise<EdwRuntime> {
  const names = appStorageNames();
  let endpoint = storageFromEnv();
  let azurite: AzuriteHandle | undefined;
  if (!endpoint) {
    azurite = await startAzurite({ dataDir: o.dataDir });
    endpoint = { kind: "connection-string", connectionString: azurite.connectionString, origin: "embedded" };
  }
  const clients = storageClients(endpoint);
  try {
    await ensureStorage(endpoint, clients, names);
  } catch (e) {
    await azurite?.stop();
    throw e;
  }
  const app = o.blueprint.apps.find((a) => a.program === "consumer");
  if (!app) throw new Error(`blueprint ${o.blueprint.name} has no consumer app`);
  const c = o.consumer;
  const graceMs = app.terminationGracePeriodSeconds * 1000;
  const args = [
    "--work-ms", String(c.workMs), "--concurrency", String(c.concurrency), "--batch-size", String(c.batchSize),
    "--max-dequeue", String(c.maxDequeue), "--idle-max-ms", String(c.idleMaxMs),
    // The app must finish or release before the kubelet's SIGKILL.
    "--grace-ms", String(Math.max(1000, graceMs - 5000)),
  ];
  if (c.visibilityTimeoutSeconds !== undefined) args.push("--visibility-timeout", String(c.visibilityTimeoutSeconds));
  if (c.failMatch) args.push("--fail-match", c.failMatch);
  const env: Record<string, string> = { AZURE_QUEUE_NAME: names.queueName, AZURE_TABLE_NAME: names.tableName, AKSPILOT_SKIP_ENSURE: "1" };
  if (o.identity) {
    env.AKSPILOT_LOCAL_IDENTITY = o.identity;
    env.AKSPILOT_LOCAL_ROOT = process.cwd();
  }
  if (endpoint.kind === "connection-string") env.AZURE_STORAGE_CONNECTION_STRING = endpoint.connectionString;
  else env.AZURE_STORAGE_ACCOUNT_NAME = endpoint.accountName;
  const template: PodTemplate = {
    app: app.name,
    script: consumerMain,
    args,
    nodeArgs: (process.env.AKSPILOT_POD_NODE_ARGS ?? POD_NODE_ARGS).split(" ").filter(Boolean),
    env,
    requests: resources(app.resources.requests),
    tolerations: app.tolerations,
    graceMs,
    readiness: probe(app.readiness, o.timeScale),
    liveness: probe(app.liveness, o.timeScale),
  };
  const cluster = new Cluster({ logDir: o.logDir, timeScale: o.timeScale });
  if (o.systemNode) cluster.addNode(o.systemNode, undefined, 0, "system pool (CriticalAddonsOnly)", [{ key: "CriticalAddonsOnly", value: "true", effect: "NoSchedule" }]);
  for (const t of o.initialPoolNodes) cluster.addNode(t, o.poolName, 0, "initial node of the pool");
  cluster.addDeployment(app.name, template, o.initialReplicas);
  const queue = clients.queue(names.queueName);
  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    azurite,
    clients,
    names,
    cluster,
    deployment: app.name,
    async queueDepth() {
      try {
        return (await queue.getProperties()).approximateMessagesCount ?? 0;
      } catch (e) {
        throw storageError(endpoint!, e);
      }
    },
    stop: () =>
      (stopped ??= (async () => {
        await cluster.shutdown();
        await azurite?.stop();
      })()),
  };
}

export function poisonQueueOf(rt: EdwRuntime) {
  return rt.clients.queue(poisonQueueName(rt.names.queueName));
}

export function storageLabel(rt: EdwRuntime): string {
  return describeStorage(rt.endpoint);
}

import type { StorageEndpoint } from "../../storage/config.js";
import { appStorageClients, appStorageNames } from "../storage.js";
import { ensureStorage, storageError } from "../../storage/ensure.js";
import { poisonQueueName } from "../../storage/names.js";
import { Consumer } from "./consumer.js";
import { startHealthServer } from "./health.js";
import { startDeletionCostReporter } from "./deletion-cost.js";
import type { ConsumerSettings } from "./settings.js";

export type ConsumerToParent = { type: "ready"; pid: number; healthPort: number } | { type: "stats"; stats: ReturnType<Consumer["snapshot"]> };
export type ParentToConsumer = { type: "wake" };

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} consumer[${process.pid}] ${line}\n`);

/**
 * The consumer process: checks storage, serves health, consumes until SIGTERM/SIGINT, then finishes or
 * releases its in-flight messages within the grace period and exits 0. Under `akspilot up` it also
 * reports over IPC and wakes from idle when told work has arrived.
 */
export async function runConsumerProcess(endpoint: StorageEndpoint, settings: ConsumerSettings): Promise<void> {
  const names = appStorageNames();
  const clients = await appStorageClients(endpoint);
  // Under `akspilot up` the runtime has created the queues and table already: start receiving at once.
  if (process.env.AKSPILOT_SKIP_ENSURE !== "1") await ensureStorage(endpoint, clients, names);
  const consumer = new Consumer({
    queue: clients.queue(names.queueName),
    poisonQueue: clients.queue(poisonQueueName(names.queueName)),
    table: clients.table(names.tableName),
    counter: clients.counter,
    batchSize: settings.batchSize,
    concurrency: settings.concurrency,
    workMs: settings.workMs,
    visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
    maxDequeue: settings.maxDequeue,
    idleMinMs: settings.idleMinMs,
    idleMaxMs: settings.idleMaxMs,
    failMatch: settings.failMatch,
    log,
  });
  const health = await startHealthServer(consumer, settings.healthHost, settings.healthPort);
  consumer.start();
  // On AKS (blueprint option): keep this pod's deletion cost equal to its in-flight work, so that the
  // ReplicaSet removes idle consumers first when the HPA scales in.
  const deletionCost =
    process.env.AKSPILOT_POD_DELETION_COST === "true" && process.env.POD_NAME && process.env.POD_NAMESPACE
      ? startDeletionCostReporter({ inFlight: () => consumer.snapshot().inFlight, podName: process.env.POD_NAME, namespace: process.env.POD_NAMESPACE })
      : undefined;

  let reporter: NodeJS.Timeout | undefined;
  if (process.send) {
    process.send({ type: "ready", pid: process.pid, healthPort: health.port } satisfies ConsumerToParent);
    process.on("message", (m: ParentToConsumer) => {
      if (m?.type === "wake") consumer.wake();
    });
    reporter = setInterval(() => {
      if (process.connected) process.send?.({ type: "stats", stats: consumer.snapshot() } satisfies ConsumerToParent);
    }, 500);
    reporter.unref();
  } else {
    log(`consuming ${names.queueName} → table ${names.tableName}; health on http://${settings.healthHost}:${health.port}/healthz`);
  }

  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      log(`${sig}: stopping (grace ${settings.graceMs} ms)`);
      resolve();
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
    consumer.onFatal(() => resolve());
  });
  await consumer.stop(settings.graceMs);
  await deletionCost?.stop();
  if (consumer.fatal) {
    health.server.close();
    health.server.closeAllConnections();
    throw storageError(endpoint, consumer.fatal);
  }
  if (reporter) clearInterval(reporter);
  const s = consumer.snapshot();
  if (process.connected) process.send?.({ type: "stats", stats: s } satisfies ConsumerToParent);
  log(`stopped: processed ${s.processed}, released ${s.released}, poisoned ${s.poisoned}, storage calls ${s.storageCalls}`);
  health.server.close();
  health.server.closeAllConnections();
}

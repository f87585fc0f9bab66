// The fault suite's shared pieces: one way to run Azurite (in memory or durable, restartable behind a
// stable address), the loopback fault proxy (testkit/fault-proxy.ts) in front of storage, and seed
// queues/table per test.
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectionStringFor, startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import { storageClients, type StorageClients } from "../../src/storage/clients.js";
import { poisonQueueName } from "../../src/storage/names.js";
import type { QueueClient } from "@azure/storage-queue";
import type { TableClient } from "@azure/data-tables";
import { Consumer } from "../../src/apps/consumer/consumer.js";
import { startFaultProxy, type FaultProxy, type FaultRules } from "../../testkit/fault-proxy.js";

export { startFaultProxy, type FaultProxy, type FaultRules } from "../../testkit/fault-proxy.js";

export interface AfterHost {
  after: (fn: () => void | Promise<void>) => void;
}

/** Storage behind a fault proxy: clients only ever see the proxy's stable address. */
export interface ProxiedStorage {
  azurite: AzuriteHandle;
  proxy: FaultProxy;
  /** Connection string through the proxy (queue and table). */
  connectionString: string;
  /** Azurite's data directory (durable only). */
  dataDir: string | undefined;
  /** Kills Azurite outright (SIGKILL) and starts it again on the same data directory (durable only). */
  crashAndRestart(downMs?: number): Promise<void>;
}

/** Azurite with a fault proxy in front of its queue and table services (one proxy each, shared rules). */
export async function startStorage(t: AfterHost, o: { durable?: boolean; random?: () => number } = {}): Promise<ProxiedStorage> {
  const dataDir = o.durable ? mkdtempSync(join(tmpdir(), "akspilot-faults-data-")) : undefined;
  let azurite = await startAzurite({ dataDir });
  // Queue and table go through separate proxies (Azurite serves them on separate ports).
  const rules: FaultRules = {};
  const random = o.random;
  const queueProxy = await startFaultProxy(origin(azurite.endpoints.queue), { rules, random });
  const tableProxy = await startFaultProxy(origin(azurite.endpoints.table), { rules, random });
  const shared = combined(queueProxy, tableProxy);
  const s: ProxiedStorage = {
    get azurite() {
      return azurite;
    },
    proxy: shared,
    dataDir,
    connectionString: connectionStringFor({
      blob: azurite.endpoints.blob,
      queue: `${queueProxy.url}/devstoreaccount1`,
      table: `${tableProxy.url}/devstoreaccount1`,
    }),
    async crashAndRestart(downMs = 1000) {
      if (!dataDir) throw new Error("crashAndRestart needs durable storage");
      process.kill(azurite.pid, "SIGKILL");
      await azurite.stop();
      await new Promise((r) => setTimeout(r, downMs));
      azurite = await startAzurite({ dataDir });
      queueProxy.setTarget(origin(azurite.endpoints.queue));
      tableProxy.setTarget(origin(azurite.endpoints.table));
    },
  };
  t.after(async () => {
    await queueProxy.close();
    await tableProxy.close();
    await azurite.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return s;
}

/** One LokiJS file of Azurite's data directory: its collections by name (missing or half-written: none). */
function lokiCollections(dataDir: string, file: string): Map<string, Record<string, unknown>[]> {
  try {
    const db = JSON.parse(readFileSync(join(dataDir, file), "utf8")) as { collections: { name: string; data: Record<string, unknown>[] }[] };
    return new Map(db.collections.map((c) => [c.name, c.data]));
  } catch {
    return new Map();
  }
}

/**
 * Whether durable Azurite's files hold the seeded table, `messages` messages in the seeded queue and the
 * extents their texts are in. Azurite saves its metadata (LokiJS) every 5 s, not on each request: until
 * this is true, a crash loses what it has not saved.
 */
export function persisted(dataDir: string, s: SeedStorage, messages: number): boolean {
  const tables = lokiCollections(dataDir, "__azurite_db_table__.json").get("$TABLES_COLLECTION$") ?? [];
  if (!tables.some((t) => t.table === s.tableName)) return false;
  const queued = (lokiCollections(dataDir, "__azurite_db_queue__.json").get("$MESSAGES_COLLECTION$") ?? []).filter((m) => m.queueName === s.queueName);
  if (queued.length !== messages) return false;
  const extents = new Map((lokiCollections(dataDir, "__azurite_db_queue_extent__.json").get("$EXTENTS_COLLECTION$") ?? []).map((e) => [e.id, Number(e.size)]));
  return queued.every((m) => {
    const at = m.persistency as { id: string; offset: number; count: number };
    return (extents.get(at.id) ?? -1) >= at.offset + at.count;
  });
}

function origin(endpoint: string): string {
  return new URL(endpoint).origin;
}

/** The two proxies (sharing one rules object) seen as one: summed counts. */
function combined(a: FaultProxy, b: FaultProxy): FaultProxy {
  return {
    url: a.url,
    rules: a.rules,
    get counts() {
      return {
        forwarded: a.counts.forwarded + b.counts.forwarded,
        reset: a.counts.reset + b.counts.reset,
        busy: a.counts.busy + b.counts.busy,
        held: a.counts.held + b.counts.held,
        paused: a.counts.paused + b.counts.paused,
      };
    },
    resumeOne: () => a.resumeOne() || b.resumeOne(),
    setTarget() {
      throw new Error("set each service's target separately");
    },
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}

export interface SeedStorage {
  clients: StorageClients;
  queueName: string;
  tableName: string;
  queue: QueueClient;
  poison: QueueClient;
  table: TableClient;
  /** Environment naming these for a consumer process. */
  env: Record<string, string>;
}

/** A fresh queue, poison queue and table with unique names, created (so tests can share one Azurite). */
export async function seedStorage(connectionString: string): Promise<SeedStorage> {
  const id = randomUUID().replace(/-/g, "").slice(0, 12);
  const queueName = `faults${id}`;
  const tableName = `faults${id}`;
  const clients = storageClients({ kind: "connection-string", connectionString, origin: "env" });
  const s = { clients, queueName, tableName, queue: clients.queue(queueName), poison: clients.queue(poisonQueueName(queueName)), table: clients.table(tableName) };
  await s.queue.createIfNotExists();
  await s.poison.createIfNotExists();
  await s.table.createTable();
  return { ...s, env: { AZURE_QUEUE_NAME: queueName, AZURE_TABLE_NAME: tableName } };
}

/** Seeded PRNG (mulberry32): fault choices that can be replayed from the printed seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One consumer replica on the seeded storage with the pod defaults (batch 32, concurrency 32, no work), idle back-off as given. */
export function consumerOn(s: SeedStorage, o: { idleMinMs: number; idleMaxMs: number; receiveDeadlineMs?: number }, log: string[] = []): Consumer {
  return new Consumer({
    queue: s.queue,
    poisonQueue: s.poison,
    table: s.table,
    counter: s.clients.counter,
    batchSize: 32,
    concurrency: 32,
    workMs: 0,
    visibilityTimeoutSeconds: 60,
    maxDequeue: 5,
    idleMinMs: o.idleMinMs,
    idleMaxMs: o.idleMaxMs,
    receiveDeadlineMs: o.receiveDeadlineMs,
    log: (l) => log.push(l),
  });
}

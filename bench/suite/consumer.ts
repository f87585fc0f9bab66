// The consumer benchmarks: one replica against a bare receive+delete loop (the local ceiling), its storage
// calls and idle polling, and the seed sample's consumer (bench/reference/consumer.py) beside it, all
// against one Azurite in the same run.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { QueueClient } from "@azure/storage-queue";
import { startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import type { TableClient, TransactionAction } from "@azure/data-tables";
import { storageClients, type StorageClients } from "../../src/storage/clients.js";
import { entityKeys } from "../../src/apps/consumer/entity.js";
import { startFaultProxy } from "../../testkit/fault-proxy.js";
import { connectionStringFor } from "../../src/process/azurite.js";
import { ROOT } from "../cli.js";
import { cpuMs, drainWithPod, fill, procStatusKiB, startPod } from "../pod.js";
import { memoryFloors } from "../floor/measure.js";
import { bareLoop } from "../floor/bare-loop.js";
import { markdownTable, round, Skip, type Benchmark, type BenchResult } from "../types.js";

const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Where consumer-throughput's Azurite keeps its data: "durable" (a temporary directory, the default) or
 * "memory". In memory, every message is an extent of its own and Azurite's queue collector (every 60 s) deletes
 * them one by one with a re-sort of all extents, blocking storage for 6–60 s on a loaded 2-core machine: it
 * lands in whichever side's drain is running and the rounds measure that, not the consumers
 * (BENCHMARKS.md, "Consumer crawl, diagnosed"). On disk, messages share extent files and a sweep is short.
 */
const benchStorage = () => (process.env.AKSPILOT_BENCH_STORAGE === "memory" ? "memory" : "durable");

type StorageUser<T> = (az: AzuriteHandle, queue: (name: string) => Promise<QueueClient>, clients: StorageClients) => Promise<T>;

function withStorage<T>(fn: StorageUser<T>): Promise<T> {
  return withStorageAt({}, fn);
}

async function withStorageAt<T>(o: { durable?: boolean }, fn: StorageUser<T>): Promise<T> {
  const dataDir = o.durable ? mkdtempSync(join(tmpdir(), "akspilot-bench-data-")) : undefined;
  const az = await startAzurite({ dataDir });
  try {
    const clients = storageClients({ kind: "connection-string", connectionString: az.connectionString, origin: "env" });
    return await fn(
      az,
      async (name) => {
        const q = clients.queue(name);
        await q.createIfNotExists();
        await clients.queue(`${name}-poison`).createIfNotExists();
        await clients.table(name).createTable();
        return q;
      },
      clients,
    );
  } finally {
    await az.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The like-for-like floor: the bare loop plus the consumer's table write (the same rows, one batch
 * transaction per partition) between receive and delete — what storage must do per message for "nothing lost".
 */
async function bareTableLoop(q: QueueClient, table: TableClient): Promise<{ seconds: number; handled: number }> {
  const t0 = performance.now();
  let handled = 0;
  for (;;) {
    const r = await q.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
    if (r.receivedMessageItems.length === 0) break;
    const byPartition = new Map<string, TransactionAction[]>();
    for (const m of r.receivedMessageItems) {
      const keys = entityKeys(m);
      const list = byPartition.get(keys.partitionKey) ?? [];
      list.push(["upsert", { ...keys, data: m.messageText, srcStamp: "", dateStamp: "", latencyMs: 0, messageId: m.messageId, dequeueCount: m.dequeueCount }, "Replace"]);
      byPartition.set(keys.partitionKey, list);
    }
    await Promise.all([...byPartition.values()].map((actions) => table.submitTransaction(actions)));
    await Promise.all(r.receivedMessageItems.map((m) => q.deleteMessage(m.messageId, m.popReceipt)));
    handled += r.receivedMessageItems.length;
  }
  return { seconds: (performance.now() - t0) / 1000, handled };
}

/** Other Node.js binaries to measure a pod's memory with (space-separated paths), e.g. a Node 24 build. */
const extraNodes = () => (process.env.AKSPILOT_BENCH_NODES ?? "").split(" ").filter(Boolean);

/** An earlier build of the consumer program to measure beside this one (e.g. a copy of dist/bundle). */
const beforeProgram = () => process.env.AKSPILOT_BENCH_CONSUMER_BEFORE || undefined;

const median = (xs: number[]) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One side of a round: its rate, and CPU per message of storage (Azurite) and of the client, from /proc. */
interface SideRun {
  msgPerSec: number;
  azuriteCpuUsPerMsg: number;
  clientCpuUsPerMsg: number;
  callsPerMsg?: number;
  rssMiB?: number;
  firstReceiveMs?: number;
}

type Side = "bare" | "bare+table" | "ours" | "before";

export const consumerThroughput: Benchmark = {
  name: "consumer-throughput",
  description:
    "one replica at zero work vs a bare receive(32)+delete loop (the issue's ceiling) and a bare receive+table batch+delete loop (like for like), alternating rounds on one Azurite; CPU per message of storage and client; pod memory while draining, beside the memory floors (the smallest receive+delete programs, with and without the SDK, as processes with the pods' V8 flags)",
  async run({ full }): Promise<BenchResult> {
    const n = full ? 4000 : 1500;
    const rounds = full ? 3 : 2;
    const before = beforeProgram();
    const storage = benchStorage();
    log(`consumer-throughput: Azurite ${storage === "durable" ? "on a temporary data directory" : "in memory"} (AKSPILOT_BENCH_STORAGE)`);
    return withStorageAt({ durable: storage === "durable" }, async (az, queue, clients) => {
      const q = await queue("benchtput");
      const tableClient = clients.table("benchtput");
      const env = { AZURE_QUEUE_NAME: "benchtput", AZURE_TABLE_NAME: "benchtput" };
      const sides: Side[] = ["bare", "bare+table", "ours", ...(before ? (["before"] as const) : [])];
      const runs = new Map<Side, SideRun[]>(sides.map((s) => [s, []]));
      const ratios: number[] = [];
      const likeRatios: number[] = [];
      const beforeRatios: number[] = [];
      const pod = async (program: string | undefined, node?: string) => {
        const a0 = cpuMs(az.pid);
        const x = await drainWithPod({ connectionString: az.connectionString, env, program, node }, n);
        return {
          msgPerSec: x.handled / x.seconds,
          azuriteCpuUsPerMsg: ((cpuMs(az.pid) - a0) * 1000) / x.handled,
          clientCpuUsPerMsg: (x.drainCpuMs * 1000) / x.handled,
          callsPerMsg: x.calls / x.handled,
          rssMiB: x.peakRssBytes / MiB,
          firstReceiveMs: x.firstReceiveMs,
        };
      };
      const inProcess = async (loop: () => Promise<{ seconds: number; handled: number }>) => {
        const a0 = cpuMs(az.pid);
        const c0 = process.cpuUsage();
        const x = await loop();
        const c = process.cpuUsage(c0);
        return { msgPerSec: x.handled / x.seconds, azuriteCpuUsPerMsg: ((cpuMs(az.pid) - a0) * 1000) / x.handled, clientCpuUsPerMsg: (c.user + c.system) / x.handled };
      };
      for (let r = 1; r <= rounds; r++) {
        const rate = new Map<Side, number>();
        for (const which of r % 2 ? sides : [...sides].reverse()) {
          await q.clearMessages();
          await fill(q, n);
          const x =
            which === "bare"
              ? await inProcess(() => bareLoop(q))
              : which === "bare+table"
                ? await inProcess(() => bareTableLoop(q, tableClient))
                : await pod(which === "before" ? before : undefined);
          runs.get(which)!.push(x);
          rate.set(which, x.msgPerSec);
        }
        ratios.push(rate.get("ours")! / rate.get("bare")!);
        likeRatios.push(rate.get("ours")! / rate.get("bare+table")!);
        if (before) beforeRatios.push(rate.get("before")! / rate.get("bare")!);
        log(`consumer-throughput round ${r}: ${sides.map((s) => `${s} ${rate.get(s)!.toFixed(0)}`).join(", ")} msg/s`);
      }
      // Memory and first receive on the other Node.js binaries: this build and the earlier one, alternating.
      const other: { version: string; side: Side; rssMiB: number; firstReceiveMs: number }[] = [];
      for (const node of extraNodes()) {
        const version = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
        for (const side of before ? (["before", "ours"] as const) : (["ours"] as const)) {
          await q.clearMessages();
          await fill(q, n);
          const x = await pod(side === "before" ? before : undefined, node);
          other.push({ version, side, rssMiB: x.rssMiB!, firstReceiveMs: x.firstReceiveMs! });
        }
      }
      // The floors under the memory goal: the smallest programs doing this storage work, on each binary.
      const binaries = [
        { bin: process.execPath, version: process.version },
        ...extraNodes().map((bin) => ({ bin, version: spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.trim() })),
      ];
      const floors = await memoryFloors(az, q, n, binaries);
      const med = (side: Side, k: keyof SideRun) => median(runs.get(side)!.map((x) => x[k] ?? Number.NaN));
      const maxOf = (side: Side, k: keyof SideRun) => Math.max(...runs.get(side)!.map((x) => x[k] ?? Number.NaN));
      const figures: Record<string, number> = {
        durableStorage: storage === "durable" ? 1 : 0,
        messages: n,
        rounds,
        bareMsgPerSec: round(med("bare", "msgPerSec"), 0),
        bareTableMsgPerSec: round(med("bare+table", "msgPerSec"), 0),
        oursMsgPerSec: round(med("ours", "msgPerSec"), 0),
        peakRssMiB: round(maxOf("ours", "rssMiB"), 1),
        firstReceiveMs: med("ours", "firstReceiveMs"),
        callsPerMessage: round(med("ours", "callsPerMsg"), 3),
        ...Object.fromEntries(
          sides.flatMap((s) => [
            [`cpuUsPerMsg_azurite_${s}`, round(med(s, "azuriteCpuUsPerMsg"), 0)],
            [`cpuUsPerMsg_client_${s}`, round(med(s, "clientCpuUsPerMsg"), 0)],
          ]),
        ),
        ...(before
          ? {
              beforeMsgPerSec: round(med("before", "msgPerSec"), 0),
              beforePeakRssMiB: round(maxOf("before", "rssMiB"), 1),
              beforeFirstReceiveMs: med("before", "firstReceiveMs"),
              beforeCallsPerMessage: round(med("before", "callsPerMsg"), 3),
            }
          : {}),
        ...Object.fromEntries(other.map((o) => [`${o.side === "ours" ? "" : "before_"}peakRssMiB_${o.version}`, round(o.rssMiB, 1)])),
        ...Object.fromEntries(other.map((o) => [`${o.side === "ours" ? "" : "before_"}firstReceiveMs_${o.version}`, o.firstReceiveMs])),
        ...Object.fromEntries(floors.map((f) => [`floorPeakRssMiB_${f.kind}_${f.node}`, round(f.hwmKiB / 1024, 1)])),
        ...Object.fromEntries(floors.map((f) => [`floorFileMiB_${f.kind}_${f.node}`, round(f.fileKiB / 1024, 1)])),
      };
      const ratio = round(median(ratios), 2);
      const cpuRow = (s: Side) => [`CPU per message, µs: storage / client (${s})`, `${figures[`cpuUsPerMsg_azurite_${s}`]} / ${figures[`cpuUsPerMsg_client_${s}`]}`, ""];
      const table = markdownTable(
        ["measure", "result", "goal"],
        [
          ["bare receive(32)+delete loop, msg/s (median)", figures.bareMsgPerSec, ""],
          ["bare receive(32)+table batch+delete loop, msg/s (median)", figures.bareTableMsgPerSec, ""],
          ["one replica, zero work, msg/s (median)", figures.oursMsgPerSec, ""],
          ["**ratio ours / bare** (per round)", `${ratios.map((x) => x.toFixed(2)).join(", ")} (median ${ratio})`, "≥ 0.95"],
          ["ratio ours / bare+table (per round)", `${likeRatios.map((x) => x.toFixed(2)).join(", ")} (median ${round(median(likeRatios), 2)})`, ""],
          ...(before
            ? [
                ["earlier build, msg/s (median)", figures.beforeMsgPerSec, ""],
                ["ratio earlier build / bare (per round)", `${beforeRatios.map((x) => x.toFixed(2)).join(", ")} (median ${round(median(beforeRatios), 2)})`, ""],
              ]
            : []),
          ...sides.map(cpuRow),
          ["storage calls per message", figures.callsPerMessage, ""],
          [`peak RSS while draining, MiB (${process.version})`, figures.peakRssMiB, "≤ 64"],
          ...(before ? [[`earlier build: peak RSS, MiB (${process.version})`, figures.beforePeakRssMiB, "≤ 64"]] : []),
          ...other.map((o) => [`${o.side === "ours" ? "" : "earlier build: "}peak RSS while draining, MiB (${o.version})`, round(o.rssMiB, 1), "≤ 64"]),
          ...floors.map((f) => [
            `floor: peak RSS of ${f.kind === "sdk" ? "a receive+delete loop on @azure/storage-queue alone" : "a receive+delete loop on node:http alone (no SDK)"}, MiB (${f.node}; of it file pages: the node binary and libraries)`,
            `${round(f.hwmKiB / 1024, 1)} (${round(f.fileKiB / 1024, 1)})`,
            "",
          ]),
          ["first receive after spawn, ms (median)", figures.firstReceiveMs, "≤ 300 (idle machine)"],
          ...(before ? [["earlier build: first receive after spawn, ms (median)", figures.beforeFirstReceiveMs, "≤ 300 (idle machine)"]] : []),
          ...other.map((o) => [`${o.side === "ours" ? "" : "earlier build: "}first receive after spawn, ms (${o.version})`, o.firstReceiveMs, "≤ 300"]),
        ],
      );
      return {
        figures,
        ratios: {
          oursOverBare: ratio,
          oursOverBareTable: round(median(likeRatios), 2),
          ...(before ? { beforeOverBare: round(median(beforeRatios), 2), oursOverBefore: round(med("ours", "msgPerSec") / med("before", "msgPerSec"), 2) } : {}),
        },
        table: `Azurite storage: ${storage}\n\n${table}`,
      };
    });
  },
};

export const consumerEfficiency: Benchmark = {
  name: "consumer-efficiency",
  description: "storage calls per processed message and idle receives per minute of one replica, vs the seed consumer's design (3 per message, 60 per idle minute)",
  async run({ full }): Promise<BenchResult> {
    const n = full ? 4000 : 1000;
    // Backoff 250 ms doubling to 30 s is at its maximum after ~62 s; quick mode measures the first minute.
    const warmMs = full ? 70_000 : 0;
    const windowMs = full ? 120_000 : 60_000;
    return withStorage(async (az, queue) => {
      const q = await queue("benchcalls");
      await fill(q, n);
      const busy = await drainWithPod({ connectionString: az.connectionString, env: { AZURE_QUEUE_NAME: "benchcalls", AZURE_TABLE_NAME: "benchcalls" } }, n);
      await queue("benchidle");
      const pod = await startPod({ connectionString: az.connectionString, env: { AZURE_QUEUE_NAME: "benchidle", AZURE_TABLE_NAME: "benchidle" } });
      let idlePerMin: number;
      try {
        await sleep(warmMs);
        const a = await pod.stats();
        const t = Date.now();
        await sleep(windowMs);
        const b = await pod.stats();
        idlePerMin = (b.storageCalls - a.storageCalls) / ((Date.now() - t) / 60_000);
      } finally {
        await pod.stop();
      }
      const callsPerMessage = round(busy.calls / busy.handled, 3);
      const idleLabel = full ? "idle receives per minute, backoff at its maximum" : "idle receives in the first minute (backoff ramping up)";
      const table = markdownTable(
        ["measure", "ours", "seed (by design)", "ratio ours / seed"],
        [
          [`storage calls per processed message (${n} messages)`, callsPerMessage, 3, round(callsPerMessage / 3, 3)],
          [idleLabel, round(idlePerMin, 1), 60, round(idlePerMin / 60, 3)],
        ],
      );
      return {
        figures: { messages: n, callsPerMessage, idleCallsPerMinute: round(idlePerMin, 1), idleWindow: full ? "after 70 s, 120 s" : "first 60 s" },
        ratios: { callsVsSeed: round(callsPerMessage / 3, 3), idleVsSeed: round(idlePerMin / 60, 3) },
        table,
      };
    });
  },
};

const PYTHON = "/usr/bin/python3";

export const referenceConsumer: Benchmark = {
  name: "reference-consumer",
  description: "the seed sample's consumer logic (bench/reference/consumer.py, Debian python3-azure) beside ours on one Azurite: throughput, calls per message, memory",
  async run({ full }): Promise<BenchResult> {
    const probe = spawnSync(PYTHON, ["-c", "import azure.storage.queue, azure.data.tables"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) throw new Skip(`${PYTHON} cannot import azure.storage.queue and azure.data.tables (install Debian's python3-azure)`);
    const seconds = full ? 60 : 20;
    return withStorage(async (az, queue) => {
      const q = await queue("benchref");
      await fill(q, 4000);
      // The reference client's calls are counted by a loopback proxy in front of both services.
      const qp = await startFaultProxy(new URL(az.endpoints.queue).origin);
      const tp = await startFaultProxy(new URL(az.endpoints.table).origin);
      const cs = connectionStringFor({ blob: az.endpoints.blob, queue: `${qp.url}/devstoreaccount1`, table: `${tp.url}/devstoreaccount1` });
      const runRef = async (tick: string) => {
        const before = qp.counts.forwarded + tp.counts.forwarded;
        const child = spawn(PYTHON, ["-u", join(ROOT, "bench", "reference", "consumer.py")], {
          env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: cs, AZURE_QUEUE_NAME: "benchref", AZURE_TABLE_NAME: "benchref", BENCH_TICK_SECONDS: tick },
          stdio: ["ignore", "pipe", "ignore"],
        });
        let processed = 0;
        child.stdout.on("data", (d: Buffer) => {
          const m = /processed (\d+)\s*$/.exec(d.toString());
          if (m) processed = Number(m[1]);
        });
        await sleep(seconds * 1000);
        const rss = procStatusKiB(child.pid!, "VmHWM") / 1024;
        child.kill("SIGKILL");
        await new Promise((r) => child.once("exit", r));
        return { msgPerSec: processed / seconds, callsPerMessage: (qp.counts.forwarded + tp.counts.forwarded - before) / Math.max(1, processed), rssMiB: rss };
      };
      try {
        const seed = await runRef("1");
        const untimed = await runRef("0");
        const ours = await drainWithPod({ connectionString: az.connectionString, env: { AZURE_QUEUE_NAME: "benchref", AZURE_TABLE_NAME: "benchref" } }, 1000);
        const oursRate = ours.handled / ours.seconds;
        const table = markdownTable(
          ["measure", "seed consumer (1 s tick)", "seed logic without the tick", "ours (one replica)"],
          [
            ["msg/s", round(seed.msgPerSec, 2), round(untimed.msgPerSec, 1), round(oursRate, 0)],
            ["storage calls per message", round(seed.callsPerMessage, 2), round(untimed.callsPerMessage, 2), round(ours.calls / ours.handled, 3)],
            ["peak RSS, MiB", round(seed.rssMiB, 1), round(untimed.rssMiB, 1), round(ours.peakRssBytes / MiB, 1)],
          ],
        );
        return {
          figures: {
            seedMsgPerSec: round(seed.msgPerSec, 2),
            seedUntimedMsgPerSec: round(untimed.msgPerSec, 1),
            oursMsgPerSec: round(oursRate, 0),
            seedCallsPerMessage: round(seed.callsPerMessage, 2),
            oursCallsPerMessage: round(ours.calls / ours.handled, 3),
            seedRssMiB: round(seed.rssMiB, 1),
            oursRssMiB: round(ours.peakRssBytes / MiB, 1),
          },
          ratios: {
            throughputOursOverSeed: round(oursRate / seed.msgPerSec, 1),
            throughputOursOverUntimedSeed: round(oursRate / untimed.msgPerSec, 1),
            callsOursOverSeed: round(ours.calls / ours.handled / seed.callsPerMessage, 3),
          },
          table,
        };
      } finally {
        await qp.close();
        await tp.close();
      }
    });
  },
};

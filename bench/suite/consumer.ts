// The consumer benchmarks: one replica against a bare receive+delete loop (the local ceiling), its storage
// calls and idle polling, and the seed sample's consumer (bench/reference/consumer.py) beside it, all
// against one Azurite in the same run.
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import type { QueueClient } from "@azure/storage-queue";
import { startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import { storageClients } from "../../src/storage/clients.js";
import { startFaultProxy } from "../../test/faults/helpers.js";
import { connectionStringFor } from "../../src/process/azurite.js";
import { ROOT } from "../cli.js";
import { drainWithPod, fill, procStatusKiB, startPod } from "../pod.js";
import { markdownTable, round, Skip, type Benchmark, type BenchResult } from "../types.js";

const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

async function withStorage<T>(fn: (az: AzuriteHandle, queue: (name: string) => Promise<QueueClient>) => Promise<T>): Promise<T> {
  const az = await startAzurite();
  try {
    const clients = storageClients({ kind: "connection-string", connectionString: az.connectionString, origin: "env" });
    return await fn(az, async (name) => {
      const q = clients.queue(name);
      await q.createIfNotExists();
      await clients.queue(`${name}-poison`).createIfNotExists();
      await clients.table(name).createTable();
      return q;
    });
  } finally {
    await az.stop();
  }
}

/** The floor: receive 32, delete them all in parallel, repeat until the queue is empty. */
async function bareLoop(q: QueueClient): Promise<{ seconds: number; handled: number }> {
  const t0 = performance.now();
  let handled = 0;
  for (;;) {
    const r = await q.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
    if (r.receivedMessageItems.length === 0) break;
    await Promise.all(r.receivedMessageItems.map((m) => q.deleteMessage(m.messageId, m.popReceipt)));
    handled += r.receivedMessageItems.length;
  }
  return { seconds: (performance.now() - t0) / 1000, handled };
}

/** Other Node.js binaries to measure a pod's memory with (space-separated paths), e.g. a Node 24 build. */
const extraNodes = () => (process.env.AKSPILOT_BENCH_NODES ?? "").split(" ").filter(Boolean);

export const consumerThroughput: Benchmark = {
  name: "consumer-throughput",
  description: "one replica at zero work vs a bare receive(32)+delete loop (the local ceiling), alternating rounds on one Azurite; pod memory while draining",
  async run({ full }): Promise<BenchResult> {
    const n = full ? 4000 : 1500;
    const rounds = full ? 3 : 2;
    return withStorage(async (az, queue) => {
      const q = await queue("benchtput");
      const env = { AZURE_QUEUE_NAME: "benchtput", AZURE_TABLE_NAME: "benchtput" };
      const bare: number[] = [];
      const ours: number[] = [];
      const ratios: number[] = [];
      const rss: number[] = [];
      const first: number[] = [];
      for (let r = 1; r <= rounds; r++) {
        let b = 0;
        let o = 0;
        for (const which of r % 2 ? ["bare", "ours"] : ["ours", "bare"]) {
          await q.clearMessages();
          await fill(q, n);
          if (which === "bare") {
            const x = await bareLoop(q);
            bare.push((b = x.handled / x.seconds));
          } else {
            const x = await drainWithPod({ connectionString: az.connectionString, env }, n);
            ours.push((o = x.handled / x.seconds));
            rss.push(x.peakRssBytes / MiB);
            first.push(x.firstReceiveMs);
          }
        }
        ratios.push(o / b);
        log(`consumer-throughput round ${r}: bare ${b.toFixed(0)} msg/s, ours ${o.toFixed(0)} msg/s, ratio ${(o / b).toFixed(2)}`);
      }
      const other: [string, number][] = [];
      for (const node of extraNodes()) {
        await q.clearMessages();
        await fill(q, n);
        const x = await drainWithPod({ connectionString: az.connectionString, env, node }, n);
        const v = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
        other.push([v, x.peakRssBytes / MiB]);
      }
      const med = (xs: number[]) => {
        const s = [...xs].sort((a, b) => a - b);
        const m = Math.floor(s.length / 2);
        return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
      };
      const figures = {
        messages: n,
        rounds,
        bareMsgPerSec: round(med(bare), 0),
        oursMsgPerSec: round(med(ours), 0),
        peakRssMiB: round(Math.max(...rss), 1),
        firstReceiveMs: med(first),
        ...Object.fromEntries(other.map(([v, m]) => [`peakRssMiB_${v}`, round(m, 1)])),
      };
      const ratio = round(med(ratios), 2);
      const table = markdownTable(
        ["measure", "result", "goal"],
        [
          ["bare receive(32)+delete loop, msg/s (median)", figures.bareMsgPerSec, ""],
          ["one replica, zero work, msg/s (median)", figures.oursMsgPerSec, ""],
          ["**ratio ours / bare** (per round)", `${ratios.map((x) => x.toFixed(2)).join(", ")} (median ${ratio})`, "≥ 0.95"],
          [`peak RSS while draining, MiB (${process.version})`, figures.peakRssMiB, "≤ 64"],
          ...other.map(([v, m]) => [`peak RSS while draining, MiB (${v})`, round(m, 1), "≤ 64"]),
          ["first receive after spawn, ms (median)", figures.firstReceiveMs, "≤ 300 (idle machine)"],
        ],
      );
      return { figures, ratios: { oursOverBare: ratio }, table };
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

// EDW consumer benchmark: figures for issue 2's performance goals, measured side by side in one run
// against one Azurite. Run after `npm run build`:  node dist/bench/edw.js [--rounds N] [--messages N] [--up-runs N] [--no-idle] [--consumer-args "--concurrency 64"]
//
//  - storage calls per processed message, `akspilot up edw` ready time, pod RSS and first receive: from
//    `akspilot up edw --messages N --exit-when-drained --json` reports (the seed: 3 calls per message);
//  - throughput of one consumer replica with zero work vs a bare receive(32)+delete loop written here,
//    same Azurite, same message count, alternating (goal ≥ 0.8×);
//  - idle polling of one replica on an empty queue once its backoff is at its maximum (the seed: 60/min).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir, cpus, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { QueueClient } from "@azure/storage-queue";
import { startAzurite, type AzuriteHandle } from "../src/process/azurite.js";
import { spawnNodeChild, stopChild } from "../src/process/child.js";
import { storageClients } from "../src/storage/clients.js";
import { buildMessage } from "../src/apps/message.js";
import type { ConsumerStats } from "../src/apps/consumer/consumer.js";
import { bareLoop } from "./floor/bare-loop.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(ROOT, "bin", "akspilot.js");
const CONSUMER = [join(ROOT, "dist", "bundle", "consumer.mjs"), join(ROOT, "dist", "src", "apps", "consumer", "main.js")].find((p) => existsSync(p))!;
/** As the local runtime starts pods (see src/local/edw/runtime.ts). */
const POD_NODE_ARGS = ["--max-semi-space-size=1"];
const POD_REQUEST_BYTES = 64 * 2 ** 20;

const { values: flags } = parseArgs({
  options: {
    rounds: { type: "string", default: "2" },
    messages: { type: "string", default: "2000" },
    "up-runs": { type: "string", default: "3" },
    "no-idle": { type: "boolean", default: false },
    "idle-window-s": { type: "string", default: "90" },
    /** Extra consumer flags for the throughput runs, e.g. "--concurrency 64" (default: the consumer's defaults). */
    "consumer-args": { type: "string", default: "" },
  },
});
const ROUNDS = Number(flags.rounds);
const N = Number(flags.messages);
const UP_RUNS = Number(flags["up-runs"]);
const IDLE_WINDOW_S = Number(flags["idle-window-s"]);
const CONSUMER_ARGS = (flags["consumer-args"] ?? "").split(" ").filter(Boolean);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Consumer {
  child: ChildProcess;
  spawnedAt: number;
  stats(): Promise<ConsumerStats>;
}

async function startConsumer(connectionString: string, env: Record<string, string>, args: string[] = []): Promise<Consumer> {
  const spawnedAt = Date.now();
  const child = spawnNodeChild(CONSUMER, args, {
    env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: connectionString, ...env },
    stdio: ["ignore", "ignore", "pipe"],
    nodeArgs: POD_NODE_ARGS,
  });
  child.stderr?.resume();
  const port = await new Promise<number>((resolve, reject) => {
    child.on("message", (m: { type?: string; healthPort?: number }) => {
      if (m?.type === "ready" && typeof m.healthPort === "number") resolve(m.healthPort);
    });
    child.once("exit", (code) => reject(new Error(`consumer exited (${code}) before it was ready`)));
  });
  return {
    child,
    spawnedAt,
    async stats() {
      return (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as ConsumerStats;
    },
  };
}

async function fill(q: QueueClient, n: number): Promise<void> {
  let next = 1;
  const worker = async () => {
    while (next <= n) await q.sendMessage(buildMessage(next++));
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/** One consumer replica, zero work: time from its first receive to the last message processed. */
async function oursOnce(cs: string, env: Record<string, string>): Promise<{ seconds: number; handled: number; calls: number; maxRss: number; firstReceiveMs: number }> {
  const c = await startConsumer(cs, env, CONSUMER_ARGS);
  let maxRss = 0;
  try {
    for (;;) {
      const s = await c.stats();
      maxRss = Math.max(maxRss, s.rssBytes);
      if (s.processed >= N) {
        const done = Date.now();
        return { seconds: (done - s.firstReceiveAt!) / 1000, handled: s.processed, calls: s.storageCalls, maxRss, firstReceiveMs: s.firstReceiveAt! - c.spawnedAt };
      }
      await sleep(20);
    }
  } finally {
    await stopChild(c.child, "SIGTERM", 5000);
  }
}

async function idlePolling(cs: string): Promise<{ callsPerMinute: number; windowSeconds: number; maxRss: number }> {
  // Its own queue and table: the throughput runs meanwhile do not touch it.
  const c = await startConsumer(cs, { AZURE_QUEUE_NAME: "benchidle", AZURE_TABLE_NAME: "benchidle" });
  try {
    // Backoff 250 ms doubling to 30 s: at its maximum after about 62 s of empty receives.
    await sleep(70_000);
    const a = await c.stats();
    const t1 = Date.now();
    await sleep(IDLE_WINDOW_S * 1000);
    const b = await c.stats();
    const minutes = (Date.now() - t1) / 60_000;
    return { callsPerMinute: (b.storageCalls - a.storageCalls) / minutes, windowSeconds: Math.round(minutes * 60), maxRss: Math.max(a.rssBytes, b.rssBytes) };
  } finally {
    await stopChild(c.child, "SIGTERM", 5000);
  }
}

interface UpReport {
  sent: number;
  processed: number;
  lost: number;
  duplicates: number;
  drainSeconds: number;
  readySeconds: number;
  storageCallsPerMessage: number;
  maxConsumerRssMiB: number;
  maxPodFirstReceiveMs: number;
}

async function upRun(replicas: number): Promise<UpReport> {
  const cwd = mkdtempSync(join(tmpdir(), "akspilot-bench-"));
  try {
    const env = { ...process.env };
    delete env.AZURE_STORAGE_CONNECTION_STRING;
    delete env.AZURE_STORAGE_ACCOUNT_NAME;
    const child = spawn(process.execPath, [BIN, "up", "edw", "--messages", String(N), "--replicas", String(replicas), "--exit-when-drained", "--json", "--quiet"], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    if (code !== 0) throw new Error(`akspilot up edw exited ${code}`);
    const lines = out.trim().split("\n");
    return JSON.parse(lines[lines.length - 1]!) as UpReport;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

const range = (xs: number[], digits = 2) => {
  const f = (x: number) => x.toFixed(digits);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? f(lo) : `${f(lo)}–${f(hi)}`;
};

async function main(): Promise<void> {
  log(`EDW benchmark: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; ${N} messages, ${ROUNDS} rounds`);
  let azurite: AzuriteHandle | undefined;
  try {
    azurite = await startAzurite();
    const cs = azurite.connectionString;
    const idle = flags["no-idle"] ? undefined : idlePolling(cs);

    const clients = storageClients({ kind: "connection-string", connectionString: cs, origin: "env" });
    const env = { AZURE_QUEUE_NAME: "benchtput", AZURE_TABLE_NAME: "benchtput" };
    const q = clients.queue(env.AZURE_QUEUE_NAME);
    await q.createIfNotExists();
    await clients.queue(`${env.AZURE_QUEUE_NAME}-poison`).createIfNotExists();
    await clients.table(env.AZURE_TABLE_NAME).createTable();

    const bare: number[] = [];
    const ours: number[] = [];
    const ratios: number[] = [];
    const oursCalls: number[] = [];
    const rss: number[] = [];
    const firstReceive: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate which goes first, so neither always meets a warmer Azurite.
      const order = round % 2 === 1 ? (["bare", "ours"] as const) : (["ours", "bare"] as const);
      let b = 0;
      let o = 0;
      for (const which of order) {
        await q.clearMessages();
        await fill(q, N);
        if (which === "bare") {
          const r = await bareLoop(q);
          b = r.handled / r.seconds;
          bare.push(b);
          log(`round ${round} bare: ${r.handled} in ${r.seconds.toFixed(2)} s = ${b.toFixed(0)} msg/s`);
        } else {
          const r = await oursOnce(cs, env);
          o = r.handled / r.seconds;
          ours.push(o);
          oursCalls.push(r.calls / r.handled);
          rss.push(r.maxRss);
          firstReceive.push(r.firstReceiveMs);
          log(
            `round ${round} ours: ${r.handled} in ${r.seconds.toFixed(2)} s = ${o.toFixed(0)} msg/s, ${(r.calls / r.handled).toFixed(3)} calls/msg, rss ${(r.maxRss / 2 ** 20).toFixed(1)} MiB`,
          );
        }
      }
      ratios.push(o / b);
    }

    const ups: UpReport[] = [];
    for (let i = 0; i < UP_RUNS; i++) {
      const r = await upRun(2);
      ups.push(r);
      log(
        `up edw run ${i + 1}: ready ${r.readySeconds} s, drain ${r.drainSeconds} s, ${r.storageCallsPerMessage} calls/msg, rss ${r.maxConsumerRssMiB} MiB, first receive ${r.maxPodFirstReceiveMs} ms, lost ${r.lost}, duplicates ${r.duplicates}`,
      );
    }
    const idleResult = idle ? await idle : undefined;
    if (idleResult) log(`idle: ${idleResult.callsPerMinute.toFixed(2)} calls/min over ${idleResult.windowSeconds} s`);

    const summary = {
      machine: { cores: cpus().length, model: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      messages: N,
      rounds: ROUNDS,
      consumerArgs: CONSUMER_ARGS,
      throughput: { bareMsgsPerSec: bare, oursMsgsPerSec: ours, ratio: ratios, goal: 0.8 },
      storageCallsPerMessage: { upReport: ups.map((u) => u.storageCallsPerMessage), singleReplicaRun: oursCalls, seed: 3, goal: 1.1 },
      idleCallsPerMinute: idleResult ? { value: idleResult.callsPerMinute, windowSeconds: idleResult.windowSeconds, seed: 60, goal: 2 } : "skipped (--no-idle)",
      consumerRssMiB: { singleReplicaRun: rss.map((r) => r / 2 ** 20), upReport: ups.map((u) => u.maxConsumerRssMiB), podRequestMiB: POD_REQUEST_BYTES / 2 ** 20 },
      firstReceiveAfterSpawnMs: { singleReplicaRun: firstReceive, upReport: ups.map((u) => u.maxPodFirstReceiveMs), goal: 300 },
      upReadySeconds: { value: ups.map((u) => u.readySeconds), goal: 3 },
      upDrainSeconds: ups.map((u) => u.drainSeconds),
      upLostDuplicates: ups.map((u) => [u.lost, u.duplicates]),
    };
    process.stdout.write(JSON.stringify(summary) + "\n\n");
    const rows: [string, string, string, string][] = [
      [
        "storage calls per processed message (up edw, 2 replicas)",
        range(
          ups.map((u) => u.storageCallsPerMessage),
          3,
        ),
        "≤ 1.1",
        "3",
      ],
      ["storage calls per message (1 replica, zero work)", range(oursCalls, 3), "≤ 1.1", "3"],
      ["idle calls per minute per replica", idleResult ? idleResult.callsPerMinute.toFixed(2) : "skipped", "≤ 2", "60"],
      [`throughput, bare receive(32)+delete loop (msg/s)`, range(bare, 0), "", ""],
      [`throughput, one replica, zero work (msg/s)`, range(ours, 0), "", "≤ 1"],
      ["throughput ratio ours / bare", range(ratios, 2), "≥ 0.8", ""],
      [
        "consumer max RSS, MiB (1 replica run)",
        range(
          rss.map((r) => r / 2 ** 20),
          1,
        ),
        "≤ 64",
        "",
      ],
      [
        "consumer max RSS, MiB (up edw)",
        range(
          ups.map((u) => u.maxConsumerRssMiB),
          1,
        ),
        "≤ 64",
        "",
      ],
      ["first receive after spawn, ms (1 replica run)", range(firstReceive, 0), "≤ 300", ""],
      [
        "first receive after spawn, ms (up edw, worst pod)",
        range(
          ups.map((u) => u.maxPodFirstReceiveMs),
          0,
        ),
        "≤ 300",
        "",
      ],
      [
        "`akspilot up edw` ready, s",
        range(
          ups.map((u) => u.readySeconds),
          2,
        ),
        "≤ 3",
        "",
      ],
    ];
    const table = ["| measure | result (range over runs) | goal | seed |", "| --- | --- | --- | --- |", ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
    process.stdout.write(table + "\n");
  } finally {
    await azurite?.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench/edw: ${(e as Error).message}\n`);
    process.exit(1);
  },
);

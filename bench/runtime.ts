// Live runtime benchmark for issue 3, item 5: `--policy predictive` against the seed's KEDA ScaledObject
// on the same workloads, side by side in one run, alternating policies. Every run is a real
// `akspilot up edw` (embedded Azurite, consumer pods as child processes, the autoscaler and Karpenter-style
// provisioner) in its own temporary directory, stopped with SIGINT at a fixed horizon that is the same
// for both policies, so pod-seconds and node-seconds cover the same span.
//
// Run after `npm run build`:  node dist/bench/runtime.js [--runs 2] [--time-scale 20] [--workloads idle,recurring] [--json-only]
//
// Scaling of the simulator's workloads (bench/sim.ts) onto the live runtime: controller timings run
// `--time-scale` times faster, and message counts are divided by the same factor while pods keep the
// simulator's `--work-ms 400 --concurrency 4` (10 msg/s per pod, wall clock). A message then stands for
// `time-scale` simulated messages, so arrival rates over per-pod throughput, and backlog in pod-seconds of
// work, match the simulator's in cluster time; only the queue-length thresholds (target 5, activation 20)
// and the predictive policy's assumed 5 msg/s before a measurement are absolute and so do not scale.
//
//  - "burst after idle": nothing for 300 cluster-s, then 100 msg/s for 60 cluster-s (sim: 6,000 messages;
//    here 100 msg/s wall for 60/scale s), horizon +600 cluster-s. The runtime's own producer cannot wait,
//    so `up` runs with `--rate 0 --burst 0` and `akspilot produce` sends in the same directory.
//  - "recurring bursts": 1 msg/s plus a burst worth 3,000 simulated messages every 300 cluster-s, three
//    times (the runtime's producer: `--messages N --rate 1 --burst B --burst-every 300/scale`), then
//    nothing; horizon +600 cluster-s after the last period.
//
// Figures come from storage itself (the table's rows: srcStamp and end-to-end latency per message; the
// queue; the poison queue) read at the horizon, before the runtime stops; pod-seconds and node-seconds from
// the run's JSON report; replicas and nodes over time from the control API (GET /v1/status every 250 ms).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { QueueClient } from "@azure/storage-queue";
import { TableClient } from "@azure/data-tables";
import { auditRun, type AuditResult } from "../src/local/edw/audit.js";
import { EDW_DEFAULTS } from "../src/blueprints/edw.js";
import { poisonQueueName } from "../src/storage/names.js";
import { messageIndex, parseStamp } from "../src/apps/message.js";
import { percentile } from "../src/util/time.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(ROOT, "bin", "akspilot.js");

const { values: flags } = parseArgs({
  options: {
    runs: { type: "string", default: "2" },
    "time-scale": { type: "string", default: "20" },
    workloads: { type: "string", default: "idle,recurring" },
    "node-startup-seconds": { type: "string", default: "60" },
    "json-only": { type: "boolean", default: false },
  },
});
const RUNS = Number(flags.runs);
const TS = Number(flags["time-scale"]);
const NODE_STARTUP = Number(flags["node-startup-seconds"]);
const WORKLOADS = (flags.workloads ?? "").split(",").filter(Boolean) as WorkloadName[];
const POD_ARGS = ["--work-ms", "400", "--concurrency", "4"];
const PER_POD_MSGS = 10; // 4 × 1000 / 400, wall clock

type Policy = "keda" | "predictive";
type WorkloadName = "idle" | "recurring";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => {
  if (!flags["json-only"]) process.stderr.write(`${line}\n`);
};

/** The child environment: embedded storage, default names, no identity: nothing inherited steers the run. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ["AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_QUEUE_NAME", "AZURE_TABLE_NAME", "AKSPILOT_LOCAL_IDENTITY", "AKSPILOT_LOCAL_ROOT"])
    delete env[k];
  return env;
}

interface Workload {
  name: WorkloadName;
  label: string;
  /** Extra `up` flags (the runtime's own producer). */
  upArgs: string[];
  /** Wall seconds from the runtime's start to the fixed horizon. */
  horizonSeconds: number;
  /** Each burst's messages, by COUNT index (inclusive): the producer numbers messages in the order they are due. */
  bursts: [number, number][];
  /** Burst after idle: `akspilot produce` in the run's directory after this many wall seconds. */
  external?: { afterSeconds: number; count: number; rate: number };
  /** Messages the workload sends in all. */
  messages: number;
}

function workload(name: WorkloadName): Workload {
  if (name === "idle") {
    const rate = 100; // msg/s wall = 10 pods' worth, as the simulator's 100 msg/s at 10 msg/s per pod
    const seconds = 60 / TS;
    const count = Math.round(rate * seconds);
    return {
      name,
      label: `burst after idle: 0 for 300 cluster-s, then ${rate} msg/s for 60 cluster-s (${count} messages), horizon +600 cluster-s`,
      upArgs: ["--rate", "0", "--burst", "0"],
      horizonSeconds: (300 + 60 + 600) / TS,
      bursts: [[1, count]],
      external: { afterSeconds: 300 / TS, count, rate },
      messages: count,
    };
  }
  const every = 300 / TS;
  const burst = Math.round(3000 / TS);
  const periods = 3;
  // Messages due by the end of the third period: 1 msg/s (index 1 at t = 0) plus three bursts.
  const messages = Math.floor(periods * every) + periods * burst;
  return {
    name,
    label: `recurring bursts: 1 msg/s + ${burst} messages (3,000 simulated) every 300 cluster-s, ${periods} periods (${messages} messages), horizon +600 cluster-s`,
    upArgs: ["--messages", String(messages), "--rate", "1", "--burst", String(burst), "--burst-every", String(every)],
    horizonSeconds: (periods * 300 + 600) / TS,
    // At t = k·every the steady message and the burst fall due together: indices k(every+burst)+1 … +burst+1.
    bursts: Array.from({ length: periods }, (_, k) => [k * (every + burst) + 1, k * (every + burst) + burst + 1] as [number, number]),
    messages,
  };
}

interface Sample {
  t: number;
  queueDepth: number | null;
  desired: number;
  running: number;
  ready: number;
  poolNodes: number;
  readyPoolNodes: number;
}

interface StatusBody {
  queueDepth: number | null;
  deployments: { desired: number; current: number; ready: number }[];
  nodes: { phase: string; pool: string | null }[];
}

interface UpReport {
  sent: number;
  processed: number;
  lost: number;
  duplicates: number;
  inQueue: number;
  drained: boolean;
  stuck?: string;
  podSeconds: number;
  nodeSeconds: number;
  maxReplicas: number;
  maxNodes: number;
  p95LatencyMs: number;
}

export interface RunResult {
  workload: WorkloadName;
  policy: Policy;
  round: number;
  sent: number;
  stored: number;
  lost: number;
  duplicates: number;
  poisoned: number;
  /** Messages still in the queue at the horizon (KEDA's residue: ≤ activationQueueLength at 0 replicas). */
  residue: number;
  /** First message sent → last sent message stored, wall s; null: not every message was stored by the horizon. */
  drainSeconds: number | null;
  /** First message sent → last stored message stored, wall s (the drain, residue excepted). */
  storedExceptResidueSeconds: number;
  /** Per burst: burst start → every message of the burst stored, wall s (null: some never stored). */
  burstDrainSeconds: (number | null)[];
  p50LatencyMs: number;
  p95LatencyMs: number;
  /** p95 with each residue message counted as waiting until the horizon (a lower bound for it). */
  p95WithResidueMs: number;
  /** Σ waiting time of every sent message (residue: until the horizon), message-seconds, wall. */
  waitMessageSeconds: number;
  podSeconds: number;
  /** All nodes, as the report counts them (the system node included). */
  nodeSeconds: number;
  /** Pool nodes only (sampled every 250 ms from the control API): what Karpenter launched and kept. */
  poolNodeSeconds: number;
  maxReplicas: number;
  maxPoolNodes: number;
  /** Wall s from the first message to the first replica above the one at send time. */
  firstScaleUpSeconds: number | null;
  wallSeconds: number;
  timeline: Sample[];
  report: UpReport;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Kills what this benchmark started, as a last resort: the `up` process's group (it, Azurite, its pods). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    /* gone */
  }
}

async function readRuntimeFile(cwd: string, child: ChildProcess, deadlineMs: number): Promise<{ controlUrl: string; token: string; storage?: { connectionString: string } }> {
  const path = join(cwd, ".akspilot", "runtime.json");
  const end = performance.now() + deadlineMs;
  while (performance.now() < end) {
    if (child.exitCode !== null) throw new Error(`akspilot up exited (${child.exitCode}) before it was ready`);
    if (existsSync(path)) {
      try {
        return JSON.parse(readFileSync(path, "utf8")) as { controlUrl: string; token: string; storage?: { connectionString: string } };
      } catch {
        /* being written */
      }
    }
    await sleep(50);
  }
  throw new Error("akspilot up did not write .akspilot/runtime.json within 90 s");
}

interface Row {
  index: number;
  srcMicros: number;
  storedMicros: number;
}

async function readRows(table: TableClient): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const e of table.listEntities<{ data?: string; srcStamp?: string; latencyMs?: number }>()) {
    const index = typeof e.data === "string" ? messageIndex(e.data) : undefined;
    const src = typeof e.srcStamp === "string" ? parseStamp(e.srcStamp) : undefined;
    if (index === undefined || src === undefined || typeof e.latencyMs !== "number") continue;
    rows.push({ index, srcMicros: src, storedMicros: src + e.latencyMs * 1000 });
  }
  return rows;
}

function runProduce(cwd: string, count: number, rate: number): Promise<{ sent: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "produce", "--count", String(count), "--rate", String(rate), "--json"], {
      cwd,
      env: childEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.once("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0) return reject(new Error(`akspilot produce exited ${code}: ${err.trim().slice(0, 500)}`));
      try {
        resolve(JSON.parse(line) as { sent: number });
      } catch {
        reject(new Error(`akspilot produce printed no JSON report: ${out.slice(0, 200)}`));
      }
    });
  });
}

async function oneRun(w: Workload, policy: Policy, round: number): Promise<RunResult> {
  const cwd = mkdtempSync(join(tmpdir(), `akspilot-bench-${w.name}-${policy}-`));
  const args = [BIN, "up", "edw", "--json", "--quiet", "--policy", policy, "--time-scale", String(TS), "--node-startup-seconds", String(NODE_STARTUP), ...POD_ARGS, ...w.upArgs];
  const wall0 = performance.now();
  // Its own process group, so that a failed run can still be cleaned up completely.
  const child = spawn(process.execPath, args, { cwd, env: childEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  let stopSampling = false;
  try {
    const rtFile = await readRuntimeFile(cwd, child, 90_000);
    const t0 = performance.now();
    const cs = rtFile.storage?.connectionString;
    if (!cs) throw new Error("the runtime file names no embedded storage");
    const timeline: Sample[] = [];
    const sampling = (async () => {
      while (!stopSampling) {
        const at = performance.now();
        try {
          const r = await fetch(`${rtFile.controlUrl}/v1/status`, { headers: { authorization: `Bearer ${rtFile.token}` } });
          const s = (await r.json()) as StatusBody;
          const d = s.deployments[0];
          const pool = s.nodes.filter((n) => n.pool !== null);
          timeline.push({
            t: (at - t0) / 1000,
            queueDepth: s.queueDepth,
            desired: d?.desired ?? 0,
            running: d?.current ?? 0,
            ready: d?.ready ?? 0,
            poolNodes: pool.length,
            readyPoolNodes: pool.filter((n) => n.phase === "Ready").length,
          });
        } catch {
          /* a missed sample */
        }
        await sleep(Math.max(0, 250 - (performance.now() - at)));
      }
    })();

    let sent = w.messages;
    if (w.external) {
      await sleep(w.external.afterSeconds * 1000);
      sent = (await runProduce(cwd, w.external.count, w.external.rate)).sent;
    }
    await sleep(Math.max(0, w.horizonSeconds * 1000 - (performance.now() - t0)));
    const horizonMicros = Math.round((performance.timeOrigin + performance.now()) * 1000);
    stopSampling = true;
    await sampling;

    // Storage at the horizon, before the runtime stops.
    const queueName = EDW_DEFAULTS.queueName;
    const table = TableClient.fromConnectionString(cs, EDW_DEFAULTS.tableName, { allowInsecureConnection: true });
    const queue = new QueueClient(cs, queueName);
    const poison = new QueueClient(cs, poisonQueueName(queueName));
    const rows = await readRows(table);
    const audit: AuditResult = await auditRun({ sentIndexes: Array.from({ length: sent }, (_, i) => i + 1), table, queue, poisonQueue: poison });

    child.kill("SIGINT");
    if (!(await waitExit(child, 120_000))) throw new Error("akspilot up did not stop within 120 s of SIGINT");
    const report = JSON.parse(stdout.trim().split("\n").pop() ?? "") as UpReport;
    return { ...analyse(w, policy, round, sent, rows, audit, report, timeline, horizonMicros), wallSeconds: (performance.now() - wall0) / 1000 };
  } catch (e) {
    throw new Error(`${w.name}/${policy}: ${(e as Error).message}\n${stderr.trim().split("\n").slice(-10).join("\n")}`);
  } finally {
    stopSampling = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT");
      if (!(await waitExit(child, 30_000))) killGroup(child);
    }
    // Any pod or Azurite the runtime left behind would be in its group.
    killGroup(child);
    rmSync(cwd, { recursive: true, force: true });
  }
}

function analyse(
  w: Workload,
  policy: Policy,
  round: number,
  sent: number,
  rows: Row[],
  audit: AuditResult,
  report: UpReport,
  timeline: Sample[],
  horizonMicros: number,
): Omit<RunResult, "wallSeconds"> {
  const firstSrc = Math.min(...rows.map((r) => r.srcMicros));
  const lastStored = Math.max(...rows.map((r) => r.storedMicros));
  const storedIdx = new Set(rows.map((r) => r.index));
  const allStored = audit.stored === sent && audit.inQueue === 0 && audit.poisoned === 0;
  const latencies = rows.map((r) => (r.storedMicros - r.srcMicros) / 1000).sort((a, b) => a - b);
  // Residue: messages sent but not stored. Their creation times are not in the table; they are the last
  // ones sent (the producer's tail), so they count as created at the latest stored srcStamp: a lower bound.
  const residue = sent - storedIdx.size;
  const lastSrc = Math.max(...rows.map((r) => r.srcMicros));
  const residueWaitMs = Math.max(0, (horizonMicros - lastSrc) / 1000);
  const withResidue = [...latencies, ...Array.from({ length: residue }, () => residueWaitMs)].sort((a, b) => a - b);
  // Bursts: from the first of a burst's messages sent to the last of them stored (null: some never stored).
  const byIndex = new Map(rows.map((r) => [r.index, r]));
  const burstDrainSeconds = w.bursts.map(([from, to]) => {
    const members = [...byIndex.values()].filter((r) => r.index >= from && r.index <= to);
    if (members.length < to - from + 1) return null;
    return round2((Math.max(...members.map((r) => r.storedMicros)) - Math.min(...members.map((r) => r.srcMicros))) / 1e6);
  });
  // Pool node-seconds and the first scale-up, from the control API's samples.
  let poolNodeSeconds = 0;
  for (let i = 1; i < timeline.length; i++) poolNodeSeconds += timeline[i - 1]!.poolNodes * (timeline[i]!.t - timeline[i - 1]!.t);
  const sendT = timeline.length > 0 ? timeline[0]!.t + (w.external?.afterSeconds ?? 0) : 0;
  const before = timeline.filter((s) => s.t <= sendT).pop()?.desired ?? 0;
  const up = timeline.find((s) => s.t > sendT && s.desired > before);
  return {
    workload: w.name,
    policy,
    round,
    sent,
    stored: audit.stored,
    lost: audit.lost,
    duplicates: audit.duplicates,
    poisoned: audit.poisoned,
    residue: audit.inQueue,
    drainSeconds: allStored ? round2((lastStored - firstSrc) / 1e6) : null,
    storedExceptResidueSeconds: round2((lastStored - firstSrc) / 1e6),
    burstDrainSeconds,
    p50LatencyMs: Math.round(percentile(latencies, 50)),
    p95LatencyMs: Math.round(percentile(latencies, 95)),
    p95WithResidueMs: Math.round(percentile(withResidue, 95)),
    waitMessageSeconds: Math.round(withResidue.reduce((a, b) => a + b, 0) / 1000),
    podSeconds: report.podSeconds,
    nodeSeconds: report.nodeSeconds,
    poolNodeSeconds: Math.round(poolNodeSeconds),
    maxReplicas: Math.max(report.maxReplicas, ...timeline.map((s) => s.running)),
    maxPoolNodes: Math.max(0, ...timeline.map((s) => s.poolNodes)),
    firstScaleUpSeconds: up ? round2(up.t - sendT) : null,
    timeline: changes(timeline),
    report,
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The timeline at its changes only (queue depth bucketed to 10 so noise does not bloat it). */
function changes(samples: Sample[]): Sample[] {
  const key = (s: Sample) => `${s.queueDepth === null ? "?" : Math.ceil(s.queueDepth / 10)}|${s.desired}|${s.running}|${s.ready}|${s.poolNodes}|${s.readyPoolNodes}`;
  return samples.filter((s, i) => i === 0 || key(s) !== key(samples[i - 1]!)).map((s) => ({ ...s, t: round2(s.t) }));
}

// ---- summary ----------------------------------------------------------------------------------------

interface Range {
  min: number;
  max: number;
}

function range(xs: number[]): Range | null {
  return xs.length === 0 ? null : { min: round2(Math.min(...xs)), max: round2(Math.max(...xs)) };
}
const fmtRange = (r: Range | null, digits = 2, suffix = "") =>
  r === null ? "n/a" : r.min === r.max ? `${r.min.toFixed(digits)}${suffix}` : `${r.min.toFixed(digits)}–${r.max.toFixed(digits)}${suffix}`;
const fmtNum = (xs: (number | null)[], digits = 0) => xs.map((x) => (x === null ? "never" : x.toFixed(digits))).join(", ");

interface Comparison {
  workload: WorkloadName;
  label: string;
  /** keda ÷ predictive (higher: predictive faster). Per round; null when keda never drained. */
  drainRatio: (number | null)[];
  /** keda ÷ predictive, time to the last stored message, residue excepted. */
  storedExceptResidueRatio: number[];
  /** keda ÷ predictive, mean per-burst drain (bursts that drained in both). */
  burstDrainRatio: number[];
  p95Ratio: number[];
  p95WithResidueRatio: number[];
  /** predictive ÷ keda (≤ 1: predictive uses no more). */
  podSecondsRatio: number[];
  nodeSecondsRatio: number[];
  poolNodeSecondsRatio: number[];
  criteria: { drain2x: string; lowerP95: string; noMorePodSeconds: string };
}

function compare(w: Workload, results: RunResult[]): Comparison {
  const rounds = [...new Set(results.map((r) => r.round))].sort();
  const pairs = rounds
    .map((round) => ({
      k: results.find((r) => r.round === round && r.policy === "keda")!,
      p: results.find((r) => r.round === round && r.policy === "predictive")!,
    }))
    .filter((x) => x.k && x.p);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const burstRatio = (k: RunResult, p: RunResult) => {
    const both = k.burstDrainSeconds.map((b, i) => [b, p.burstDrainSeconds[i]] as const).filter(([a, b]) => a !== null && b !== null && b !== undefined) as [number, number][];
    return both.length ? round2(mean(both.map(([a]) => a)) / mean(both.map(([, b]) => b))) : NaN;
  };
  const drainRatio = pairs.map(({ k, p }) => (k.drainSeconds === null || p.drainSeconds === null ? null : round2(k.drainSeconds / p.drainSeconds)));
  const storedExceptResidueRatio = pairs.map(({ k, p }) => round2(k.storedExceptResidueSeconds / p.storedExceptResidueSeconds));
  const burstDrainRatio = pairs.map(({ k, p }) => burstRatio(k, p));
  const p95Ratio = pairs.map(({ k, p }) => round2(k.p95LatencyMs / p.p95LatencyMs));
  const p95WithResidueRatio = pairs.map(({ k, p }) => round2(k.p95WithResidueMs / p.p95WithResidueMs));
  const podSecondsRatio = pairs.map(({ k, p }) => round2(p.podSeconds / k.podSeconds));
  const nodeSecondsRatio = pairs.map(({ k, p }) => round2(p.nodeSeconds / k.nodeSeconds));
  const poolNodeSecondsRatio = pairs.map(({ k, p }) => round2(p.poolNodeSeconds / k.poolNodeSeconds));
  // The drain criterion uses the workload's drain: the single burst's, or the mean per-burst drain.
  const drainMetric =
    w.name === "idle" ? pairs.map(({ k, p }) => (p.drainSeconds === null ? 0 : k.drainSeconds === null ? Infinity : k.drainSeconds / p.drainSeconds)) : burstDrainRatio;
  const verdict = (ok: boolean[], what: string) =>
    ok.every(Boolean) ? `met in ${ok.length}/${ok.length} rounds` : ok.some(Boolean) ? `met in ${ok.filter(Boolean).length}/${ok.length} rounds (${what})` : `not met (${what})`;
  return {
    workload: w.name,
    label: w.label,
    drainRatio,
    storedExceptResidueRatio,
    burstDrainRatio,
    p95Ratio,
    p95WithResidueRatio,
    podSecondsRatio,
    nodeSecondsRatio,
    poolNodeSecondsRatio,
    criteria: {
      drain2x: verdict(
        drainMetric.map((r) => r >= 2),
        "needs ≥ 2×",
      ),
      lowerP95: verdict(
        p95Ratio.map((r) => r > 1),
        "needs keda/predictive > 1",
      ),
      noMorePodSeconds: verdict(
        podSecondsRatio.map((r) => r <= 1),
        "needs predictive/keda ≤ 1",
      ),
    },
  };
}

function markdown(results: RunResult[], comparisons: Comparison[]): string {
  const out: string[] = [];
  for (const c of comparisons) {
    const rs = results.filter((r) => r.workload === c.workload);
    out.push(`**${c.label}**`, "");
    out.push(
      "| policy | drain s (wall) | stored except residue s | per-burst drain s | residue | p50 ms | p95 ms | pod-s | node-s (all) | pool node-s | max pods | max pool nodes | lost | dup |",
    );
    out.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const policy of ["keda", "predictive"] as const) {
      const p = rs.filter((r) => r.policy === policy);
      const drains = p.map((r) => r.drainSeconds);
      const col = (f: (r: RunResult) => number) => fmtRange(range(p.map(f)), 0);
      out.push(
        `| ${policy} | ${fmtNum(drains, 2)} | ${fmtRange(range(p.map((r) => r.storedExceptResidueSeconds)))} | ${p.map((r) => `[${fmtNum(r.burstDrainSeconds, 1)}]`).join(" ")} | ${col((r) => r.residue)} | ${col((r) => r.p50LatencyMs)} | ${col((r) => r.p95LatencyMs)} | ${col((r) => r.podSeconds)} | ${col((r) => r.nodeSeconds)} | ${col((r) => r.poolNodeSeconds)} | ${col((r) => r.maxReplicas)} | ${col((r) => r.maxPoolNodes)} | ${col((r) => r.lost)} | ${col((r) => r.duplicates)} |`,
      );
    }
    const nums = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null && Number.isFinite(x));
    const drainText = c.drainRatio.some((x) => x === null) ? `${fmtNum(c.drainRatio, 2)} (never: keda left residue)` : fmtRange(range(nums(c.drainRatio)), 2, "×");
    out.push("");
    out.push(
      `keda ÷ predictive: drain ${drainText}; stored-except-residue ${fmtRange(range(c.storedExceptResidueRatio), 2, "×")}; mean per-burst drain ${fmtRange(range(nums(c.burstDrainRatio)), 2, "×")}; p95 ${fmtRange(range(c.p95Ratio), 2, "×")} (residue counted to the horizon: ${fmtRange(range(c.p95WithResidueRatio), 2, "×")}). predictive ÷ keda: pod-seconds ${fmtRange(range(c.podSecondsRatio))}, node-seconds ${fmtRange(range(c.nodeSecondsRatio))} (pool nodes only: ${fmtRange(range(c.poolNodeSecondsRatio))}).`,
    );
    out.push(`Criteria: drain ≥ 2× ${c.criteria.drain2x}; lower p95 ${c.criteria.lowerP95}; no more pod-seconds ${c.criteria.noMorePodSeconds}.`, "");
  }
  return out.join("\n");
}

async function main(): Promise<void> {
  log(
    `node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} CPUs; time-scale ${TS}, node startup ${NODE_STARTUP} cluster-s, pods ${POD_ARGS.join(" ")} (${PER_POD_MSGS} msg/s each)`,
  );
  const results: RunResult[] = [];
  const t0 = performance.now();
  for (let round = 1; round <= RUNS; round++) {
    for (const name of WORKLOADS) {
      const w = workload(name);
      // Alternate which policy goes first, so drift on a shared machine does not favour one.
      const order: Policy[] = round % 2 === 1 ? ["keda", "predictive"] : ["predictive", "keda"];
      for (const policy of order) {
        log(`round ${round}: ${name} / ${policy} …`);
        const r = await oneRun(w, policy, round);
        log(
          `  drain ${r.drainSeconds ?? "never"} s (stored except residue ${r.storedExceptResidueSeconds} s, bursts ${fmtNum(r.burstDrainSeconds, 1)}), residue ${r.residue}, p95 ${r.p95LatencyMs} ms, pod-s ${r.podSeconds}, node-s ${r.nodeSeconds} (pool ${r.poolNodeSeconds}), max pods ${r.maxReplicas}, lost ${r.lost}, dup ${r.duplicates}; ${r.wallSeconds.toFixed(0)} s`,
        );
        results.push(r);
      }
    }
  }
  const comparisons = WORKLOADS.map((n) =>
    compare(
      workload(n),
      results.filter((r) => r.workload === n),
    ),
  );
  const summary = {
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    cpus: cpus().length,
    timeScale: TS,
    nodeStartupSeconds: NODE_STARTUP,
    podArgs: POD_ARGS.join(" "),
    benchWallSeconds: Math.round((performance.now() - t0) / 1000),
    comparisons,
    runs: results,
  };
  process.stdout.write(JSON.stringify(summary) + "\n");
  if (!flags["json-only"]) process.stdout.write("\n" + markdown(results, comparisons) + "\n");
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});

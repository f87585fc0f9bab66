// Fidelity: the same burst through the simulator and through a time-scaled live `akspilot up edw`, side by
// side: the Deployment's replica steps, peak replicas, drain time and pod-seconds (cluster seconds).
// Run after `npm run build`:  node dist/bench/fidelity.js [messages] [time-scale]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { seedNodePool, seedScaledObject } from "../src/blueprints/edw.js";
import { DEFAULT_CATALOG } from "../src/scaling/catalog.js";
import { poolSettings } from "../src/scaling/karpenter.js";
import { scalingRuleFrom } from "../src/scaling/scaledobject.js";
import { DEFAULT_TIMINGS } from "../src/scaling/timings.js";
import { simulate } from "../src/sim/engine.js";
import { BIN, run } from "./cli.js";

export interface FidelityOptions {
  messages: number;
  workMs: number;
  concurrency: number;
  timeScale: number;
}

export interface Side {
  /** The Deployment's replica changes, in order ("0→1", "1→4", …). */
  steps: string[];
  /** Highest replica count the Deployment was set to. */
  peakDesired: number;
  /** First message sent → last one handled, cluster seconds. */
  drainSeconds: number | null;
  /** Cluster seconds. */
  podSeconds: number;
}

export interface FidelityFigures {
  options: FidelityOptions;
  sim: Side;
  live: Side;
  /** Whether both made the same replica steps in the same order. */
  sameSteps: boolean;
}

const peak = (steps: string[], start: number) => Math.max(start, ...steps.map((s) => Number(s.split("→")[1])));
const stepsOf = (messages: string[]) =>
  messages
    .map((m) => /: (\d+) → (\d+):/.exec(m))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]}→${m[2]}`);

/** The simulator's side: a burst of `messages` in the first second; the seed's Deployment starts at 1 replica as live. */
export function simulatedSide(o: FidelityOptions): Side {
  const r = simulate({
    rule: scalingRuleFrom(seedScaledObject()),
    pool: poolSettings(seedNodePool(), DEFAULT_CATALOG),
    trace: {
      kind: "arrivals",
      points: [
        { t: 0, v: o.messages },
        { t: 1, v: 0 },
      ],
    },
    workMs: o.workMs,
    concurrency: o.concurrency,
    initialReplicas: 1,
    hpaPhaseSeconds: 0,
    timings: DEFAULT_TIMINGS,
  });
  // Up to the drain, as the live run stops there (the tail's scale to zero has no live counterpart).
  const until = (r.summary.drainSeconds ?? Infinity) * 1000;
  const steps = stepsOf(
    r.events.filter((e) => e.object === "deployment/aqs-app" && e.reason === "ScalingReplicaSet" && !e.message.startsWith("initial:") && e.time <= until).map((e) => e.message),
  );
  return {
    steps,
    peakDesired: peak(steps, 1),
    drainSeconds: r.summary.drainSeconds ?? null,
    podSeconds: r.summary.podSeconds,
  };
}

/** The live side: `up edw` with the same burst, time-scaled, until drained; its events polled while it runs. */
export async function liveSide(o: FidelityOptions): Promise<Side> {
  const cwd = mkdtempSync(join(tmpdir(), "akspilot-fidelity-"));
  try {
    const child = spawn(
      process.execPath,
      [
        BIN,
        "up",
        "edw",
        "--messages",
        String(o.messages),
        "--rate",
        "0",
        "--burst",
        "0",
        "--work-ms",
        String(o.workMs),
        "--concurrency",
        String(o.concurrency),
        "--time-scale",
        String(o.timeScale),
        "--hpa-phase",
        "best",
        "--exit-when-drained",
        "--json",
        "--quiet",
        "--no-dashboard",
      ],
      { cwd, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.resume();
    const exited = new Promise<void>((r) => child.on("exit", () => r()));
    let events: { object: string; reason: string; message: string }[] = [];
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      const e = await run(["events", "--json"], cwd);
      if (e.code === 0 && e.stdout.trim())
        events = e.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as (typeof events)[number]);
      await new Promise((r) => setTimeout(r, 300));
    }
    await exited;
    const report = JSON.parse(stdout.trim().split("\n").pop()!) as { drainSeconds: number; podSeconds: number; drained: boolean };
    const steps = stepsOf(events.filter((e) => e.object === "deployment/aqs-app" && e.reason === "ScalingReplicaSet").map((e) => e.message));
    return {
      steps,
      peakDesired: peak(steps, 1),
      drainSeconds: report.drained ? report.drainSeconds * o.timeScale : null,
      podSeconds: report.podSeconds * o.timeScale,
    };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

export async function fidelity(o: Partial<FidelityOptions> = {}): Promise<FidelityFigures> {
  const options: FidelityOptions = { messages: 150, workMs: 200, concurrency: 2, timeScale: 10, ...o };
  const sim = simulatedSide(options);
  const live = await liveSide(options);
  return { options, sim, live, sameSteps: sim.steps.join(",") === live.steps.join(",") };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [messages, timeScale] = process.argv.slice(2).map(Number);
  const f = await fidelity({ ...(messages ? { messages } : {}), ...(timeScale ? { timeScale } : {}) });
  process.stdout.write(`${JSON.stringify(f, null, 2)}\n`);
}

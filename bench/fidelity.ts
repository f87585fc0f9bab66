// Fidelity: the same burst through the simulator and through a time-scaled live `akspilot up edw`, side by
// side: the Deployment's replica steps, peak replicas, drain time, time back to zero replicas and pod-seconds
// (cluster seconds). Both run until KEDA has set the consumer back to zero (the seed's cooldownPeriod is 10 s,
// so the tail is short in both). The simulator runs the cluster `up edw` runs (the blueprint's static pools,
// its add-ons' DaemonSets, the consumer's tolerations) and pods that work as fast, in cluster time, as the
// live consumers: `--work-ms` is wall-clock work that `--time-scale` does not shorten, so one message takes
// workMs × timeScale cluster milliseconds live, and that is what the simulator is given. The real consumers
// (and their start, a real process spawn, also wall-clock) run slower on a loaded machine: a second simulation
// takes the per-pod rate and pod start the live run measured, so what is left between it and the live run is
// the controllers', not the machine's.
// Run after `npm run build`:  node dist/bench/fidelity.js [messages] [time-scale]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { seedNodePool, seedScaledObject } from "../src/blueprints/edw.js";
import { nodeTypesFor } from "../src/scaling/catalog.js";
import { poolSettings } from "../src/scaling/karpenter.js";
import { scalingRuleFrom } from "../src/scaling/scaledobject.js";
import { DEFAULT_TIMINGS } from "../src/scaling/timings.js";
import { simulate, type SimOptions } from "../src/sim/engine.js";
import { seedPodTolerations, seedSimCluster } from "../src/sim/inputs.js";
import { BIN } from "./cli.js";

export interface FidelityOptions {
  messages: number;
  /** The live consumer's `--work-ms`: wall-clock milliseconds per message, not shortened by the time scale. */
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
  /**
   * Time to first pod: first message sent → the first pod the scale-up added reads the queue, cluster seconds.
   * Simulated: ready pods first outnumber the replicas before the first scale-up; live: the first receive of a
   * pod started after sending began.
   */
  firstPodSeconds: number | null;
  /** First message sent → the decision back to zero replicas after the drain, cluster seconds. */
  backToZeroSeconds: number | null;
  /** Cluster seconds. */
  podSeconds: number;
  /**
   * Messages per second (cluster time) one ready pod handles while work waits: the model's rate on the
   * simulator's side, the autoscaler's measurement of the real consumers live (null if it measured none).
   */
  perPodThroughput: number | null;
  /**
   * Cluster seconds from a pod's start to its first read of the queue: the simulator's podStartSeconds; live,
   * the pods' mean real spawn → first receive (wall-clock, so × the time scale; null if none received).
   */
  podStartSeconds: number | null;
}

/** What the live run measured of its consumers, to simulate with (cluster time). */
export interface LiveRates {
  perPodThroughput: number;
  podStartSeconds: number;
}

export interface FidelityFigures {
  options: FidelityOptions;
  /** The simulator with the nominal rates: workMs × timeScale per message, the timing profile's pod start. */
  sim: Side;
  /** The simulator with the live run's measured per-pod rate and pod start (null if the live run measured none). */
  simMeasured: Side | null;
  live: Side;
  /** Whether both made the same replica steps in the same order. */
  sameSteps: boolean;
}

const peak = (steps: string[], start: number) => Math.max(start, ...steps.map((s) => Number(s.split("→")[1])));
/** A ScalingReplicaSet message that raises the replicas ("…: 1 → 4: …"). */
const isScaleUp = (message: string) => {
  const m = /: (\d+) → (\d+):/.exec(message);
  return m !== null && Number(m[2]) > Number(m[1]);
};
const stepsOf = (messages: string[]) =>
  messages
    .map((m) => /: (\d+) → (\d+):/.exec(m))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]}→${m[2]}`);

/** Cluster milliseconds one message takes live: the consumer's wall-clock work, which the time scale leaves as it is. */
export const clusterWorkMs = (o: Pick<FidelityOptions, "workMs" | "timeScale">) => o.workMs * o.timeScale;

/**
 * What the simulator is given to replay the live run: the seed's ScaledObject, its cluster (static pools,
 * add-ons, version) and the consumer's tolerations, as `loadSimInputs` gives them, Karpenter's sizes over that
 * cluster's allocatable, and the live consumers' per-message time in cluster milliseconds. A burst of
 * `messages` in the first second; the Deployment starts at 1 replica as live; the HPA's phase `best`.
 */
export function simulatorOptions(o: FidelityOptions, measured?: LiveRates): SimOptions {
  const rule = scalingRuleFrom(seedScaledObject());
  const cluster = seedSimCluster();
  return {
    rule,
    pool: poolSettings(seedNodePool(), nodeTypesFor(cluster.addOns).catalog),
    cluster,
    podTolerations: seedPodTolerations(rule.target),
    trace: {
      kind: "arrivals",
      points: [
        { t: 0, v: o.messages },
        { t: 1, v: 0 },
      ],
    },
    // Measured live: the rate of `concurrency` messages at a time that gives the measured messages/s per pod.
    workMs: measured ? (o.concurrency * 1000) / measured.perPodThroughput : clusterWorkMs(o),
    concurrency: o.concurrency,
    initialReplicas: 1,
    hpaPhaseSeconds: 0,
    timings: measured ? { ...DEFAULT_TIMINGS, podStartSeconds: measured.podStartSeconds } : DEFAULT_TIMINGS,
  };
}

/** The simulator's side of the comparison (with the live run's measured rates when given). */
export function simulatedSide(o: FidelityOptions, measured?: LiveRates): Side {
  const opts = simulatorOptions(o, measured);
  const r = simulate(opts);
  // Up to the return to zero, where the live run stops.
  const until = (r.summary.backToZeroAt ?? Infinity) * 1000;
  const steps = stepsOf(
    r.events.filter((e) => e.object === "deployment/aqs-app" && e.reason === "ScalingReplicaSet" && !e.message.startsWith("initial:") && e.time <= until).map((e) => e.message),
  );
  const up = r.events.find((e) => e.object === "deployment/aqs-app" && e.reason === "ScalingReplicaSet" && !e.message.startsWith("initial:") && isScaleUp(e.message));
  let firstPodSeconds: number | null = null;
  if (up) {
    const upAt = up.time / 1000;
    // More pods ready than the Deployment had before the step: one of the added ones reads the queue.
    const before = Number(/: (\d+) → /.exec(up.message)![1]);
    firstPodSeconds = r.timeline.find((e) => e.t >= upAt && e.ready > before)?.t ?? null;
  }
  return {
    steps,
    peakDesired: peak(steps, 1),
    firstPodSeconds,
    drainSeconds: r.summary.drainSeconds ?? null,
    backToZeroSeconds: r.summary.backToZeroAt,
    podSeconds: r.summary.podSeconds,
    perPodThroughput: (o.concurrency * 1000) / opts.workMs!,
    podStartSeconds: opts.timings?.podStartSeconds ?? DEFAULT_TIMINGS.podStartSeconds,
  };
}

/** The live side: `up edw` with the same burst, time-scaled, until drained and back to zero; its events polled while it runs. */
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
        "--exit-when-zero",
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
    // Events streamed (`events --follow`) rather than polled: the decision back to zero comes just before the
    // run stops, too late for a poll. The stream can start only once the runtime's control API is up.
    type Ev = { object: string; reason: string; message: string };
    const byKey = new Map<string, Ev>();
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      const follow = spawn(process.execPath, [BIN, "events", "--follow", "--json"], { cwd, stdio: ["ignore", "pipe", "ignore"] });
      let buf = "";
      follow.stdout.on("data", (d: Buffer) => {
        buf += d;
        const lines = buf.split("\n");
        buf = lines.pop() ?? "";
        for (const l of lines) {
          if (!l.trim()) continue;
          const e = JSON.parse(l) as Ev & { time: number };
          byKey.set(`${e.time}|${e.object}|${e.reason}|${e.message}`, e);
        }
      });
      const ended = new Promise<void>((r) => follow.on("exit", () => r()));
      await Promise.race([ended, exited]);
      if (done) {
        // The runtime closes the stream as it stops; give it a moment to deliver the last events.
        await Promise.race([ended, new Promise((r) => setTimeout(r, 2000))]);
        follow.kill();
        break;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    const events = [...byKey.values()];
    await exited;
    const report = JSON.parse(stdout.trim().split("\n").pop()!) as {
      drainSeconds: number;
      podSeconds: number;
      drained: boolean;
      backToZeroSeconds?: number | null;
      perPodThroughput?: number | null;
      meanPodFirstReceiveMs?: number;
      firstAddedPodSeconds?: number | null;
    };
    const steps = stepsOf(events.filter((e) => e.object === "deployment/aqs-app" && e.reason === "ScalingReplicaSet").map((e) => e.message));
    return {
      steps,
      peakDesired: peak(steps, 1),
      firstPodSeconds: typeof report.firstAddedPodSeconds === "number" ? report.firstAddedPodSeconds * o.timeScale : null,
      drainSeconds: report.drained ? report.drainSeconds * o.timeScale : null,
      backToZeroSeconds: typeof report.backToZeroSeconds === "number" ? report.backToZeroSeconds * o.timeScale : null,
      podSeconds: report.podSeconds * o.timeScale,
      perPodThroughput: report.perPodThroughput ?? null,
      podStartSeconds: report.meanPodFirstReceiveMs ? (report.meanPodFirstReceiveMs / 1000) * o.timeScale : null,
    };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

export async function fidelity(o: Partial<FidelityOptions> = {}): Promise<FidelityFigures> {
  const options: FidelityOptions = { messages: 150, workMs: 200, concurrency: 2, timeScale: 10, ...o };
  const sim = simulatedSide(options);
  const live = await liveSide(options);
  const simMeasured =
    live.perPodThroughput !== null && live.podStartSeconds !== null
      ? simulatedSide(options, { perPodThroughput: live.perPodThroughput, podStartSeconds: live.podStartSeconds })
      : null;
  return { options, sim, simMeasured, live, sameSteps: sim.steps.join(",") === live.steps.join(",") };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [messages, timeScale] = process.argv.slice(2).map(Number);
  const f = await fidelity({ ...(messages ? { messages } : {}), ...(timeScale ? { timeScale } : {}) });
  process.stdout.write(`${JSON.stringify(f, null, 2)}\n`);
}

import { Option, type Command } from "commander";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { UserError } from "../../errors.js";
import { clip } from "../../util/text.js";
import type { PolicyName } from "../../scaling/policy.js";
import { SIM_DEFAULTS, SIM_MAX_SECONDS } from "../../sim/engine.js";

interface SimulateFlags {
  scaledobject?: string;
  trace: string;
  policy: PolicyName;
  nodepool?: string;
  workMs?: string;
  concurrency?: string;
  initialReplicas?: string;
  nodeStartupSeconds?: string;
  podStartupSeconds?: string;
  duration?: string;
  json?: boolean;
  events?: boolean;
  report?: string;
  compare?: boolean;
  kubernetesVersion?: string;
  storageUnreachable?: string;
  timings?: string;
  hpaPhase?: string;
  seed?: string;
}

/** "100-160,400-420" → [[100, 160], [400, 420]]: spans of simulated seconds when the scaler's reads fail. */
export function parseOutages(raw: string): [number, number][] {
  return raw.split(",").map((part) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!m || Number(m[2]) <= Number(m[1]))
      throw new UserError(`--storage-unreachable: "${clip(part)}" is not a span FROM-TO of seconds with TO > FROM`, "pass e.g. --storage-unreachable 100-160,400-420");
    return [Number(m[1]), Number(m[2])];
  });
}

/** Refuses a report path that cannot be written, before any simulating, in one line. */
function checkReportPath(raw: string): string {
  const file = resolve(raw);
  const bad = (why: string) => new UserError(`--report "${clip(raw)}": ${why}`);
  if (!/\.html?$/i.test(file)) return fail(bad("must name an .html file"));
  if (existsSync(file) && statSync(file).isDirectory()) return fail(bad("is a directory"));
  const dir = dirname(file);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return fail(bad(`folder ${clip(dir)} does not exist`));
  return file;
}

function fail(e: Error): never {
  throw e;
}

function num(raw: string | undefined, flag: string, opts: { integer?: boolean; positive?: boolean } = {}): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const ok = raw.trim() !== "" && Number.isFinite(n) && (opts.positive ? n > 0 : n >= 0) && (!opts.integer || Number.isInteger(n));
  if (!ok) throw new UserError(`--${flag} must be ${opts.integer ? "a whole number" : "a number"} ${opts.positive ? "> 0" : "≥ 0"}, got "${clip(raw)}"`);
  return n;
}

/** `simulate`: the scaling policies over simulated time, no processes or storage. */
export function registerSimulateCommand(program: Command): void {
  program
    .command("simulate")
    .description("replay a queue trace through KEDA+HPA (or the predictive policy) and Karpenter in simulated time")
    .requiredOption("--trace <file>", "CSV with header t,queueLength (open loop) or t,arrivalsPerSecond (closed loop, needs --work-ms)")
    .option("--scaledobject <file>", "KEDA ScaledObject YAML (default: the seed's)")
    .addOption(new Option("--policy <name>", "replica policy").choices(["keda", "predictive"]).default("keda"))
    .option("--nodepool <file>", "Karpenter NodePool YAML (default: the seed's)")
    .option("--work-ms <ms>", "milliseconds one message takes a pod (closed loop)")
    .option("--concurrency <n>", `messages a pod works on at once (default ${SIM_DEFAULTS.concurrency})`)
    .option("--initial-replicas <n>", "replicas at t = 0 (default 0)")
    .option("--node-startup-seconds <s>", `node launch to Ready (default ${SIM_DEFAULTS.nodeStartupSeconds})`)
    .option("--pod-startup-seconds <s>", `pod bound to Ready (default ${SIM_DEFAULTS.podStartupSeconds})`)
    .option("--hpa-phase <s|best|worst|random>", "the HPA's resync phase after KEDA's poll, seconds in [0, 15) (default: random from --seed)")
    .option("--seed <n>", "seed of the random phase (default 1: a run is reproducible)")
    .option("--timings <file.yaml>", "timing profile: nodeBootSeconds, imagePullSeconds, podStartSeconds, podTerminationSeconds, vmDeleteSeconds")
    .option("--storage-unreachable <spans>", "FROM-TO[,FROM-TO…] simulated seconds when the scaler cannot reach storage (exercises fallback)")
    .option("--kubernetes-version <version>", "cluster version the HPA runs on; settings it would drop are dropped with a warning (default: the seed's cluster)")
    .option("--duration <s>", `simulated seconds, at most ${SIM_MAX_SECONDS} (default: last trace row + ${SIM_DEFAULTS.tailSeconds})`)
    .option("--json", "print one JSON object {timeline, summary} (with --events: {timeline, summary, events})")
    .option("--events", "include every scaling and node event with its reason, as the local runtime records them")
    .option("--report <file.html>", "also write one self-contained HTML file with charts of the run (opens offline)")
    .option("--compare", "run keda and predictive on the same inputs (side by side in --report; a list of both in --json); not with --policy")
    .action(async (f: SimulateFlags, cmd: Command) => {
      // --compare runs both policies: a --policy given with it would be silently ignored, so it is refused.
      if (f.compare && cmd.getOptionValueSource("policy") === "cli") {
        throw new UserError(
          `--compare runs both keda and predictive, so --policy ${clip(f.policy)} would be ignored`,
          "leave out --policy, or leave out --compare to run one policy",
        );
      }
      const reportFile = f.report !== undefined ? checkReportPath(f.report) : undefined;
      const [{ simulate }, { loadSimInputs }, { formatSimResult }] = await Promise.all([
        import("../../sim/engine.js"),
        import("../../sim/inputs.js"),
        import("../../sim/report.js"),
      ]);
      if (f.kubernetesVersion !== undefined && !/^v?1\.\d+(\.\d+)?$/.test(f.kubernetesVersion.trim()))
        throw new UserError(`--kubernetes-version must look like 1.30 or 1.34.1, got "${clip(f.kubernetesVersion)}"`);
      const { warnings, ...inputs } = loadSimInputs({
        trace: f.trace,
        ...(f.scaledobject ? { scaledObject: f.scaledobject } : {}),
        ...(f.nodepool ? { nodePool: f.nodepool } : {}),
        ...(f.kubernetesVersion ? { kubernetesVersion: f.kubernetesVersion } : {}),
      });
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      const { loadTimings } = await import("./timings.js");
      const timings = loadTimings(f.timings);
      const { parsePhaseFlag, resolveHpaPhase } = await import("../../scaling/phase.js");
      const hpaPhaseSeconds = resolveHpaPhase(parsePhaseFlag(f.hpaPhase), num(f.seed, "seed", { integer: true }) ?? 1);
      const policies: PolicyName[] = f.compare ? ["keda", "predictive"] : [f.policy];
      const results = policies.map((policy) =>
        simulate({
          ...inputs,
          policy,
          workMs: num(f.workMs, "work-ms", { positive: true }),
          concurrency: num(f.concurrency, "concurrency", { integer: true, positive: true }),
          initialReplicas: num(f.initialReplicas, "initial-replicas", { integer: true }),
          nodeStartupSeconds: num(f.nodeStartupSeconds, "node-startup-seconds"),
          podStartupSeconds: num(f.podStartupSeconds, "pod-startup-seconds"),
          durationSeconds: num(f.duration, "duration", { positive: true }),
          timings,
          hpaPhaseSeconds,
          ...(f.storageUnreachable !== undefined ? { storageUnreachable: parseOutages(f.storageUnreachable) } : {}),
        }),
      );
      if (f.json) {
        const shown = results.map(({ timeline, summary, events }) => (f.events ? { timeline, summary, events } : { timeline, summary }));
        process.stdout.write(`${JSON.stringify(f.compare ? shown : shown[0])}\n`);
      } else {
        process.stdout.write(results.map((r) => formatSimResult(r, f.events === true)).join("\n"));
      }
      if (reportFile) {
        const { simReportHtml } = await import("../../dashboard/sim-report.js");
        const runs = results.map((r) => ({ label: r.summary.policy, timeline: r.timeline, summary: r.summary, events: r.events }));
        writeFileSync(reportFile, simReportHtml({ title: `akspilot simulate: ${basename(f.trace)}`, runs }));
        process.stderr.write(`report: ${reportFile}\n`);
      }
    });
}

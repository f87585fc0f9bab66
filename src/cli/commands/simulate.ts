import { Option, type Command } from "commander";
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
    .option("--duration <s>", `simulated seconds, at most ${SIM_MAX_SECONDS} (default: last trace row + ${SIM_DEFAULTS.tailSeconds})`)
    .option("--json", "print one JSON object {timeline, summary} (with --events: {timeline, summary, events})")
    .option("--events", "include every scaling and node event with its reason, as the local runtime records them")
    .action(async (f: SimulateFlags) => {
      const [{ simulate }, { loadSimInputs }, { formatSimResult }] = await Promise.all([
        import("../../sim/engine.js"),
        import("../../sim/inputs.js"),
        import("../../sim/report.js"),
      ]);
      const inputs = loadSimInputs({ trace: f.trace, ...(f.scaledobject ? { scaledObject: f.scaledobject } : {}), ...(f.nodepool ? { nodePool: f.nodepool } : {}) });
      const result = simulate({
        ...inputs,
        policy: f.policy,
        workMs: num(f.workMs, "work-ms", { positive: true }),
        concurrency: num(f.concurrency, "concurrency", { integer: true, positive: true }),
        initialReplicas: num(f.initialReplicas, "initial-replicas", { integer: true }),
        nodeStartupSeconds: num(f.nodeStartupSeconds, "node-startup-seconds"),
        podStartupSeconds: num(f.podStartupSeconds, "pod-startup-seconds"),
        durationSeconds: num(f.duration, "duration", { positive: true }),
      });
      if (f.json) {
        const { timeline, summary, events } = result;
        process.stdout.write(`${JSON.stringify(f.events ? { timeline, summary, events } : { timeline, summary })}\n`);
      } else {
        process.stdout.write(formatSimResult(result, f.events === true));
      }
    });
}

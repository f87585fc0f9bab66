import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { readRuntimeFile, runtimeFilePath } from "../../local/runtime-file.js";
import { intOption, numberOption } from "../options.js";
import type { NodeFailureReport } from "../../local/drill/report.js";

interface DrillFlags {
  json?: boolean;
  rate: number;
  duration: number;
  requestTimeout: number;
  restoreTimeout: number;
}

function printReport(r: NodeFailureReport): void {
  const kinds = Object.entries(r.failures).map(([k, n]) => `${n} ${k}`).join(", ");
  process.stdout.write([
    `node-failure drill, gateway ${r.mode}: stopped ${r.node} (${r.replicasOnNode} replicas) under ${r.rate} req/s for ${r.durationSeconds} s`,
    `requests ${r.requests}, failed ${r.failed}${kinds ? ` (${kinds})` : ""}`,
    `latency p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms (steady p99 ${r.steadyP99Ms} ms); longest gap without an answer ${r.maxGapMs} ms`,
    r.replicasRestoredSeconds === null ? "replicas were not restored in time" : `replicas Ready again on other nodes ${r.replicasRestoredSeconds} s after the stop`,
  ].join("\n") + "\n");
}

export function registerDrillCommands(program: Command): void {
  const drill = program.command("drill").description("failure drills against the running `akspilot up`, measured from a client's side");
  drill
    .command("node-failure")
    .description("drive load at gatewayUrl, switch off the node with the most replicas, wait until they are Ready elsewhere, switch it on again; report what the client saw")
    .option("--json", "print the report as one JSON object")
    .option("--rate <req/s>", "requests per second at gatewayUrl", numberOption(0.1, 1000), 50)
    .option("--duration <s>", "run the load at least this long", numberOption(0, 3600), 0)
    .option("--request-timeout <ms>", "a request without an answer after this counts as failed (the seed's curl: 2000)", intOption(1, 600_000), 2000)
    .option("--restore-timeout <s>", "give up waiting for the replicas to be Ready elsewhere after this", numberOption(1, 3600), 300)
    .action(async (f: DrillFlags) => {
      const runtime = readRuntimeFile();
      if (!runtime) throw new UserError(`no running \`akspilot up\` found (${runtimeFilePath()})`, "start `akspilot up resilient-web` in this directory first");
      if (!runtime.gatewayUrl) throw new UserError(`the running blueprint ${runtime.blueprint} has no gateway to drill against`, "run `akspilot up resilient-web` here");
      const target = new URL(runtime.gatewayUrl);
      // The drill's load only ever goes to this machine's own gateway.
      if (!["127.0.0.1", "localhost", "[::1]"].includes(target.hostname)) throw new UserError(`gatewayUrl ${runtime.gatewayUrl} is not on loopback`, "the local drill drives load at a loopback gateway only");
      const { nodeFailureDrill } = await import("../../local/drill/node-failure.js");
      const ac = new AbortController();
      const onSignal = (sig: NodeJS.Signals) => {
        process.stderr.write(`\n${sig}: stopping the drill (the node is started again)\n`);
        ac.abort();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      try {
        const report = await nodeFailureDrill({
          runtime,
          rate: f.rate,
          durationSeconds: f.duration,
          requestTimeoutMs: f.requestTimeout,
          restoreTimeoutSeconds: f.restoreTimeout,
          signal: ac.signal,
          progress: (line) => {
            if (!f.json) process.stderr.write(`${line}\n`);
          },
        });
        if (f.json) process.stdout.write(JSON.stringify(report) + "\n");
        else printReport(report);
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}

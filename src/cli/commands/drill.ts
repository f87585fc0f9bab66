import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { readRuntimeFile, runtimeFilePath } from "../../local/runtime-file.js";
import { intOption, numberOption } from "../options.js";
import type { NodeFailureReport } from "../../local/drill/report.js";

interface DrillFlags {
  json?: boolean;
  target: string;
  cluster?: string;
  resourceGroup?: string;
  subscription?: string;
  yes?: boolean;
  url?: string;
  service?: string;
  namespace?: string;
  deployment?: string;
  nodePool?: string;
  instance?: string;
  context?: string;
  rate: number;
  duration: number;
  requestTimeout: number;
  restoreTimeout: number;
}

function printReport(r: NodeFailureReport): void {
  const kinds = Object.entries(r.failures)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
  process.stdout.write(
    [
      r.mode === "aks"
        ? `node-failure drill on AKS: powered off ${r.node} under ${r.rate} req/s for ${r.durationSeconds} s`
        : `node-failure drill, gateway ${r.mode}: stopped ${r.node} (${r.replicasOnNode} replicas) under ${r.rate} req/s for ${r.durationSeconds} s`,
      `requests ${r.requests}, failed ${r.failed}${kinds ? ` (${kinds})` : ""}`,
      `latency p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms (steady p99 ${r.steadyP99Ms} ms); longest gap without an answer ${r.maxGapMs} ms`,
      r.replicasRestoredSeconds === null
        ? r.mode === "aks"
          ? "replicas not watched or not restored in time (--deployment watches them)"
          : "replicas were not restored in time"
        : `replicas Ready again on other nodes ${r.replicasRestoredSeconds} s after the stop`,
    ].join("\n") + "\n",
  );
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
    .option("--target <local|aks>", "local: the running `akspilot up`; aks: a real cluster's VM scale set (ARM)", "local")
    .option("--cluster <name>", "aks: the AKS cluster")
    .option("--resource-group <rg>", "aks: the cluster's resource group")
    .option("--subscription <id>", "aks: Azure subscription (default: AZURE_SUBSCRIPTION_ID, else az's current one)")
    .option("--yes", "aks: really power off the instance (without it the drill names the instance and stops)")
    .option("--url <url>", "aks: the Service's public address to load (http://…)")
    .option("--service <name>", "aks: read the public address from this LoadBalancer Service (kubectl)")
    .option("--namespace <ns>", "aks: namespace of --service and --deployment", "default")
    .option("--deployment <name>", "aks: wait until this Deployment's replicas are Ready off the stopped node (kubectl)")
    .option("--node-pool <name>", "aks: the pool whose instance is stopped (default: the first User pool)")
    .option("--instance <id>", "aks: the scale-set instance id to stop (default: the pool's first)")
    .option("--context <name>", "aks: kubectl context for --service and --deployment")
    .action(async (f: DrillFlags) => {
      if (f.target === "aks") return aksDrill(f);
      if (f.target !== "local") throw new UserError(`--target must be local or aks, got "${f.target}"`, "leave it out for the running `akspilot up`");
      const runtime = readRuntimeFile();
      if (!runtime) throw new UserError(`no running \`akspilot up\` found (${runtimeFilePath()})`, "start `akspilot up resilient-web` in this directory first");
      if (!runtime.gatewayUrl) throw new UserError(`the running blueprint ${runtime.blueprint} has no gateway to drill against`, "run `akspilot up resilient-web` here");
      const target = new URL(runtime.gatewayUrl);
      // The drill's load only ever goes to this machine's own gateway.
      if (!["127.0.0.1", "localhost", "[::1]"].includes(target.hostname))
        throw new UserError(`gatewayUrl ${runtime.gatewayUrl} is not on loopback`, "the local drill drives load at a loopback gateway only");
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

/** Ctrl-C and SIGTERM end the drill through its abort signal (its `finally` starts what it stopped). */
async function withSignals<T>(fn: (signal: AbortSignal) => Promise<T>, what: string): Promise<T> {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\n${sig}: stopping the drill (${what})\n`);
    ac.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await fn(ac.signal);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

async function aksDrill(f: DrillFlags): Promise<void> {
  if (!f.cluster || !f.resourceGroup) throw new UserError("--target aks needs --cluster <name> and --resource-group <rg>", "name the AKS cluster to drill");
  const { DefaultAzureCredential } = await import("@azure/identity");
  const { cloudOf } = await import("../../provisioning/clouds.js");
  const { cliDefaultSubscription } = await import("../../provisioning/prerequisites.js");
  const { VmssClient } = await import("../../provisioning/azure/vmss.js");
  const { aksNodeFailureDrill } = await import("../../local/drill/aks-node-failure.js");
  const { systemKubectl } = await import("../../kube/kubectl.js");
  const cloud = "AzurePublicCloud";
  const subscriptionId = f.subscription ?? process.env.AZURE_SUBSCRIPTION_ID ?? cliDefaultSubscription(cloud)?.id;
  if (!subscriptionId) throw new UserError("no Azure subscription chosen", "pass --subscription <id>, set AZURE_SUBSCRIPTION_ID, or run `az account set --subscription <id>`");
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(subscriptionId)) {
    throw new UserError(`subscription "${subscriptionId}" is not a subscription id (a GUID)`, "copy it from `az account list -o table`");
  }
  const credential = new DefaultAzureCredential({ authorityHost: cloudOf(cloud).authorityHost });
  const report = await withSignals(
    (signal) =>
      aksNodeFailureDrill({
        arm: new VmssClient({ credential, subscriptionId, cloud }),
        cluster: f.cluster!,
        resourceGroup: f.resourceGroup!,
        nodePool: f.nodePool,
        instance: f.instance,
        yes: f.yes === true,
        url: f.url,
        service: f.service,
        namespace: f.namespace,
        deployment: f.deployment,
        kubectl: f.service !== undefined || f.deployment !== undefined ? systemKubectl(f.context) : undefined,
        rate: f.rate,
        durationSeconds: f.duration > 0 ? f.duration : 120,
        requestTimeoutMs: f.requestTimeout,
        restoreTimeoutSeconds: f.restoreTimeout,
        signal,
        progress: (line) => {
          if (!f.json) process.stderr.write(`${line}\n`);
        },
      }),
    "the instance is started again",
  );
  if (f.json) process.stdout.write(JSON.stringify(report) + "\n");
  else printReport(report);
}

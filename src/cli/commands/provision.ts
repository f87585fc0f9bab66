import { Option, type Command } from "commander";
import { UserError } from "../../errors.js";
import { clip } from "../../util/text.js";
import { blueprintNames, isBlueprintName } from "../../blueprints/index.js";
import { parseCloud } from "../../provisioning/clouds.js";
import type { ProvisionOptions } from "../../provisioning/engine.js";
import { getGraphDefinition, graphNames } from "../../provisioning/graphs/index.js";
import type { Provider } from "../../provisioning/provider.js";
import type { ResourceGraph } from "../../provisioning/types.js";

type Target = "azure" | "local" | "aks";

interface ProvisionFlags {
  target: Target;
  cloud?: string;
  location?: string;
  suffix?: string;
  subscription?: string;
  clientIp?: string;
  kubernetesVersion?: string;
  active?: "blue" | "green";
  exportEnv?: string;
  context?: string;
  values?: string;
  cluster?: string;
  dryRun?: boolean;
  yes?: boolean;
}

let stdoutClosed = false;
let watchingStdout = false;

/**
 * Progress lines on stdout. When the reader goes away (`akspilot deploy … | head`), the lines are dropped
 * instead of crashing mid-step: the run finishes, and the log file still has every line.
 */
export function out(line: string): void {
  if (!watchingStdout) {
    watchingStdout = true;
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
      stdoutClosed = true;
    });
  }
  if (!stdoutClosed) process.stdout.write(`${line}\n`);
}

async function providerFor(target: "azure" | "local", flags: ProvisionFlags, graph: ResourceGraph): Promise<Provider> {
  if (target === "local") {
    const { LocalProvider } = await import("../../provisioning/local/provider.js");
    return new LocalProvider({ root: process.cwd() });
  }
  // Loaded only for Azure: the ARM SDKs are large.
  const { AzureProvider } = await import("../../provisioning/azure/provider.js");
  return new AzureProvider({ cloud: graph.cloud, subscriptionId: flags.subscription });
}

function options(blueprint: string, flags: ProvisionFlags, target: "azure" | "local"): ProvisionOptions {
  if (flags.clientIp !== undefined && !/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(flags.clientIp)) {
    throw new UserError(`--client-ip "${clip(flags.clientIp)}" is not an IPv4 address or range`, "pass your public address, e.g. the output of `curl -s ifconfig.me`");
  }
  return {
    blueprint,
    target,
    cloud: flags.cloud ? parseCloud(flags.cloud) : undefined,
    location: flags.location,
    suffix: flags.suffix,
    clientIp: flags.clientIp,
    kubernetesVersion: flags.kubernetesVersion,
    active: flags.active,
    exportEnv: flags.exportEnv,
    out,
    provider: (graph) => providerFor(target, flags, graph),
  };
}

/** `--target aks` applies the Kubernetes blueprint: its values file, cloud and cluster (bluegreen) come from the flags. */
async function aks(name: string, flags: ProvisionFlags, extra: { dryRun: boolean; destroy?: boolean }): Promise<void> {
  // Loaded when used: the Kubernetes models are large.
  const { applyToAks } = await import("../../kube/apply.js");
  return applyToAks({
    // A provisioning name (airflow-infra) stands for its blueprint (airflow) here too.
    blueprint: isBlueprintName(name) ? name : getGraphDefinition(name).blueprint,
    context: flags.context,
    ...extra,
    out,
    ...(flags.values ? { valuesFile: flags.values } : {}),
    ...(flags.cloud ? { cloud: parseCloud(flags.cloud) } : {}),
    ...(flags.cluster ? { cluster: flags.cluster } : {}),
  });
}

function common(cmd: Command, verb: string): Command {
  return cmd
    .argument(
      "<blueprint>",
      `one of: ${blueprintNames().join(", ")} (or a graph's name: ${graphNames()
        .filter((n) => !isBlueprintName(n))
        .join(", ")})`,
    )
    .addOption(
      new Option("--target <target>", `where to ${verb}: azure, local (this machine), or aks (the Kubernetes workloads)`).choices(["azure", "local", "aks"]).default("local"),
    )
    .option("--cloud <cloud>", "AzurePublicCloud or AzureChinaCloud (default: the seed's)")
    .option("--location <region>", "Azure region (default: the seed's region for the cloud)")
    .option("--suffix <suffix>", "6 characters [a-z0-9] appended to names (default: random, then kept in state)")
    .option("--subscription <id>", "Azure subscription (default: AZURE_SUBSCRIPTION_ID, else az's current one)")
    .option("--client-ip <ip>", "edw: deny storage by default and allow this client address (the seed's network rule)")
    .option("--kubernetes-version <version>", "cluster version (default: the seed's or the region's default)")
    .addOption(new Option("--active <color>", "bluegreen: the cluster whose AGIC owns the Application Gateway").choices(["blue", "green"]))
    .option("--context <name>", "--target aks: kubeconfig context")
    .option("--values <file>", "--target aks: YAML values (registry, tag, storage account, workload identity client id, …), as for `akspilot manifests`")
    .option("--cluster <name>", "--target aks, bluegreen: which cluster the context points at (default: the active one)");
}

/** `plan`, `deploy`, `destroy`: provisioning (and `deploy --target aks` via the Kubernetes target). */
export function registerProvisionCommands(program: Command): void {
  common(program.command("plan").description("show what deploy would create, change or delete (reads only)"), "plan").action(async (blueprint: string, flags: ProvisionFlags) => {
    if (flags.target === "aks") return aks(blueprint, flags, { dryRun: true });
    const { plan } = await import("../../provisioning/engine.js");
    await plan(options(blueprint, flags, flags.target));
  });

  common(program.command("deploy").description("create or update a blueprint's resources, step by step; re-run to resume"), "deploy")
    .option("--export-env <file>", "also write the seed's deploy.state (KEY=value lines) to this file")
    .option("--dry-run", "--target aks: validate against the cluster without changing it")
    .action(async (blueprint: string, flags: ProvisionFlags) => {
      if (flags.target === "aks") return aks(blueprint, flags, { dryRun: !!flags.dryRun });
      const { deploy } = await import("../../provisioning/engine.js");
      await deploy(options(blueprint, flags, flags.target));
    });

  common(program.command("destroy").description("delete what akspilot created for a blueprint (never what existed before)"), "destroy")
    .option("--yes", "confirm deleting Azure resources")
    .action(async (blueprint: string, flags: ProvisionFlags) => {
      if (flags.target === "aks") return aks(blueprint, flags, { dryRun: false, destroy: true });
      if (flags.target === "azure" && !flags.yes) {
        throw new UserError(
          `destroy deletes the Azure resources akspilot created for ${blueprint}`,
          `run \`akspilot plan ${blueprint} --target azure\` to see them, then add --yes`,
        );
      }
      const { destroy } = await import("../../provisioning/engine.js");
      await destroy(options(blueprint, flags, flags.target));
    });
}

import { makeDirectory } from "../../util/secure-fs.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Option, type Command } from "commander";
import { blueprintNames, getBlueprint } from "../../blueprints/index.js";
import { UserError, errorMessage } from "../../errors.js";
import { CLOUD_NAMES, type CloudName } from "../../kube/cloud.js";

// The Kubernetes models load when a command runs, not for `--help` or `--version`.
const kube = async () => {
  const [config, images, render, values] = await Promise.all([
    import("../../kube/config.js"),
    import("../../kube/images.js"),
    import("../../kube/render.js"),
    import("../../kube/values.js"),
  ]);
  return { ...config, ...images, ...render, ...values };
};

interface ManifestsOptions {
  out?: string;
  cloud?: CloudName;
  values?: string;
  cluster?: string;
  helmValues?: boolean;
}

/** `manifests`, `images`: the Kubernetes target. */
export function registerKubeCommands(program: Command): void {
  program
    .command("manifests")
    .description("print (or write) a blueprint's validated Kubernetes manifests and Helm values for AKS")
    .argument("<blueprint>", `one of: ${blueprintNames().join(", ")}`)
    .option("--out <dir>", "write every file (manifests and Helm values, every cluster) into this directory")
    .addOption(new Option("--cloud <cloud>", "Azure cloud (default: the values file's, else AzurePublicCloud)").choices(CLOUD_NAMES))
    .option("--values <file>", "YAML values: registry, tag, storage account, workload identity client id, …")
    .option("--cluster <name>", "for blueprints spanning clusters (bluegreen): which cluster to print")
    .option("--helm-values", "print the Helm values instead of the manifests")
    .action(async (name: string, opts: ManifestsOptions) => {
      const { loadValuesFile, renderBlueprint, resolveConfig } = await kube();
      const values = opts.values ? loadValuesFile(opts.values) : {};
      const rendered = renderBlueprint(getBlueprint(name), resolveConfig(values, opts.cloud), opts.cluster ? { cluster: opts.cluster } : {});
      if (opts.out) {
        writeFiles(
          opts.out,
          rendered.files.map((f) => ({ name: f.name, text: f.text })),
        );
      } else {
        const kind = opts.helmValues ? "helm-values" : "manifests";
        const files = rendered.files.filter((f) => f.kind === kind && (f.cluster === undefined || f.cluster === rendered.cluster));
        if (files.length === 0) throw new UserError(`blueprint ${name} has no Helm values`, "drop --helm-values");
        process.stdout.write(files.map((f) => f.text).join("\n"));
        const other = rendered.files.filter((f) => !files.includes(f)).map((f) => f.name);
        if (other.length)
          process.stderr.write(`akspilot: not shown: ${other.join(", ")} (use --out DIR${opts.helmValues ? "" : " or --helm-values"}${rendered.cluster ? " / --cluster" : ""})\n`);
      }
      if (rendered.missing.length) {
        process.stderr.write(`akspilot: placeholders left for ${rendered.missing.join(", ")} — set them in a --values file before deploying\n`);
      }
    });

  program
    .command("images")
    .description("print the commands that build and push the blueprints' images into the registry (az acr build / import)")
    .argument("[blueprints...]", "blueprints whose images to list (default: all)")
    .addOption(new Option("--cloud <cloud>", "Azure cloud").choices(CLOUD_NAMES))
    .option("--values <file>", "YAML values (registry, tag)")
    .action(async (names: string[], opts: { cloud?: CloudName; values?: string }) => {
      const { loadValuesFile, Settings, resolveConfig, imageCommands } = await kube();
      const values = opts.values ? loadValuesFile(opts.values) : {};
      const s = new Settings(resolveConfig(values, opts.cloud));
      const bps = (names.length ? names : blueprintNames()).map(getBlueprint);
      process.stdout.write(`# run from the repository root\n${imageCommands(bps, s).join("\n")}\n`);
      if (s.missing.size) process.stderr.write(`akspilot: placeholders left for ${[...s.missing].join(", ")} — pass --values with registry set\n`);
    });
}

function writeFiles(dir: string, files: { name: string; text: string }[]): void {
  try {
    makeDirectory(dir);
    for (const f of files) {
      writeFileSync(join(dir, f.name), f.text);
      process.stdout.write(`wrote ${join(dir, f.name)}\n`);
    }
  } catch (e) {
    throw new UserError(`cannot write to ${dir}: ${errorMessage(e)}`, "choose a writable --out directory");
  }
}

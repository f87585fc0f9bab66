import { Option, type Command } from "commander";
import { UserError } from "../../errors.js";
import { controlRequest, runningUp } from "../control-client.js";
import { intOption, numberOption } from "../options.js";
import { clip } from "../../util/text.js";
import type { BlueGreenStatus } from "../../local/bluegreen/controller.js";
import type { ClusterEvent } from "../../local/cluster/events.js";

/** A call to the running `up`'s control API; its refusal is the user's one line, as the runtime words it. */
async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const rt = runningUp("akspilot up bluegreen");
  const { status, ok, payload } = await controlRequest<T>(rt, method, path, body);
  if (status === 404) throw new UserError(`the running \`akspilot up ${rt.blueprint}\` has no blue-green upgrade`, "run `akspilot up bluegreen`");
  if (!ok) throw new UserError(payload.error ?? `control API: HTTP ${status}`);
  return payload;
}

/** `--canary 10,50,100` → [10, 50, 100]. */
export function parseCanary(raw: string): number[] {
  const parts = raw.split(",").map((x) => x.trim());
  const ws = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)) || ws.some((w) => w < 1 || w > 100)) {
    throw new UserError(`--canary must be whole percentages from 1 to 100 separated by commas, got "${clip(raw)}"`, "pass e.g. --canary 10,50,100");
  }
  for (let i = 1; i < ws.length; i++) if (ws[i]! <= ws[i - 1]!) throw new UserError(`--canary weights must go up, got "${clip(raw)}"`, "pass e.g. --canary 10,50,100");
  return ws;
}

function line(b: BlueGreenStatus): string {
  return `stage ${b.stage} (${b.phase}) · serving ${b.activeCluster}${b.standbyCluster ? ` · standby ${b.standbyCluster}` : ""} · weights ${Object.entries(b.weights)
    .map(([k, v]) => `${k} ${v}%`)
    .join(", ")} · owner ${b.owner ? `${b.owner.holder} (generation ${b.owner.generation})` : "none"}`;
}

/** Prints the upgrade's events until it rests (switched, rolled back, finished); exit 1 if it rolled back. */
async function follow(since: number, until: (b: BlueGreenStatus) => boolean): Promise<BlueGreenStatus> {
  let seen = since;
  for (;;) {
    // The state first, then the events: every event that led to a resting state is printed before it.
    const b = await call<BlueGreenStatus>("GET", "/v1/upgrade");
    const events = await call<ClusterEvent[]>("GET", `/v1/events?since=${seen}`);
    for (const e of events) {
      if (e.time < seen || !e.object.startsWith("upgrade/")) continue;
      process.stdout.write(`${new Date(e.time).toISOString().slice(11, 23)} ${e.type === "Warning" ? "Warning " : ""}${e.reason}: ${e.message}\n`);
    }
    if (events.length) seen = Math.max(seen, ...events.map((e) => e.time + 1));
    if (until(b)) return b;
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface AksFlags {
  target: "local" | "aks";
  subscription?: string;
  newContext?: string;
  values?: string;
}

/** `--target aks`: the upgrade driven through provisioning (ARM) and the kube target, run to its next rest here. */
async function aks(f: AksFlags, what: { kind: "upgrade"; to: string; canary?: number[] } | { kind: "finish" } | { kind: "rollback" }): Promise<void> {
  const [{ aksUpgrade, aksFinish, aksRollback }, { AzureProvider }, { applyToAks }] = await Promise.all([
    import("../../upgrade/aks.js"),
    import("../../provisioning/azure/provider.js"),
    import("../../kube/apply.js"),
  ]);
  const out = (l: string) => process.stdout.write(`${l}\n`);
  const o = {
    provision: {
      blueprint: "bluegreen",
      target: "azure" as const,
      root: process.cwd(),
      out,
      provider: (g: { cloud: import("../../provisioning/clouds.js").CloudName }) => new AzureProvider({ cloud: g.cloud, subscriptionId: f.subscription }),
    },
    out,
    ...(f.newContext
      ? {
          applyApp: (cluster: "blue" | "green") =>
            applyToAks({ blueprint: "bluegreen", context: f.newContext, cluster, dryRun: false, out, ...(f.values ? { valuesFile: f.values } : {}) }),
        }
      : {}),
  };
  const s =
    what.kind === "upgrade"
      ? await aksUpgrade(o, { to: what.to, ...(what.canary ? { canary: what.canary } : {}) })
      : what.kind === "finish"
        ? await aksFinish(o)
        : await aksRollback(o);
  out(`stage ${s.stage} (${s.phase})`);
  if (s.phase === "rolled-back" && what.kind === "upgrade") process.exitCode = 1;
}

interface UpgradeFlags extends AksFlags {
  to?: string;
  canary?: string;
  holdSeconds?: number;
  readyTimeout?: number;
  smokeRequests?: number;
  fault?: string;
  finish?: boolean;
  wait?: boolean;
}

export function registerUpgradeCommands(program: Command): void {
  program
    .command("upgrade")
    .description("blue-green cluster upgrade of the running `akspilot up bluegreen`: green beside blue, gates, canary, switch (docs/blue-green.md)")
    .option("--to <version>", "Kubernetes version of the new (green) cluster")
    .option("--canary <weights>", "green's share of traffic at each step, held and compared with blue, e.g. 10,50,100")
    .option("--hold-seconds <s>", "how long each canary step is held and compared", numberOption(0.1, 86_400))
    .option("--ready-timeout <s>", "green must be Ready within this, else the upgrade rolls back (default 300)", numberOption(1, 86_400))
    .option("--smoke-requests <n>", "requests of the smoke test straight at green's pods (default 30)", intOption(1, 100_000))
    .addOption(
      new Option("--fault <fault>", "rehearsal: inject a fault into green's app (http-500, never-ready, slow) to see the gates stop it").choices([
        "http-500",
        "never-ready",
        "slow",
      ]),
    )
    .option("--finish", "end the upgrade: remove the old (blue) cluster, kept on standby since the switch")
    .option("--wait", "print the upgrade's events until it switches, rolls back or finishes")
    .addOption(
      new Option("--target <target>", "local (the running `up bluegreen`) or aks (provisioning and the kube target; see docs/blue-green.md)")
        .choices(["local", "aks"])
        .default("local"),
    )
    .option("--subscription <id>", "--target aks: Azure subscription (default: AZURE_SUBSCRIPTION_ID, else az's current one)")
    .option("--new-context <name>", "--target aks: kubeconfig context of the new cluster, to apply the app before the switch")
    .option("--values <file>", "--target aks: YAML values for the manifests, as for `akspilot manifests`")
    .action(async (f: UpgradeFlags) => {
      if (f.target === "local") {
        const stray = (["subscription", "newContext", "values"] as const).find((k) => f[k] !== undefined);
        if (stray) throw new UserError(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to --target aks`, "drop it, or add --target aks");
      }
      if (f.finish && f.to !== undefined) throw new UserError("--finish and --to together", "run `akspilot upgrade --to <version>` first, then `akspilot upgrade --finish`");
      if (!f.finish && f.to === undefined)
        throw new UserError("say where to: --to <version>, or --finish to end an upgrade", "e.g. `akspilot upgrade --to 1.20.7 --canary 10,50,100`");
      const t0 = Date.now();
      if (f.finish) {
        const stray = (["canary", "holdSeconds", "readyTimeout", "smokeRequests", "fault"] as const).find((k) => f[k] !== undefined);
        if (stray) throw new UserError(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to --to, not --finish`, "drop it");
        if (f.target === "aks") return aks(f, { kind: "finish" });
        const b = await call<BlueGreenStatus>("POST", "/v1/upgrade/finish");
        process.stdout.write(`finishing: ${line(b)}\n`);
        if (f.wait) process.stdout.write(`${line(await follow(t0, (x) => x.phase === "finished"))}\n`);
        return;
      }
      const canary = f.canary !== undefined ? parseCanary(f.canary) : undefined;
      if (f.target === "aks") {
        const stray = (["holdSeconds", "readyTimeout", "smokeRequests", "fault", "wait"] as const).find((k) => f[k] !== undefined);
        if (stray) throw new UserError(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to the local rehearsal, not --target aks`, "drop it");
        return aks(f, { kind: "upgrade", to: f.to!, ...(canary ? { canary } : {}) });
      }
      const b = await call<BlueGreenStatus>("POST", "/v1/upgrade", {
        to: f.to,
        ...(canary ? { canary } : {}),
        ...(f.holdSeconds !== undefined ? { holdSeconds: f.holdSeconds } : {}),
        ...(f.readyTimeout !== undefined ? { readyTimeoutSeconds: f.readyTimeout } : {}),
        ...(f.smokeRequests !== undefined ? { smokeRequests: f.smokeRequests } : {}),
        ...(f.fault !== undefined ? { fault: f.fault } : {}),
      });
      process.stdout.write(`upgrade to ${f.to} started: ${line(b)}\n`);
      if (!f.wait) {
        process.stdout.write("follow it with `akspilot events --follow` or `akspilot status`; `akspilot rollback` returns to blue at any stage\n");
        return;
      }
      const end = await follow(t0, (x) => (x.stage === "T3" && x.phase === "standby") || x.phase === "rolled-back");
      process.stdout.write(`${line(end)}\n`);
      if (end.phase === "rolled-back") process.exitCode = 1;
    });

  program
    .command("rollback")
    .description("return traffic to the old (blue) cluster at once, from any stage of an upgrade, and remove green")
    .option("--wait", "print events until the rollback is complete")
    .addOption(new Option("--target <target>", "local (the running `up bluegreen`) or aks").choices(["local", "aks"]).default("local"))
    .option("--subscription <id>", "--target aks: Azure subscription")
    .action(async (f: { wait?: boolean } & AksFlags) => {
      if (f.target === "aks") return aks(f, { kind: "rollback" });
      const t0 = Date.now();
      const b = await call<BlueGreenStatus>("POST", "/v1/upgrade/rollback");
      process.stdout.write(`rolling back: ${line(b)}\n`);
      if (f.wait) process.stdout.write(`${line(await follow(t0, (x) => x.phase === "rolled-back"))}\n`);
    });
}

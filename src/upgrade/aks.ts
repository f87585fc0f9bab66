/**
 * The blue-green upgrade on AKS, driven by the same state machine as the local rehearsal
 * (src/upgrade/machine.ts) with the project's own parts as its actions: provisioning creates the
 * green cluster from the blueprint's graph at the new version, the kube target applies the app (and AGIC's
 * values) to it, the switch moves the AGIC add-on (the gateway's single owner) to green, a rollback moves
 * it back and deletes green, `--finish` deletes blue. Every action is an idempotent deploy of the graph, and
 * the state is written to `.akspilot/bluegreen-aks.json` after every transition: an interrupted run resumes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeSecretFile } from "../util/secure-fs.js";
import { UserError } from "../errors.js";
import { deploy, readDeployed, type ProvisionOptions } from "../provisioning/engine.js";
import { actionFor, checkCanary, compareVersions, initialState, inProgress, serving, step, UpgradeInputError, type Action, type BlueGreenState, type Input } from "./machine.js";

type Color = "blue" | "green";

export interface AksUpgradeOptions {
  /** How to deploy the `bluegreen` graph (target azure, root, provider); the switch fields are the upgrade's. */
  provision: Omit<ProvisionOptions, "active" | "clusterVersions" | "retired">;
  /** Applies the app (and AGIC's values) to one cluster with the kube target; optional (e.g. a plan-only run). */
  applyApp?: (cluster: Color) => Promise<void>;
  out?: (line: string) => void;
  now?: () => number;
}

export function aksStatePath(root: string): string {
  return join(root, ".akspilot", "bluegreen-aks.json");
}

function readState(root: string): BlueGreenState | undefined {
  try {
    return JSON.parse(readFileSync(aksStatePath(root), "utf8")) as BlueGreenState;
  } catch {
    return undefined;
  }
}

const color = (name: string): Color => (name === "green" ? "green" : "blue");

/** The serving cluster's version as the deployed state records it (ARM's `kubernetesVersion`). */
function deployedVersion(o: AksUpgradeOptions, c: Color): string | undefined {
  const st = readDeployed(o.provision.blueprint, "azure", o.provision.root);
  const v = st?.resources[c]?.outputs.kubernetesVersion ?? st?.resources[c]?.props.kubernetesVersion;
  return typeof v === "string" && v !== "" ? v : undefined;
}

function current(o: AksUpgradeOptions, now: number): BlueGreenState {
  const root = o.provision.root ?? process.cwd();
  const saved = readState(root);
  if (saved) return saved;
  const st = readDeployed(o.provision.blueprint, "azure", o.provision.root);
  if (!st) throw new UserError("bluegreen is not deployed from this directory", "run `akspilot deploy bluegreen` first");
  const active = st.resources.switch?.props.active === "green" ? "green" : "blue";
  return initialState({ name: active, version: deployedVersion(o, active) ?? "unknown" }, now);
}

/** Runs the machine from its current phase until it rests (standby, rolled back, finished) or waits. */
async function drive(o: AksUpgradeOptions, s: BlueGreenState, first?: Input): Promise<BlueGreenState> {
  const root = o.provision.root ?? process.cwd();
  const now = o.now ?? Date.now;
  const out = o.out ?? (() => undefined);
  const save = (x: BlueGreenState) => writeSecretFile(aksStatePath(root), JSON.stringify(x, null, 2) + "\n");
  const apply = (input: Input) => {
    const r = step(s, input, now());
    for (const e of r.events) out(`${e.type === "Warning" ? "Warning " : ""}${e.reason}: ${e.message}`);
    s = r.state;
    save(s);
  };
  if (first) apply(first);
  for (let guard = 0; guard < 50; guard++) {
    if (s.phase === "waiting-ready") {
      // ARM reported green Succeeded; it is Ready for traffic once the kube target has applied the app and
      // its rollout finished. Without a kubeconfig context for green the run stops here, to be re-run with one.
      if (!o.applyApp) {
        out(`green is provisioned; get its credentials (az aks get-credentials) and re-run with --new-context <context> to apply the app and switch`);
        return s;
      }
      await o.applyApp(color(s.green!.name));
      apply({ kind: "tick", greenReady: true });
      continue;
    }
    const action = actionFor(s);
    if (!action) return s;
    let result: { ok: boolean; reason: string };
    try {
      result = await perform(o, s, action);
    } catch (e) {
      // The state stays at this phase: the next run repeats the (idempotent) action.
      save(s);
      throw e;
    }
    apply({ kind: "done", ...result });
  }
  return s;
}

async function perform(o: AksUpgradeOptions, s: BlueGreenState, a: Action): Promise<{ ok: boolean; reason: string }> {
  const versions = (): Partial<Record<Color, string>> => {
    const v: Partial<Record<Color, string>> = {};
    for (const c of [s.blue, s.green]) if (c && c.version !== "unknown") v[color(c.name)] = c.version;
    return v;
  };
  const run = (active: Color, retired: Color[]) => deploy({ ...o.provision, active, clusterVersions: versions(), retired });
  const blue = color(s.blue.name);
  switch (a.kind) {
    case "create-green": {
      const g = color(a.cluster.name);
      await run(blue, []);
      return { ok: true, reason: `aks ${g} at Kubernetes ${a.cluster.version} provisioned from the bluegreen graph; AGIC stays on ${blue}` };
    }
    case "smoke-test": {
      const v = deployedVersion(o, color(a.cluster.name));
      if (v !== undefined && v !== a.cluster.version) return { ok: false, reason: `ARM reports ${a.cluster.name} on Kubernetes ${v}, not ${a.cluster.version}` };
      return {
        ok: true,
        reason: `ARM reports ${a.cluster.name} provisioned on Kubernetes ${v ?? a.cluster.version} (requests straight at its pods need network access to the cluster; not exercised here)`,
      };
    }
    case "canary-step":
      return { ok: false, reason: "weighted canary across clusters is local only" };
    case "switch":
      await run(color(a.to), []);
      return { ok: true, reason: `the AGIC add-on enabled on ${a.to} first, then disabled on ${blue}` };
    case "remove-cluster":
      await run(color(serving(s).name), [color(a.cluster)]);
      return { ok: true, reason: `aks ${a.cluster} deleted` };
    case "rollback":
      // Traffic first (AGIC back on blue while both clusters exist), then green goes.
      await run(color(a.to), []);
      if (a.remove) await run(color(a.to), [color(a.remove)]);
      return { ok: true, reason: `AGIC back on ${a.to}${a.remove ? `, aks ${a.remove} deleted` : ""}` };
  }
}

function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UpgradeInputError) throw new UserError(e.message, e.hint);
    throw e;
  }
}

/** `akspilot upgrade --target aks --to V`: T1 → T3 (or resumes an interrupted upgrade to V). */
export async function aksUpgrade(o: AksUpgradeOptions, req: { to: string; canary?: number[] }): Promise<BlueGreenState> {
  const now = o.now ?? Date.now;
  if (!/^\d+\.\d+(\.\d+)?$/.test(req.to))
    throw new UserError(`--to "${req.to.slice(0, 40)}" is not a Kubernetes version`, "pass e.g. --to 1.31.2 (`az aks get-versions` lists what the region offers)");
  if ((req.canary ?? []).some((w) => w < 100)) {
    guard(() => checkCanary(req.canary!));
    throw new UserError(
      "--canary with --target aks: the AGIC add-on writes the whole Application Gateway, so traffic moves between clusters all at once",
      "drop --canary (rehearse canary steps locally with `akspilot up bluegreen`)",
    );
  }
  const s = current(o, now());
  if (inProgress(s)) {
    if (s.plan?.to !== req.to)
      throw new UserError(`an upgrade to ${s.plan?.to} is in progress (stage ${s.stage}, ${s.phase})`, "resume it with the same --to, or run `akspilot rollback --target aks`");
    (o.out ?? (() => undefined))(`resuming the upgrade to ${req.to} at stage ${s.stage} (${s.phase})`);
    return drive(o, s);
  }
  const sv = serving(s);
  if (sv.version !== "unknown" && compareVersions(req.to, sv.version) < 0)
    throw new UserError(`--to ${req.to} is older than the running ${sv.version}: a blue-green upgrade only goes forward`, "pick a newer version");
  if (sv.version === req.to) throw new UserError(`--to ${req.to} is the version cluster ${sv.name} already runs`, "pick a newer version");
  const greenName = sv.name === "blue" ? "green" : "blue";
  return drive(o, s, { kind: "upgrade", greenName, plan: { to: req.to, canary: [], holdSeconds: 0, readyTimeoutSeconds: 7 * 24 * 3600, smokeRequests: 0 } });
}

export async function aksFinish(o: AksUpgradeOptions): Promise<BlueGreenState> {
  const s = current(o, (o.now ?? Date.now)());
  if (s.phase === "removing-blue") return drive(o, s);
  guard(() => step(s, { kind: "finish" }, 0));
  return drive(o, s, { kind: "finish" });
}

export async function aksRollback(o: AksUpgradeOptions): Promise<BlueGreenState> {
  const s = current(o, (o.now ?? Date.now)());
  if (s.phase === "rolling-back") return drive(o, s);
  guard(() => step(s, { kind: "rollback", reason: "asked for (`akspilot rollback --target aks`)" }, 0));
  return drive(o, s, { kind: "rollback", reason: "asked for (`akspilot rollback --target aks`)" });
}

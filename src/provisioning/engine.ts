import { writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { UserError, errorMessage, isUserError } from "../errors.js";
import { checkLocation, type CloudName } from "./clouds.js";
import { diffManaged } from "./diff.js";
import { buildGraph, getGraphDefinition } from "./graphs/index.js";
import { ProvisionLog } from "./log.js";
import { checkSuffix, randomSuffix } from "./names.js";
import type { Provider, ResolvedNode, StepContext } from "./provider.js";
import { dependenciesOf, resolveRefs, UNKNOWN, type Outputs } from "./refs.js";
import { acquireLock, loadState, newState, removeState, saveState, statePath, type ProvisioningState, type ResourceRecord, type Target } from "./state.js";
import type { Ref, ResourceGraph, ResourceNode } from "./types.js";

export interface ProvisionOptions {
  blueprint: string;
  target: Target;
  /** Project directory holding .akspilot/ and logs/ (default: the current directory). */
  root?: string;
  cloud?: CloudName;
  location?: string;
  suffix?: string;
  /** Client IP to allow through storage network rules. */
  clientIp?: string;
  /** Blue-green: the cluster whose AGIC owns the gateway. */
  active?: "blue" | "green";
  /** Blue-green upgrade: one cluster's version, and clusters left out (see GraphContext). */
  clusterVersions?: Partial<Record<"blue" | "green", string>>;
  retired?: ("blue" | "green")[];
  kubernetesVersion?: string;
  /** Write the seed's deploy.state (KEY=value) here after a deploy. */
  exportEnv?: string;
  /** Progress lines for the terminal. */
  out?: (line: string) => void;
  /** Builds the provider once the graph is known; the CLI passes the Azure or local one. */
  provider: (graph: ResourceGraph) => Provider | Promise<Provider>;
}

export type StepAction = "create" | "update" | "noop" | "adopt" | "delete" | "keep";

export interface StepReport {
  id: string;
  kind: string;
  name: string;
  action: StepAction;
  changes: string[];
  /** For noop/adopt: the resource existed before akspilot created anything. */
  note?: string;
}

export interface RunReport {
  blueprint: string;
  target: Target;
  suffix: string;
  steps: StepReport[];
  statePath: string;
  logFile: string;
  /** True when nothing had to be created, changed or deleted. */
  noChanges: boolean;
  resumed: boolean;
}

/** Kahn's order with the graph's own order as the tie-break, so runs are stable and read like the seed. */
export function orderNodes(nodes: ResourceNode[]): ResourceNode[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const deps = new Map(nodes.map((n) => [n.id, dependenciesOf(n)]));
  for (const [id, ds] of deps) {
    for (const d of ds) if (!byId.has(d)) throw new Error(`graph: step "${id}" depends on unknown step "${d}"`);
  }
  const done = new Set<string>();
  const out: ResourceNode[] = [];
  while (out.length < nodes.length) {
    const next = nodes.find((n) => !done.has(n.id) && deps.get(n.id)!.every((d) => done.has(d)));
    if (!next)
      throw new Error(
        `graph: dependency cycle among ${nodes
          .filter((n) => !done.has(n.id))
          .map((n) => n.id)
          .join(", ")}`,
      );
    done.add(next.id);
    out.push(next);
  }
  return out;
}

interface ProvisionRun {
  opts: ProvisionOptions;
  root: string;
  graph: ResourceGraph;
  statePath: string;
  state: ProvisioningState | undefined;
}

/** Validates options against the state before anything starts: a bad state file stops here, untouched. */
function openRun(given: ProvisionOptions): ProvisionRun {
  const root = given.root ?? process.cwd();
  const def = getGraphDefinition(given.blueprint);
  // The blueprint's name (`airflow`) and the provisioning name (`airflow-infra`) share one state file.
  const opts: ProvisionOptions = { ...given, blueprint: def.name };
  const path = statePath(root, opts.blueprint, opts.target);
  const state = loadState(path, { blueprint: opts.blueprint, target: opts.target }, root);
  if (state) {
    const clash = (what: string, asked: string | undefined, has: string) => {
      if (asked !== undefined && asked.toLowerCase() !== has.toLowerCase()) {
        throw new UserError(
          `--${what} ${asked} differs from the deployed ${what} ${has} in ${relative(root, path)}`,
          `omit --${what}, or run \`akspilot destroy ${opts.blueprint}\` first`,
        );
      }
    };
    clash("cloud", opts.cloud, state.cloud);
    clash("location", opts.location, state.location);
    clash("suffix", opts.suffix, state.suffix);
  }
  const cloud = state?.cloud ?? opts.cloud ?? def.defaultCloud;
  const location = state?.location ?? checkLocation(cloud, opts.location ?? def.defaultLocation[cloud]);
  const suffix = state?.suffix ?? (opts.suffix ? checkSuffix(opts.suffix) : randomSuffix());
  const previousActive = state?.resources.switch?.props.active;
  const graph = buildGraph(def, {
    suffix,
    cloud,
    location,
    clientIp: opts.clientIp,
    active: opts.active ?? (previousActive === "green" ? "green" : previousActive === "blue" ? "blue" : undefined),
    kubernetesVersion: opts.kubernetesVersion,
    ...(opts.clusterVersions ? { clusterVersions: opts.clusterVersions } : {}),
    ...(opts.retired ? { retired: opts.retired } : {}),
  });
  return { opts, root, graph, statePath: path, state };
}

function lookupIn(graph: ResourceGraph, state: ProvisioningState | undefined) {
  const names = new Map(graph.nodes.map((n) => [n.id, n.name]));
  return (r: Ref): string | undefined => {
    if (r.output === "name" && names.has(r.ref)) return names.get(r.ref);
    return state?.resources[r.ref]?.outputs[r.output];
  };
}

function stepContext(s: ProvisionRun, log: ProvisionLog, provider: Provider, state: ProvisioningState | undefined): StepContext {
  const ctx: StepContext = {
    graph: s.graph,
    log,
    record: (id) => state?.resources[id],
    secret: async (r) => {
      const v = await provider.readSecret(r.secretFrom, r.key, ctx);
      log.secret(v);
      return v;
    },
  };
  return ctx;
}

function describe(node: { kind: string; name: string }): string {
  return `${node.kind} ${node.name}`;
}

const SYMBOL: Record<StepAction, string> = { create: "+", update: "~", noop: "=", adopt: "=", delete: "-", keep: "·" };

async function withProvider<T>(s: ProvisionRun, log: ProvisionLog, mode: "plan" | "deploy" | "destroy", fn: (p: Provider) => Promise<T>): Promise<T> {
  const provider = await s.opts.provider(s.graph);
  try {
    await provider.preflight(s.graph, log, mode);
    return await fn(provider);
  } finally {
    await provider.close();
  }
}

function logName(s: ProvisionRun, command: string): string {
  return `provision-${s.opts.blueprint}-${s.opts.target}-${command}`;
}

/** `akspilot plan`: what deploy would create, change or delete. Reads only. */
export async function plan(given: ProvisionOptions): Promise<RunReport> {
  const s = openRun(given);
  const opts = s.opts;
  const log = new ProvisionLog(join(s.root, "logs"), logName(s, "plan"), opts.out ?? (() => {}));
  log.info(`Plan for ${opts.blueprint} on ${opts.target} (${s.graph.cloud}, ${s.graph.location}, suffix ${s.graph.suffix})`);
  if (!s.state) log.info(`No state yet: suffix ${s.graph.suffix} is chosen for this plan only; pass --suffix ${s.graph.suffix} to deploy these exact names.`);
  const steps: StepReport[] = [];
  await withProvider(s, log, "plan", async (provider) => {
    const ctx = stepContext(s, log, provider, s.state);
    const lookup = lookupIn(s.graph, s.state);
    for (const node of orderNodes(s.graph.nodes)) {
      const unknown: string[] = [];
      const resolved = resolveRefs(node, lookup, unknown) as ResolvedNode;
      const previous = s.state?.resources[node.id];
      const observed = await provider.read(resolved, ctx, previous);
      let step: StepReport;
      if (!observed) step = { id: node.id, kind: node.kind, name: node.name, action: "create", changes: [] };
      else {
        const changes = diffManaged(await provider.desired(resolved, ctx), observed.props);
        const adopt = !previous;
        step = {
          id: node.id,
          kind: node.kind,
          name: node.name,
          action: changes.length > 0 ? "update" : adopt ? "adopt" : "noop",
          changes,
          note: adopt ? "exists already; akspilot will use it and never delete it" : undefined,
        };
      }
      if (unknown.length > 0 && step.action !== "create") step.changes.push(`inputs ${UNKNOWN}: ${unknown.join(", ")}`);
      steps.push(step);
      log.info(`${SYMBOL[step.action]} ${step.action.padEnd(6)} ${describe(node)}${step.note ? ` (${step.note})` : ""}`);
      for (const c of step.changes) log.info(`      ${c}`);
    }
    const inGraph = new Set(s.graph.nodes.map((n) => n.id));
    for (const [id, rec] of Object.entries(s.state?.resources ?? {})) {
      if (inGraph.has(id)) continue;
      const action: StepAction = rec.createdByUs ? "delete" : "keep";
      steps.push({ id, kind: rec.kind, name: rec.name, action, changes: [] });
      log.info(`${SYMBOL[action]} ${action.padEnd(6)} ${describe(rec)}${rec.createdByUs ? " (no longer in the blueprint)" : " (not created by akspilot; left alone)"}`);
    }
  });
  const count = (a: StepAction) => steps.filter((x) => x.action === a).length;
  const noChanges = steps.every((x) => x.action === "noop" || x.action === "adopt" || x.action === "keep");
  log.info(
    noChanges
      ? `Plan: no changes. ${steps.length} resources match the blueprint.`
      : `Plan: ${count("create")} to create, ${count("update")} to change, ${count("delete")} to delete, ${count("noop") + count("adopt")} unchanged.`,
  );
  return { blueprint: opts.blueprint, target: opts.target, suffix: s.graph.suffix, steps, statePath: s.statePath, logFile: log.file, noChanges, resumed: false };
}

function failure(e: unknown, node: { id: string; kind: string; name: string }, blueprint: string, log: ProvisionLog, target: Target): UserError {
  const why = log.redact(isUserError(e) ? e.line() : errorMessage(e));
  return new UserError(
    `step ${node.id} (${describe(node)}) failed: ${why}`,
    `fix the cause and re-run \`akspilot deploy ${blueprint} --target ${target}\`; finished steps are kept and not redone`,
  );
}

/** Test and inspection hook: stop for good right after a step's resource was created but before state says so. */
async function holdIfAsked(id: string, log: ProvisionLog): Promise<void> {
  if (process.env.AKSPILOT_HOLD_AT !== id) return;
  log.warn(`holding after applying ${id} (AKSPILOT_HOLD_AT); stop this process to simulate an interruption`);
  await new Promise<never>(() => {
    setInterval(() => {}, 60_000);
  });
}

/** `akspilot deploy`: every step in dependency order, each create-or-update, recorded as it goes. */
export async function deploy(given: ProvisionOptions): Promise<RunReport> {
  const s = openRun(given);
  const opts = s.opts;
  const release = acquireLock(s.statePath);
  const log = new ProvisionLog(join(s.root, "logs"), logName(s, "deploy"), opts.out ?? (() => {}));
  const state = s.state ?? newState({ blueprint: opts.blueprint, target: opts.target, cloud: s.graph.cloud, location: s.graph.location, suffix: s.graph.suffix });
  const resumed = !!(s.state?.lastRun && !s.state.lastRun.finishedAt);
  const steps: StepReport[] = [];
  try {
    log.info(`Starting deployment of ${opts.blueprint} to ${opts.target} (${s.graph.cloud}, ${s.graph.location}, suffix ${s.graph.suffix})`);
    if (resumed) {
      const lr = s.state!.lastRun!;
      log.info(
        `Resuming: the ${lr.command} started ${lr.startedAt} (pid ${lr.pid}) stopped${lr.lastStep ? ` at step ${lr.lastStep}` : ""}; finished steps are checked, not redone.`,
      );
    } else if (s.state?.lastRun?.outcome === "failed") {
      log.info(`Retrying after the failure at step ${s.state.lastRun.lastStep ?? "?"}.`);
    }
    await withProvider(s, log, "deploy", async (provider) => {
      const ctx = stepContext(s, log, provider, state);
      state.lastRun = { command: "deploy", pid: process.pid, startedAt: new Date().toISOString() };
      saveState(s.statePath, state);
      const ordered = orderNodes(s.graph.nodes);
      let i = 0;
      for (const node of ordered) {
        i++;
        const prefix = `[${i}/${ordered.length}]`;
        state.lastRun.lastStep = node.id;
        try {
          const unknown: string[] = [];
          const resolved = resolveRefs(node, lookupIn(s.graph, state), unknown) as ResolvedNode;
          if (unknown.length > 0) throw new Error(`inputs not available: ${unknown.join(", ")}`);
          const previous = state.resources[node.id];
          const observed = await provider.read(resolved, ctx, previous);
          const changes = observed ? diffManaged(await provider.desired(resolved, ctx), observed.props) : [];
          const record = (status: ResourceRecord["status"], outputs: Outputs, createdByUs: boolean) => {
            state.resources[node.id] = {
              kind: node.kind,
              name: node.name,
              createdByUs,
              status,
              props: stripSecrets(resolved),
              outputs,
              dependsOn: dependenciesOf(node),
              updatedAt: new Date().toISOString(),
            };
            saveState(s.statePath, state);
          };
          if (observed && changes.length === 0 && previous?.status !== "pending") {
            const adopted = !previous;
            record("ready", observed.outputs, previous?.createdByUs ?? false);
            steps.push({ id: node.id, kind: node.kind, name: node.name, action: adopted ? "adopt" : "noop", changes: [] });
            log.info(`${prefix} = ${describe(node)}: ${adopted ? "exists already (not created by akspilot; destroy will keep it)" : "up to date"}`);
            continue;
          }
          // Created by us if we created it now, or an earlier run of ours did (a pending record is ours).
          const createdByUs = previous?.createdByUs ?? !observed;
          const action: StepAction = observed ? (changes.length > 0 ? "update" : "noop") : "create";
          log.info(`${prefix} ${observed ? (changes.length > 0 ? "~ updating" : "= finishing") : "+ creating"} ${describe(node)}...`);
          for (const c of changes) log.info(`      ${c}`);
          record("pending", previous?.outputs ?? {}, createdByUs);
          const started = Date.now();
          const outputs = await provider.apply(resolved, ctx);
          await holdIfAsked(node.id, log);
          record("ready", outputs, createdByUs);
          steps.push({ id: node.id, kind: node.kind, name: node.name, action, changes });
          log.ok(
            `${prefix} ${describe(node)}: ${action === "create" ? "created" : action === "update" ? "updated" : "confirmed"} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
          );
        } catch (e) {
          state.lastRun.outcome = "failed";
          state.lastRun.finishedAt = new Date().toISOString();
          saveState(s.statePath, state);
          const err = failure(e, node, opts.blueprint, log, opts.target);
          log.error(err.line());
          throw err;
        }
      }
      await removeOrphans(s, state, provider, ctx, log, steps);
      state.lastRun.outcome = "succeeded";
      state.lastRun.finishedAt = new Date().toISOString();
      delete state.lastRun.lastStep;
      saveState(s.statePath, state);
    });
    const noChanges = steps.every((x) => x.action === "noop" || x.action === "adopt");
    const n = (a: StepAction) => steps.filter((x) => x.action === a).length;
    if (noChanges) log.ok(`No changes: all ${steps.length} resources already match the blueprint; nothing was done.`);
    else log.ok(`Deployment completed successfully: ${n("create")} created, ${n("update")} updated, ${n("delete")} deleted, ${n("noop") + n("adopt")} unchanged.`);
    if (opts.exportEnv) {
      writeFileSync(opts.exportEnv, exportEnvText(s.graph, state));
      log.info(`Wrote ${opts.exportEnv} (KEY=value, the seed's deploy.state form)`);
    }
    log.info(`State: ${relative(s.root, s.statePath)}  Log: ${relative(s.root, log.file)}`);
    return { blueprint: opts.blueprint, target: opts.target, suffix: s.graph.suffix, steps, statePath: s.statePath, logFile: log.file, noChanges, resumed };
  } finally {
    release();
  }
}

/** Resources the state has but the blueprint no longer defines: ours are deleted, others forgotten. */
async function removeOrphans(s: ProvisionRun, state: ProvisioningState, provider: Provider, ctx: StepContext, log: ProvisionLog, steps: StepReport[]): Promise<void> {
  const inGraph = new Set(s.graph.nodes.map((n) => n.id));
  const orphans = reverseOrder(Object.fromEntries(Object.entries(state.resources).filter(([id]) => !inGraph.has(id))));
  for (const [id, rec] of orphans) {
    if (rec.createdByUs) {
      const outcome = await provider.remove(id, rec, ctx);
      log.info(`- ${describe(rec)}: ${outcome.result === "kept" ? `kept (${outcome.reason})` : "deleted (no longer in the blueprint)"}`);
    }
    steps.push({ id, kind: rec.kind, name: rec.name, action: rec.createdByUs ? "delete" : "keep", changes: [] });
    delete state.resources[id];
    saveState(s.statePath, state);
  }
}

/** Dependents before their dependencies, using the dependency lists recorded in state. */
function reverseOrder(records: Record<string, ResourceRecord>): Array<[string, ResourceRecord]> {
  const ids = Object.keys(records);
  const out: string[] = [];
  const remaining = new Set(ids);
  while (remaining.size > 0) {
    const next = [...remaining].reverse().find((id) => ![...remaining].some((other) => other !== id && records[other]!.dependsOn.includes(id)));
    const pick = next ?? [...remaining].pop()!;
    remaining.delete(pick);
    out.push(pick);
  }
  return out.map((id) => [id, records[id]!]);
}

/** `akspilot destroy`: deletes, in reverse order, only what the state says this tool created. */
export async function destroy(given: ProvisionOptions): Promise<RunReport> {
  const s = openRun(given);
  const opts = s.opts;
  const log = new ProvisionLog(join(s.root, "logs"), logName(s, "destroy"), opts.out ?? (() => {}));
  if (!s.state) {
    log.info(`Nothing to destroy: no state file at ${relative(s.root, s.statePath)} (akspilot has not deployed ${opts.blueprint} to ${opts.target} from here).`);
    return { blueprint: opts.blueprint, target: opts.target, suffix: s.graph.suffix, steps: [], statePath: s.statePath, logFile: log.file, noChanges: true, resumed: false };
  }
  const state = s.state;
  const release = acquireLock(s.statePath);
  const steps: StepReport[] = [];
  try {
    log.info(`Deleting resources of ${opts.blueprint} on ${opts.target} (suffix ${state.suffix})...`);
    await withProvider(s, log, "destroy", async (provider) => {
      const ctx = stepContext(s, log, provider, state);
      state.lastRun = { command: "destroy", pid: process.pid, startedAt: new Date().toISOString() };
      saveState(s.statePath, state);
      for (const [id, rec] of reverseOrder(state.resources)) {
        state.lastRun.lastStep = id;
        if (!rec.createdByUs) {
          log.info(`· ${describe(rec)}: kept (it existed before akspilot)`);
          steps.push({ id, kind: rec.kind, name: rec.name, action: "keep", changes: [] });
          delete state.resources[id];
          saveState(s.statePath, state);
          continue;
        }
        try {
          const outcome = await provider.remove(id, rec, ctx);
          if (outcome.result === "kept") {
            log.warn(`· ${describe(rec)}: kept (${outcome.reason})`);
            steps.push({ id, kind: rec.kind, name: rec.name, action: "keep", changes: [] });
          } else {
            log.ok(`- ${describe(rec)}: ${outcome.result === "deleted" ? "deleted" : "already gone"}`);
            steps.push({ id, kind: rec.kind, name: rec.name, action: "delete", changes: [] });
          }
          delete state.resources[id];
          saveState(s.statePath, state);
        } catch (e) {
          state.lastRun.outcome = "failed";
          state.lastRun.finishedAt = new Date().toISOString();
          saveState(s.statePath, state);
          const why = log.redact(isUserError(e) ? e.line() : errorMessage(e));
          const err = new UserError(
            `deleting ${describe(rec)} failed: ${why}`,
            `re-run \`akspilot destroy ${opts.blueprint} --target ${opts.target}\`; what was deleted is already out of the state`,
          );
          log.error(err.line());
          throw err;
        }
      }
    });
    removeState(s.statePath);
    log.ok(`Destroy complete: ${steps.filter((x) => x.action === "delete").length} deleted, ${steps.filter((x) => x.action === "keep").length} kept.`);
    return {
      blueprint: opts.blueprint,
      target: opts.target,
      suffix: state.suffix,
      steps,
      statePath: s.statePath,
      logFile: log.file,
      noChanges: steps.length === 0,
      resumed: false,
    };
  } finally {
    release();
  }
}

/** Resolved properties with secret references kept as references (their values never reach state). */
function stripSecrets(node: ResolvedNode): Record<string, unknown> {
  const { id: _id, kind: _kind, name: _name, dependsOn: _d, ...props } = node as ResolvedNode & { dependsOn?: string[] };
  return props as Record<string, unknown>;
}

/** The seed's deploy.state: `KEY=value` lines, no quotes, in the seed's order. */
export function exportEnvText(graph: ResourceGraph, state: ProvisioningState): string {
  const lookup = lookupIn(graph, state);
  const lines: string[] = [];
  for (const [key, value] of graph.exports) {
    const v = typeof value === "string" ? value : lookup(value);
    if (v !== undefined) lines.push(`${key}=${v}`);
  }
  return lines.join("\n") + "\n";
}

/** Reads a deployed blueprint's state (names, ids, outputs) for other targets, e.g. the Kubernetes manifests. */
export function readDeployed(blueprint: string, target: Target = "azure", root = process.cwd()): ProvisioningState | undefined {
  return loadState(statePath(root, blueprint, target), { blueprint, target }, root);
}

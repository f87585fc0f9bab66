import { parseUserYamlDocuments } from "../util/user-file.js";
import { UserError } from "../errors.js";
import type { NodePoolManifest } from "../blueprints/types.js";
import type { InstanceType } from "./catalog.js";
import { fits, fitsOneNode, take, roomOf, type Room } from "./packing.js";
import { cpuMillis, memoryBytes, type Resources } from "./quantity.js";
import { tolerates, type SchedTaint, type SchedToleration } from "./scheduling.js";

/**
 * Karpenter's provisioning and disruption rules (kubernetes-sigs/karpenter v1), as pure functions shared
 * by the local node provisioner and the simulator. Times are seconds.
 */

export interface PoolSettings {
  name: string;
  consolidationPolicy: "WhenEmpty" | "WhenEmptyOrUnderutilized";
  /** undefined = Never. */
  consolidateAfterSeconds?: number;
  budgets: { nodes: string }[];
  limits: { cpuMillis?: number; memoryBytes?: number };
  /** Instance types the requirements allow. */
  catalog: InstanceType[];
  /** Taints and labels every node of the pool carries (the NodePool's template). */
  taints?: { key: string; value?: string; effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }[];
  labels?: Record<string, string>;
}

export const KARPENTER = {
  batchIdleSeconds: 1,
  batchMaxSeconds: 10,
  disruptionPollSeconds: 10,
  /** Consolidation decisions are re-validated after this delay before they run. */
  validationSeconds: 15,
} as const;

/** "30s", "5m", "1h", "Never" → seconds (undefined for Never). */
export function durationSeconds(v: string | null | undefined, path: string, fallback: number | undefined): number | undefined {
  // YAML's `consolidateAfter:` with nothing after it is null: unset, as the shape check already treats it.
  if (v === undefined || v === null) return fallback;
  if (v === "Never") return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
  if (!m) throw new UserError(`NodePool ${path}: "${v}" is not a duration`, 'use e.g. "30s", "5m" or "Never"');
  const n = Number(m[1]);
  return m[2] === "ms" ? n / 1000 : m[2] === "s" ? n : m[2] === "m" ? n * 60 : n * 3600;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The structure poolSettings reads, checked before it is read: a user's YAML can put a scalar or a map where
 * the CRD wants a list (the CRD's own schema would refuse it at admission).
 */
function checkNodePoolShape(np: NodePoolManifest): void {
  const wrong = (path: string, want: string, got: unknown): never => {
    throw new UserError(`NodePool ${path}: must be ${want}, got ${JSON.stringify(got) ?? String(got)}`.slice(0, 300), "see the karpenter.sh/v1 NodePool reference");
  };
  const optional = (v: unknown, path: string, check: (x: unknown) => boolean, want: string) => {
    if (v !== undefined && v !== null && !check(v)) wrong(path, want, v);
  };
  optional(np.metadata, ".metadata", isObject, "a map");
  if (isObject(np.metadata)) optional(np.metadata.name, ".metadata.name", (x) => typeof x === "string", "a string");
  const spec: unknown = np.spec;
  optional(spec, ".spec", isObject, "a map");
  if (!isObject(spec)) return;
  optional(spec.disruption, ".spec.disruption", isObject, "a map");
  optional(spec.limits, ".spec.limits", isObject, "a map");
  optional(spec.template, ".spec.template", isObject, "a map");
  if (isObject(spec.disruption)) {
    const budgets = spec.disruption.budgets;
    optional(budgets, ".spec.disruption.budgets", Array.isArray, "a list");
    if (Array.isArray(budgets)) {
      for (const [i, b] of budgets.entries()) if (!isObject(b)) wrong(`.spec.disruption.budgets[${i}]`, "a map with nodes", b);
    }
    for (const k of ["consolidationPolicy", "consolidateAfter"] as const) optional(spec.disruption[k], `.spec.disruption.${k}`, (x) => typeof x === "string", "a string");
  }
  const template = spec.template;
  if (!isObject(template)) return;
  optional(template.metadata, ".spec.template.metadata", isObject, "a map");
  if (isObject(template.metadata)) optional(template.metadata.labels, ".spec.template.metadata.labels", isObject, "a map");
  optional(template.spec, ".spec.template.spec", isObject, "a map");
  if (!isObject(template.spec)) return;
  const { requirements, taints } = template.spec;
  optional(requirements, ".spec.template.spec.requirements", Array.isArray, "a list");
  if (Array.isArray(requirements)) {
    for (const [i, r] of requirements.entries()) {
      if (!isObject(r)) wrong(`.spec.template.spec.requirements[${i}]`, "a map with key, operator and values", r);
      else {
        optional(r.key, `.spec.template.spec.requirements[${i}].key`, (x) => typeof x === "string", "a string");
        optional(r.operator, `.spec.template.spec.requirements[${i}].operator`, (x) => typeof x === "string", "a string");
      }
    }
  }
  optional(taints, ".spec.template.spec.taints", Array.isArray, "a list");
  if (Array.isArray(taints)) {
    for (const [i, t] of taints.entries()) if (!isObject(t)) wrong(`.spec.template.spec.taints[${i}]`, "a map with key and effect", t);
  }
}

/** Resolves a NodePool (YAML-shaped object) against a catalog, with Karpenter's defaults. */
export function poolSettings(np: NodePoolManifest, catalog: InstanceType[]): PoolSettings {
  if (np?.kind !== "NodePool") throw new UserError(`NodePool .kind: must be NodePool, got ${JSON.stringify(np?.kind)}`, "pass a karpenter.sh NodePool");
  checkNodePoolShape(np);
  const d = np.spec?.disruption ?? {};
  const policy = d.consolidationPolicy ?? "WhenEmptyOrUnderutilized";
  const legacy = (policy as string) === "WhenUnderutilized" ? "WhenEmptyOrUnderutilized" : policy;
  if (legacy !== "WhenEmpty" && legacy !== "WhenEmptyOrUnderutilized") {
    throw new UserError(`NodePool .spec.disruption.consolidationPolicy: "${policy}" is not supported`, "use WhenEmpty or WhenEmptyOrUnderutilized");
  }
  const budgets = d.budgets ?? [{ nodes: "10%" }];
  for (const [i, b] of budgets.entries()) {
    if (!/^\d+%?$/.test(String(b.nodes))) throw new UserError(`NodePool .spec.disruption.budgets[${i}].nodes: "${b.nodes}" is not a count or percentage`, 'use e.g. "10%" or "1"');
  }
  const reqs = np.spec?.template?.spec?.requirements ?? [];
  let allowed = catalog;
  for (const [i, r] of reqs.entries()) {
    // The schema check lets a scalar through where Kubernetes wants a list of strings; refuse it here.
    const values: unknown = r.values ?? [];
    if (!Array.isArray(values) || !values.every((v) => typeof v === "string")) {
      throw new UserError(
        `NodePool .spec.template.spec.requirements[${i}].values: must be a list of strings, got ${JSON.stringify(r.values)}`,
        'write it as a YAML list, e.g. values: ["D"]',
      );
    }
    if (r.key === "karpenter.azure.com/sku-family" && r.operator === "In") {
      // A family is a literal prefix of the SKU name ("D" → Standard_D2s_v5), never a pattern.
      allowed = allowed.filter((t) => values.some((f) => t.name.startsWith(`Standard_${f}`) && /^\d/.test(t.name.slice(`Standard_${f}`.length))));
    } else if (r.key === "node.kubernetes.io/instance-type" && r.operator === "In") {
      allowed = allowed.filter((t) => values.includes(t.name));
    }
  }
  if (allowed.length === 0) throw new UserError("NodePool requirements allow no instance type of the catalog", "widen karpenter.azure.com/sku-family or the catalog");
  const limits = np.spec?.limits ?? {};
  return {
    name: np.metadata?.name ?? "default",
    consolidationPolicy: legacy,
    consolidateAfterSeconds: durationSeconds(d.consolidateAfter, ".spec.disruption.consolidateAfter", 0),
    budgets: budgets.map((b) => ({ nodes: String(b.nodes) })),
    limits: {
      ...(limits.cpu !== undefined ? { cpuMillis: cpuMillis(limits.cpu) } : {}),
      ...(limits.memory !== undefined ? { memoryBytes: memoryBytes(limits.memory) } : {}),
    },
    catalog: allowed,
    ...(np.spec?.template?.spec?.taints?.length ? { taints: np.spec.template.spec.taints } : {}),
    ...(np.spec?.template?.metadata?.labels ? { labels: np.spec.template.metadata.labels } : {}),
  };
}

export function parseNodePoolYaml(text: string, source: string, catalog: InstanceType[]): { manifest: NodePoolManifest; settings: PoolSettings } {
  const doc = parseUserYamlDocuments(text, source).find((d) => (d as { kind?: string } | null)?.kind === "NodePool");
  if (!doc) throw new UserError(`${source} has no NodePool document`, "pass a karpenter.sh/v1 NodePool");
  return { manifest: doc as NodePoolManifest, settings: poolSettings(doc as NodePoolManifest, catalog) };
}

/**
 * Karpenter's provisioning batch window (pkg/controllers/provisioning/batcher.go Batcher.Wait): opens on
 * the first trigger (a pod that became pending); closes after BATCH_IDLE_DURATION (1 s) without a new
 * trigger, or BATCH_MAX_DURATION (10 s) after it opened. The runtime polls `due` from a timer; the
 * simulator jumps to `dueAt()`.
 */
export class Batcher {
  private openedAt?: number;
  private lastTriggerAt?: number;

  constructor(
    private readonly idle = KARPENTER.batchIdleSeconds,
    private readonly max = KARPENTER.batchMaxSeconds,
  ) {}

  /** Call whenever pods become pending. */
  trigger(now: number): void {
    this.openedAt ??= now;
    this.lastTriggerAt = now;
  }

  /** True once the window has closed (and resets it). */
  due(now: number): boolean {
    if (this.openedAt === undefined) return false;
    if (now - this.lastTriggerAt! >= this.idle || now - this.openedAt >= this.max) {
      this.openedAt = undefined;
      this.lastTriggerAt = undefined;
      return true;
    }
    return false;
  }

  get open(): boolean {
    return this.openedAt !== undefined;
  }

  /** When the open window closes (Infinity when none is open). */
  dueAt(): number {
    if (this.openedAt === undefined) return Infinity;
    return Math.min(this.lastTriggerAt! + this.idle, this.openedAt + this.max);
  }
}

/**
 * Consolidation's candidate → validate → act (pkg/controllers/disruption/validation.go): a command computed
 * at time t is re-checked once consolidationTTL (15 s, consolidation.go) has passed — the candidates must
 * still be disruptable and the simulation must still give the same answer — before anything is disrupted.
 * The queue holds proposals until they are due; the caller re-runs consolidation then and acts only on
 * a proposal it gives again.
 */
export class ValidationQueue {
  private readonly items: { node: string; action: Disruption["action"]; also?: string[]; since: number; at: number }[] = [];

  constructor(private readonly delay = KARPENTER.validationSeconds) {}

  /** Queues decisions none of whose nodes is already waiting. */
  propose(now: number, decisions: Disruption[]): void {
    for (const d of decisions) {
      const nodes = [d.node, ...(d.also ?? [])];
      if (this.items.some((i) => [i.node, ...(i.also ?? [])].some((n) => nodes.includes(n)))) continue;
      this.items.push({ node: d.node, action: d.action, ...(d.also ? { also: d.also } : {}), since: now, at: now + this.delay });
    }
  }

  /** Proposals whose validation time has come (removed from the queue). `eps`: slack for float times. */
  due(now: number, eps = 0): { node: string; action: Disruption["action"]; also?: string[]; since: number }[] {
    const out: { node: string; action: Disruption["action"]; also?: string[]; since: number }[] = [];
    for (let i = 0; i < this.items.length; i++) {
      const it = this.items[i]!;
      if (it.at > now + eps) continue;
      this.items.splice(i--, 1);
      out.push({ node: it.node, action: it.action, ...(it.also ? { also: it.also } : {}), since: it.since });
    }
    return out;
  }

  nextAt(): number {
    let next = Infinity;
    for (const i of this.items) next = Math.min(next, i.at);
    return next;
  }

  get size(): number {
    return this.items.length;
  }
}

/** The validated form of a proposal: the same node(s) and action in a fresh consolidation pass, or nothing. */
export function revalidate(proposal: { node: string; action: Disruption["action"]; also?: string[] }, fresh: Disruption[]): Disruption | undefined {
  const key = (a?: string[]) => [...(a ?? [])].sort().join(",");
  return fresh.find((d) => d.node === proposal.node && d.action === proposal.action && key(d.also) === key(proposal.also));
}

/**
 * When a node's consolidateAfter clock starts (nodeclaim/disruption/consolidation.go): its last pod event
 * (a pod bound or gone), or, before any, when it was initialized (Ready).
 */
export function idleSince(readyAt: number, lastPodEventAt: number | undefined): number {
  return lastPodEventAt === undefined ? readyAt : Math.max(readyAt, lastPodEventAt);
}

/** Nodes a disruption budget allows to disrupt now: roundup(total × pct) − deleting − notReady (min over budgets). */
export function budgetAllowed(budgets: { nodes: string }[], total: number, deleting: number, notReady: number): number {
  let allowed = Infinity;
  for (const b of budgets) {
    const n = b.nodes.endsWith("%") ? Math.ceil((total * Number(b.nodes.slice(0, -1))) / 100) : Number(b.nodes);
    allowed = Math.min(allowed, n - deleting - notReady);
  }
  return Math.max(0, allowed === Infinity ? 0 : allowed);
}

/**
 * A pod as consolidation's scheduling simulation sees it: its requests and tolerations (plain requests
 * tolerate nothing). `ownNodesOnly`: a capacity buffer's phantom pod, room the NodePool keeps on its own
 * nodes, so it never moves onto a node Karpenter does not own.
 */
export type PodView = Resources & { tolerations?: SchedToleration[]; ownNodesOnly?: boolean };

export interface NodeView {
  name: string;
  type: InstanceType;
  /** The workload pods bound to it. */
  pods: PodView[];
  /** Its taints; a NodePool's node without them carries the pool's template taints. */
  taints?: SchedTaint[];
  ready: boolean;
  deleting: boolean;
  /** Last pod bind or removal (consolidateAfter counts from here). */
  lastPodEventAt: number;
}

export interface Disruption {
  node: string;
  /** Multi-node consolidation: the other nodes of the same command (deleted together). */
  also?: string[];
  action: "delete" | "replace";
  replacement?: InstanceType;
  reason: "Empty" | "Underutilized";
  message: string;
}

/**
 * One disruption pass (every 10 s): empty nodes first (all the budget allows), then, with
 * WhenEmptyOrUnderutilized, multi-node consolidation (multinodeconsolidation.go, see multiNodeConsolidation:
 * the most candidates, in disruption-cost order, removed in one command, with at most one cheaper
 * replacement), then single-node (singlenodeconsolidation.go ComputeCommands: the first candidate, in the
 * same order, for which the same computeConsolidation check gives a command).
 * Only nodes quiet for consolidateAfter are candidates. As Karpenter's scheduling simulation does, pending
 * pods (`pending`) must still fit after the change: capacity they would use is not removed.
 *
 * `nodes` are the NodePool's own nodes (candidates, counted by its budgets). `others` are the cluster's
 * other nodes (an AKS cluster's static agent pools): never candidates, since Karpenter disrupts only the
 * nodes it owns, but destinations like any node in upstream's simulation (SimulateScheduling schedules onto
 * every node of the cluster state), by their taints (scheduling.ts `tolerates`) and free room.
 */
export function consolidate(pool: PoolSettings, nodes: NodeView[], now: number, pending: PodView[] = [], others: NodeView[] = []): Disruption[] {
  if (pool.consolidateAfterSeconds === undefined) return [];
  const own = nodes.map((n) => (n.taints ? n : { ...n, taints: pool.taints ?? [] }));
  const foreign = others.filter((n) => n.ready && !n.deleting).map((n) => ({ ...n, taints: n.taints ?? [], foreign: true }));
  const live = own.filter((n) => !n.deleting);
  const deleting = own.filter((n) => n.deleting).length;
  const notReady = live.filter((n) => !n.ready).length;
  let allowed = budgetAllowed(pool.budgets, own.length, deleting, notReady);
  if (allowed <= 0) return [];
  const quiet = (n: NodeView) => n.ready && now - n.lastPodEventAt >= pool.consolidateAfterSeconds!;
  const out: Disruption[] = [];
  const removed = new Set<NodeView>();
  const pendingNote = pending.length > 0 ? ` (the ${pending.length} pending pod(s) still fit)` : "";
  for (const n of live) {
    if (allowed <= 0) break;
    if (n.pods.length === 0 && quiet(n)) {
      // Pending pods that need this node's room keep it.
      if (pending.length > 0 && leftOver(pending, [...live.filter((x) => x !== n && !removed.has(x) && x.ready), ...foreign]).length > 0) continue;
      removed.add(n);
      out.push({
        node: n.name,
        action: "delete",
        reason: "Empty",
        message: `empty for ${Math.round(now - n.lastPodEventAt)} s ≥ consolidateAfter ${pool.consolidateAfterSeconds} s${pendingNote}`,
      });
      allowed--;
    }
  }
  if (out.length > 0 || pool.consolidationPolicy === "WhenEmpty" || allowed <= 0) return out;
  // Cheapest disruption first (fewest pods, then lowest price).
  const candidates = live.filter((n) => n.pods.length > 0 && quiet(n)).sort((a, b) => a.pods.length - b.pods.length || a.type.pricePerHour - b.type.pricePerHour);
  const multi = multiNodeConsolidation(pool, candidates.slice(0, allowed), live, pending, foreign);
  if (multi) return [multi];
  for (const c of candidates) {
    const cmd = computeConsolidation(pool, [c], live, pending, foreign);
    if (cmd) return [cmd];
  }
  return [];
}

/** Whether all `pods` fit into the free room of `nodes` they tolerate (first fit, largest first). */
export function fitsOn(pods: PodView[], nodes: NodeView[]): boolean {
  return leftOver(pods, nodes).length === 0;
}

/**
 * The `pods` that fit nowhere in the free room of `nodes` (first fit, largest first): a node takes a pod
 * when the pod tolerates its taints (the scheduler's own predicate) and has the room; a node Karpenter does
 * not own (`foreign`) takes no buffer pod.
 */
function leftOver(pods: PodView[], nodes: (NodeView & { foreign?: boolean })[]): PodView[] {
  const rooms: Room[] = nodes.map((n) => {
    let r = roomOf(n.type);
    for (const p of n.pods) r = take(r, p);
    return r;
  });
  const out: PodView[] = [];
  for (const p of [...pods].sort((a, b) => b.cpuMillis - a.cpuMillis)) {
    const i = rooms.findIndex((r, k) => fits(p, r) && !(p.ownNodesOnly && nodes[k]!.foreign) && tolerates(p.tolerations ?? [], nodes[k]!.taints ?? []));
    if (i < 0) out.push(p);
    else rooms[i] = take(rooms[i]!, p);
  }
  return out;
}

/**
 * Multi-node consolidation (pkg/controllers/disruption/multinodeconsolidation.go ComputeCommand and
 * firstNConsolidationOption): a binary search over the size of a prefix of the candidates (disruption-cost
 * order, already cut to what the budget allows, at most 100 as maxParallel), keeping the largest prefix
 * whose command is valid. Always two candidates or more (single-node consolidation covers one). Like
 * upstream's, the search assumes validity shrinks with the prefix and may miss a larger valid prefix
 * behind an invalid one.
 */
function multiNodeConsolidation(pool: PoolSettings, candidates: NodeView[], live: NodeView[], pending: PodView[], foreign: NodeView[]): Disruption | undefined {
  if (candidates.length < 2) return undefined;
  const maxParallel = Math.min(candidates.length, 100);
  let min = 1;
  let max = candidates.length <= maxParallel ? candidates.length - 1 : maxParallel;
  let saved: Disruption | undefined;
  while (min <= max) {
    const mid = Math.floor((min + max) / 2);
    const cmd = computeConsolidation(pool, candidates.slice(0, mid + 1), live, pending, foreign);
    if (cmd) {
      saved = cmd;
      min = mid + 1;
    } else max = mid - 1;
  }
  return saved;
}

/**
 * One consolidation command, single- or multi-node (consolidation.go computeConsolidation, with
 * multinodeconsolidation.go's filterOutSameType): the candidates' pods and the pending ones are scheduled
 * on the nodes that stay, the NodePool's and the cluster's others (`foreign`) alike; if all fit, the
 * candidates are deleted. Otherwise what is left must fit one new node (never more: "we're
 * not going to turn a single node into multiple"), of a type cheaper than the candidates together
 * (getCandidatePrices) and cheaper than any candidate's own type that could hold it (filterOutSameType:
 * else deleting fewer nodes would do; for one candidate "cheaper than the candidate" already excludes its
 * own type). What is left must tolerate the NodePool's taints to go on its new node. On-demand only, so
 * spot-to-spot rules do not apply.
 */
function computeConsolidation(pool: PoolSettings, group: NodeView[], live: NodeView[], pending: PodView[], foreign: NodeView[]): Disruption | undefined {
  const staying = live.filter((n) => !group.includes(n));
  const rest = [...staying.filter((n) => n.ready), ...foreign];
  const kind = group.length > 1 ? "multi-node" : "single-node";
  const also = group.length > 1 ? { also: group.slice(1).map((g) => g.name) } : {};
  const pods = group.reduce((a, g) => a + g.pods.length, 0);
  const names = group.map((g) => `${g.name}/${g.type.name}/on-demand`).join(", ");
  const pendingNote = pending.length > 0 ? ` (the ${pending.length} pending pod(s) still fit)` : "";
  const left = leftOver([...group.flatMap((g) => g.pods), ...pending], rest);
  // Karpenter's Command.String(): "<decision>, terminating <n> nodes (<pods> pods) <name/type/capacity>, …".
  const command = (decision: string) => `${decision}, terminating ${group.length} nodes (${pods} pods) ${names}`;
  if (left.length === 0) {
    return {
      node: group[0]!.name,
      ...also,
      action: "delete",
      reason: "Underutilized",
      message: `${command("delete")}: ${kind}, ${group.length > 1 ? "their" : "its"} pods fit on the other ${rest.length} node(s)${pendingNote}`,
    };
  }
  if (left.some((p) => !tolerates(p.tolerations ?? [], pool.taints ?? []))) return undefined;
  const candidatePrice = group.reduce((a, g) => a + g.type.pricePerHour, 0);
  // The replacement's options: types that hold what is left on one node, cheaper than the candidates together.
  const used = usedBy(staying);
  const holds = (t: InstanceType) => fitsOneNode(left, t, pool.limits, used);
  let options = pool.catalog.filter((t) => t.pricePerHour < candidatePrice && holds(t));
  const sameType = options.filter((t) => group.some((g) => g.type.name === t.name));
  if (sameType.length > 0) {
    const maxPrice = Math.min(...sameType.map((t) => t.pricePerHour));
    options = options.filter((t) => t.pricePerHour < maxPrice);
  }
  if (options.length === 0) return undefined;
  const t = [...options].sort((a, b) => a.pricePerHour - b.pricePerHour)[0]!;
  return {
    node: group[0]!.name,
    ...also,
    action: "replace",
    replacement: t,
    reason: "Underutilized",
    message: `${command("replace")} and replacing with on-demand node from types ${t.name}: ${kind}, ${left.length} pod(s) fit no other node; $${round4(t.pricePerHour)}/h < $${round4(candidatePrice)}/h${group.length > 1 ? " together" : ""}${pendingNote}`,
  };
}

/** What the given nodes take from the NodePool's limits. */
function usedBy(nodes: NodeView[]): Resources {
  return nodes.reduce((a, n) => ({ cpuMillis: a.cpuMillis + n.type.cpuMillis, memoryBytes: a.memoryBytes + n.type.memoryBytes }), { cpuMillis: 0, memoryBytes: 0 });
}

const round4 = (n: number) => Math.round(n * 10000) / 10000;

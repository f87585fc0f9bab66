import assert from "node:assert/strict";
import { test } from "node:test";
import { seedNodePool } from "../../src/blueprints/edw.js";
import { UserError } from "../../src/errors.js";
import type { InstanceType } from "../../src/scaling/catalog.js";
import { TEST_CATALOG as DEFAULT_CATALOG } from "./fixture-catalog.js";
import {
  Batcher,
  ValidationQueue,
  budgetAllowed,
  consolidate,
  durationSeconds,
  fitsOn,
  poolSettings,
  revalidate,
  type NodeView,
  type PoolSettings,
} from "../../src/scaling/karpenter.js";
import { planLaunch } from "../../src/scaling/packing.js";
import type { Resources } from "../../src/scaling/quantity.js";

const POD: Resources = { cpuMillis: 250, memoryBytes: 64 * 1024 ** 2 };
const pods = (n: number) => new Array<Resources>(n).fill(POD);
const type = (name: string): InstanceType => DEFAULT_CATALOG.find((t) => t.name === name)!;
const pool = (over: Partial<PoolSettings> = {}): PoolSettings => ({ ...poolSettings(seedNodePool(), DEFAULT_CATALOG), ...over });
const node = (name: string, t: string, n: number, lastPodEventAt = 0, over: Partial<NodeView> = {}): NodeView => ({
  name,
  type: type(t),
  pods: pods(n),
  ready: true,
  deleting: false,
  lastPodEventAt,
  ...over,
});

test("seed NodePool resolves: D family, WhenEmptyOrUnderutilized, consolidateAfter 0 s, budget 100 %", () => {
  const p = pool();
  assert.deepEqual([p.consolidationPolicy, p.consolidateAfterSeconds, p.budgets], ["WhenEmptyOrUnderutilized", 0, [{ nodes: "100%" }]]);
  assert.deepEqual(
    p.catalog.map((t) => t.name),
    DEFAULT_CATALOG.map((t) => t.name),
  );
});

test("NodePool defaults: WhenEmptyOrUnderutilized, consolidateAfter 0 s, budget 10 % — pkg/apis/v1/nodepool.go", () => {
  const np = seedNodePool();
  delete np.spec.disruption;
  const p = poolSettings(np, DEFAULT_CATALOG);
  assert.deepEqual([p.consolidationPolicy, p.consolidateAfterSeconds, p.budgets], ["WhenEmptyOrUnderutilized", 0, [{ nodes: "10%" }]]);
});

test("durations: s, m, h, Never; anything else is a UserError naming the path", () => {
  assert.deepEqual([durationSeconds("30s", "", 0), durationSeconds("5m", "", 0), durationSeconds("1h", "", 0), durationSeconds("Never", "", 0)], [30, 300, 3600, undefined]);
  assert.throws(
    () => durationSeconds("soon", ".spec.disruption.consolidateAfter", 0),
    (e: unknown) => e instanceof UserError && e.message.includes(".spec.disruption.consolidateAfter"),
  );
  const np = seedNodePool();
  np.spec.disruption!.budgets = [{ nodes: "ten" }];
  assert.throws(
    () => poolSettings(np, DEFAULT_CATALOG),
    (e: unknown) => e instanceof UserError && e.message.includes(".spec.disruption.budgets[0].nodes"),
  );
});

test("requirements: values must be a list of strings; a family is a literal SKU prefix, not a pattern", () => {
  const np = seedNodePool();
  const reqs = np.spec.template.spec.requirements!;
  const family = reqs.findIndex((r) => r.key === "karpenter.azure.com/sku-family");
  assert.ok(family >= 0, "the seed NodePool names a SKU family");
  (reqs[family] as { values: unknown }).values = "D";
  assert.throws(
    () => poolSettings(np, DEFAULT_CATALOG),
    (e: unknown) => e instanceof UserError && e.message.includes(`requirements[${family}].values: must be a list of strings`),
  );
  // A family with regular-expression characters matches nothing (and throws no SyntaxError).
  (reqs[family] as { values: unknown }).values = ["(D"];
  assert.throws(
    () => poolSettings(np, DEFAULT_CATALOG),
    (e: unknown) => e instanceof UserError && e.message.includes("allow no instance type"),
  );
});

test("NodePool structure: a map where the CRD wants a list (or a scalar where it wants a map) is one line naming the path", () => {
  const np = seedNodePool();
  (np.spec.disruption as { budgets: unknown }).budgets = { nodes: "100%" };
  assert.throws(
    () => poolSettings(np, DEFAULT_CATALOG),
    (e: unknown) => e instanceof UserError && e.message.includes(".spec.disruption.budgets: must be a list"),
  );
  const np2 = seedNodePool();
  (np2.spec.template.spec as { requirements: unknown }).requirements = ["D"];
  assert.throws(
    () => poolSettings(np2, DEFAULT_CATALOG),
    (e: unknown) => e instanceof UserError && e.message.includes(".spec.template.spec.requirements[0]: must be a map"),
  );
});

test("Batcher: closes 1 s after the last trigger — batcher.go BATCH_IDLE_DURATION", () => {
  const b = new Batcher();
  b.trigger(0);
  b.trigger(0.5);
  assert.equal(b.due(1.25), false);
  assert.equal(b.due(1.5), true);
  assert.equal(b.open, false);
});

test("Batcher: closes 10 s after opening under steady triggers — BATCH_MAX_DURATION", () => {
  const b = new Batcher();
  const closedAt: number[] = [];
  for (let t = 0; t <= 12; t += 0.5) {
    b.trigger(t);
    if (b.due(t)) closedAt.push(t);
  }
  assert.deepEqual(closedAt, [10]);
});

const budgetCases: { name: string; budgets: string[]; total: number; deleting: number; notReady: number; want: number }[] = [
  { name: "10 % of 3 rounds up to 1", budgets: ["10%"], total: 3, deleting: 0, notReady: 0, want: 1 },
  { name: "10 % of 10 is 1", budgets: ["10%"], total: 10, deleting: 0, notReady: 0, want: 1 },
  { name: "10 % of 11 rounds up to 2", budgets: ["10%"], total: 11, deleting: 0, notReady: 0, want: 2 },
  { name: "50 % of 3 rounds up to 2", budgets: ["50%"], total: 3, deleting: 0, notReady: 0, want: 2 },
  { name: "absolute minus deleting and not ready", budgets: ["3"], total: 10, deleting: 1, notReady: 1, want: 1 },
  { name: "min over budgets", budgets: ["100%", "2"], total: 10, deleting: 0, notReady: 0, want: 2 },
  { name: "0 blocks disruption", budgets: ["0"], total: 10, deleting: 0, notReady: 0, want: 0 },
  { name: "never negative", budgets: ["1"], total: 10, deleting: 3, notReady: 0, want: 0 },
];
for (const c of budgetCases) {
  test(`budgetAllowed: ${c.name} — disruption.md roundup(total × pct) − deleting − notReady`, () => {
    assert.equal(
      budgetAllowed(
        c.budgets.map((nodes) => ({ nodes })),
        c.total,
        c.deleting,
        c.notReady,
      ),
      c.want,
    );
  });
}

const launchCases: { name: string; rule: string; n: number; limits?: { cpuMillis?: number; memoryBytes?: number }; used?: Resources; want: string[]; unschedulable: number }[] = [
  { name: "4 pods → one D2s", rule: "cheapest offering that fits (offering_rank.go)", n: 4, want: ["Standard_D2s_v5"], unschedulable: 0 },
  { name: "7 pods fill a D2s (1900m / 250m)", rule: "cheapest offering that fits", n: 7, want: ["Standard_D2s_v5"], unschedulable: 0 },
  { name: "8 pods → one D4s, not two D2s", rule: "fewest nodes: the largest type's share, at the cheapest type holding it", n: 8, want: ["Standard_D4s_v5"], unschedulable: 0 },
  { name: "30 pods (maxPods 30) → one D8s", rule: "maxPods bounds every size; D8s is the cheapest holding 30", n: 30, want: ["Standard_D8s_v5"], unschedulable: 0 },
  { name: "31 pods → D8s + D2s", rule: "first-fit decreasing over new NodeClaims", n: 31, want: ["Standard_D8s_v5", "Standard_D2s_v5"], unschedulable: 0 },
  {
    name: "cpu limit 9: the second node would exceed it",
    rule: "spec.limits: no launch past the limit",
    n: 40,
    limits: { cpuMillis: 9000 },
    want: ["Standard_D8s_v5"],
    unschedulable: 10,
  },
  {
    name: "cpu limit 5: a smaller type within the limit is still launched",
    rule: "scheduler.go filterByRemainingResources",
    n: 16,
    limits: { cpuMillis: 5000 },
    want: ["Standard_D4s_v5"],
    unschedulable: 1,
  },
  {
    name: "existing usage counts against the limit",
    rule: "limits count what the pool already has",
    n: 4,
    limits: { cpuMillis: 4000 },
    used: { cpuMillis: 3000, memoryBytes: 0 },
    want: [],
    unschedulable: 4,
  },
  { name: "memory limit", rule: "spec.limits.memory", n: 4, limits: { memoryBytes: 4 * 1024 ** 3 }, want: [], unschedulable: 4 },
];
for (const c of launchCases) {
  test(`planLaunch: ${c.name} — ${c.rule}`, () => {
    const plan = planLaunch(pods(c.n), DEFAULT_CATALOG, c.limits ?? {}, c.used);
    assert.deepEqual(
      plan.nodes.map((n) => n.type.name),
      c.want,
    );
    assert.equal(plan.unschedulable.length, c.unschedulable);
    assert.equal(plan.nodes.reduce((s, n) => s + n.pods.length, 0) + plan.unschedulable.length, c.n);
  });
}

test("planLaunch: a pod larger than every type is unschedulable", () => {
  const plan = planLaunch([{ cpuMillis: 64000, memoryBytes: 1 }], DEFAULT_CATALOG);
  assert.deepEqual([plan.nodes.length, plan.unschedulable], [0, [0]]);
});

const consolidationCases: { name: string; rule: string; pool?: Partial<PoolSettings>; nodes: NodeView[]; now: number; want: string[]; pending?: number }[] = [
  {
    name: "multi-node: three light nodes whose pods fit on the fourth → one command for the three",
    rule: "multinodeconsolidation.go firstNConsolidationOption: largest prefix of candidates",
    nodes: [node("a", "Standard_D2s_v5", 1), node("b", "Standard_D2s_v5", 1), node("c", "Standard_D2s_v5", 1), node("d", "Standard_D4s_v5", 5)],
    now: 10,
    want: ["a+b,c:delete:Underutilized"],
  },
  {
    name: "multi-node stops at what fits: two of three (the third's pods would need a D2s, its own type)",
    rule: "multinodeconsolidation.go firstNConsolidationOption + filterOutSameType",
    nodes: [node("a", "Standard_D2s_v5", 2), node("b", "Standard_D2s_v5", 2), node("c", "Standard_D2s_v5", 3), node("d", "Standard_D4s_v5", 11)],
    now: 10,
    want: ["a+b:delete:Underutilized"],
  },
  {
    name: "multi-node replace: three half-empty D4s whose pods fit on no other node but on one D8s, cheaper than the three",
    rule: "multinodeconsolidation.go firstNConsolidationOption → consolidation.go computeConsolidation (one new NodeClaim, cheaper than getCandidatePrices)",
    nodes: [node("a", "Standard_D4s_v5", 7), node("b", "Standard_D4s_v5", 7), node("c", "Standard_D4s_v5", 7), node("full", "Standard_D8s_v5", 30)],
    now: 10,
    want: ["a+b,c:replace:Underutilized:Standard_D8s_v5"],
  },
  {
    name: "multi-node replace of two: a D2s for what the third cannot take (the D4s, a candidate's own type, is filtered out)",
    rule: "multinodeconsolidation.go filterOutSameType",
    pool: { budgets: [{ nodes: "2" }] },
    nodes: [node("a", "Standard_D4s_v5", 7), node("b", "Standard_D4s_v5", 7), node("c", "Standard_D4s_v5", 7)],
    now: 10,
    want: ["a+b:replace:Underutilized:Standard_D2s_v5"],
  },
  {
    name: "multi-node: a replacement not cheaper than the candidates together → no action",
    rule: "consolidation.go computeConsolidation: RemoveInstanceTypeOptionsByPriceAndMinValues(candidatePrice)",
    nodes: [node("a", "Standard_D2s_v5", 5), node("b", "Standard_D2s_v5", 5)],
    now: 10,
    want: [],
  },
  {
    name: "multi-node: pending pods count — with 10 waiting, three D4s no longer fit one node; only a single-node replace is left",
    rule: "SimulateScheduling includes pending pods",
    nodes: [node("a", "Standard_D4s_v5", 7), node("b", "Standard_D4s_v5", 7), node("c", "Standard_D4s_v5", 7)],
    now: 10,
    pending: 10,
    want: ["a:replace:Underutilized:Standard_D2s_v5"],
  },
  {
    name: "multi-node: the same three D4s with nothing pending → one D8s replaces them",
    rule: "multinodeconsolidation.go firstNConsolidationOption",
    nodes: [node("a", "Standard_D4s_v5", 7), node("b", "Standard_D4s_v5", 7), node("c", "Standard_D4s_v5", 7)],
    now: 10,
    want: ["a+b,c:replace:Underutilized:Standard_D8s_v5"],
  },
  {
    name: "an empty node that pending pods need is kept",
    rule: "SimulateScheduling includes pending pods",
    nodes: [node("a", "Standard_D2s_v5", 0), node("b", "Standard_D2s_v5", 7)],
    now: 10,
    pending: 3,
    want: [],
  },
  {
    name: "an empty node is deleted when the pending pods fit elsewhere",
    rule: "SimulateScheduling includes pending pods",
    nodes: [node("a", "Standard_D2s_v5", 0), node("b", "Standard_D2s_v5", 4)],
    now: 10,
    pending: 3,
    want: ["a:delete:Empty"],
  },
  {
    name: "underutilized node not deleted when its pods and the pending ones would not fit on the rest: replaced by a cheaper one instead",
    rule: "SimulateScheduling includes pending pods",
    nodes: [node("a", "Standard_D4s_v5", 2), node("b", "Standard_D4s_v5", 10)],
    now: 10,
    pending: 4,
    want: ["a:replace:Underutilized:Standard_D2s_v5"],
  },
  {
    name: "without the pending pods the same node is deleted",
    rule: "SimulateScheduling includes pending pods",
    nodes: [node("a", "Standard_D4s_v5", 2), node("b", "Standard_D4s_v5", 10)],
    now: 10,
    want: ["a:delete:Underutilized"],
  },
  { name: "empty and quiet → delete (Empty)", rule: "emptiness.go", nodes: [node("a", "Standard_D2s_v5", 0), node("b", "Standard_D2s_v5", 3)], now: 10, want: ["a:delete:Empty"] },
  {
    name: "empty but inside consolidateAfter → kept",
    rule: "consolidateAfter from lastPodEventTime",
    pool: { consolidateAfterSeconds: 30 },
    nodes: [node("a", "Standard_D2s_v5", 0, 0), node("b", "Standard_D2s_v5", 3, 0)],
    now: 20,
    want: [],
  },
  {
    name: "consolidateAfter Never → nothing",
    rule: "consolidateAfter: Never disables consolidation",
    pool: { consolidateAfterSeconds: undefined },
    nodes: [node("a", "Standard_D2s_v5", 0)],
    now: 100,
    want: [],
  },
  { name: "not-ready node is not a candidate", rule: "only initialized nodes are disrupted", nodes: [node("a", "Standard_D2s_v5", 0, 0, { ready: false })], now: 100, want: [] },
  {
    name: "budget 10 % of 3 empty nodes → 1",
    rule: "budgets cap disruptions per pass",
    pool: { budgets: [{ nodes: "10%" }] },
    nodes: [node("a", "Standard_D2s_v5", 0), node("b", "Standard_D2s_v5", 0), node("c", "Standard_D2s_v5", 0)],
    now: 10,
    want: ["a:delete:Empty"],
  },
  {
    name: "budget 100 % → every empty node",
    rule: "budgets",
    nodes: [node("a", "Standard_D2s_v5", 0), node("b", "Standard_D2s_v5", 0)],
    now: 10,
    want: ["a:delete:Empty", "b:delete:Empty"],
  },
  {
    name: "underutilized: pods fit on the others → delete",
    rule: "singlenodeconsolidation.go: fewest pods first",
    nodes: [node("a", "Standard_D4s_v5", 2), node("b", "Standard_D4s_v5", 13)],
    now: 10,
    want: ["a:delete:Underutilized"],
  },
  {
    name: "two underutilized D4s: multi-node comes first and replaces both by one D2s rather than deleting one",
    rule: "disruption controller order: emptiness, multi-node, then single-node consolidation",
    nodes: [node("a", "Standard_D4s_v5", 2), node("b", "Standard_D4s_v5", 5)],
    now: 10,
    want: ["a+b:replace:Underutilized:Standard_D2s_v5"],
  },
  {
    name: "WhenEmpty ignores underutilized nodes",
    rule: "consolidationPolicy WhenEmpty",
    pool: { consolidationPolicy: "WhenEmpty" },
    nodes: [node("a", "Standard_D4s_v5", 2), node("b", "Standard_D4s_v5", 5)],
    now: 10,
    want: [],
  },
  {
    name: "lone D8s with 2 pods → replace with a cheaper D2s",
    rule: "consolidation replace: cheaper single node",
    nodes: [node("a", "Standard_D8s_v5", 2)],
    now: 10,
    want: ["a:replace:Underutilized:Standard_D2s_v5"],
  },
  { name: "already the cheapest type that fits → kept", rule: "replace only when cheaper", nodes: [node("a", "Standard_D2s_v5", 1)], now: 10, want: [] },
];
for (const c of consolidationCases) {
  test(`consolidate: ${c.name} — ${c.rule}`, () => {
    const got = consolidate(pool(c.pool), c.nodes, c.now, pods(c.pending ?? 0)).map((d) =>
      [d.also ? `${d.node}+${d.also.join(",")}` : d.node, d.action, d.reason, ...(d.replacement ? [d.replacement.name] : [])].join(":"),
    );
    assert.deepEqual(got, c.want);
  });
}

test("multi-node replace: the message is Karpenter's command string, with the prices compared", () => {
  const [d] = consolidate(pool(), [node("a", "Standard_D4s_v5", 7), node("b", "Standard_D4s_v5", 7), node("c", "Standard_D4s_v5", 7)], 10);
  assert.equal(
    d?.message,
    "replace, terminating 3 nodes (21 pods) a/Standard_D4s_v5/on-demand, b/Standard_D4s_v5/on-demand, c/Standard_D4s_v5/on-demand and replacing with on-demand node from types Standard_D8s_v5: multi-node, 21 pod(s) fit no other node; $0.384/h < $0.576/h together",
  );
});

test("ValidationQueue: a command waits 15 s; no other proposal may take one of its nodes meanwhile — validation.go", () => {
  const q = new ValidationQueue();
  const multi = { node: "a", also: ["b", "c"], action: "replace" as const, reason: "Underutilized" as const, message: "m" };
  q.propose(0, [multi]);
  q.propose(5, [{ node: "b", action: "delete", reason: "Underutilized", message: "single" }]);
  assert.equal(q.size, 1);
  assert.deepEqual(q.due(14.9), []);
  const [due] = q.due(15);
  assert.deepEqual([due?.node, due?.also, due?.since], ["a", ["b", "c"], 0]);
  // Re-validation asks for the same nodes and action: the same three in another order still match, two do not.
  assert.ok(revalidate(due!, [{ ...multi, also: ["c", "b"] }]));
  assert.equal(revalidate(due!, [{ ...multi, also: ["b"] }]), undefined);
  assert.equal(revalidate(due!, [{ ...multi, action: "delete" }]), undefined);
});

test("fitsOn: counts the room left on each node", () => {
  assert.equal(fitsOn(pods(3), [node("b", "Standard_D2s_v5", 4)]), true);
  assert.equal(fitsOn(pods(4), [node("b", "Standard_D2s_v5", 4)]), false);
});

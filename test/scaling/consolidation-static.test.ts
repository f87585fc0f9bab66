// Consolidation onto nodes Karpenter does not own: upstream's disruption simulation
// (pkg/controllers/disruption/consolidation.go computeConsolidation → SimulateScheduling) schedules a
// candidate's pods onto every node of the cluster state, an AKS cluster's static agent pools included,
// when the pods tolerate the node's taints and fit; only the NodePool's own nodes are candidates.
// The cluster here is the seed's EDW cluster: systempool 3 × D2s_v5 tainted CriticalAddonsOnly, apppool
// 1 × D2s_v5 tainted deployment=aqs-app-pool, which the consumer tolerates.
import assert from "node:assert/strict";
import { test } from "node:test";
import { getBlueprint } from "../../src/blueprints/index.js";
import { seedNodePool, seedScaledObject } from "../../src/blueprints/edw.js";
import { nodeTypesFor, type InstanceType } from "../../src/scaling/catalog.js";
import { consolidate, poolSettings, type NodeView, type PodView } from "../../src/scaling/karpenter.js";
import { roomOf } from "../../src/scaling/packing.js";
import { scalingRuleFrom } from "../../src/scaling/scaledobject.js";
import type { SchedToleration } from "../../src/scaling/scheduling.js";
import { staticPoolNodes } from "../../src/scaling/static-pools.js";

const bp = getBlueprint("edw");
const cluster = bp.clusters[0]!;
const consumer = bp.apps.find((a) => a.name === scalingRuleFrom(seedScaledObject()).target)!;
const catalog = nodeTypesFor(cluster.addOns).catalog;
const pool = poolSettings(seedNodePool(), catalog);
/** Karpenter's nodes here are of the pool's cheapest type, so no cheaper replacement exists for them. */
const CHEAPEST: InstanceType = [...pool.catalog].sort((a, b) => a.pricePerHour - b.pricePerHour)[0]!;

const REQUESTS = { cpuMillis: 250, memoryBytes: 64 * 1024 ** 2 };
const CRITICAL: SchedToleration[] = [{ key: "CriticalAddonsOnly", operator: "Exists", effect: "NoSchedule" }];
const pods = (n: number, tolerations: SchedToleration[] = consumer.tolerations): PodView[] => new Array<PodView>(n).fill({ ...REQUESTS, tolerations });
const karpenterNode = (name: string, p: PodView[]): NodeView => ({ name, type: CHEAPEST, pods: p, ready: true, deleting: false, lastPodEventAt: 0 });

/** The seed cluster's static nodes as consolidation sees them; `apppool`: what is bound to the application pool's node. */
function staticNodes(apppool: "room" | "full"): NodeView[] {
  return staticPoolNodes(cluster).map((s) => ({
    name: `aks-${s.pool}-${String(s.index).padStart(5, "0")}`,
    type: s.type,
    taints: s.taints,
    // "room": two of the consumer's pods; "full": one pod that takes all its allocatable.
    pods: s.pool !== "apppool" ? [] : apppool === "room" ? pods(2) : [{ ...roomOf(s.type), tolerations: consumer.tolerations }],
    ready: true,
    deleting: false,
    lastPodEventAt: 0,
  }));
}

const cases: { name: string; rule: string; nodes: NodeView[]; apppool: "room" | "full"; pending?: PodView[]; want: string[] }[] = [
  {
    name: "a Karpenter node whose pods tolerate apppool's taint and fit in its free room → deleted",
    rule: "singlenodeconsolidation.go ComputeCommands → consolidation.go computeConsolidation: all pods scheduled on existing nodes → delete",
    nodes: [karpenterNode("a", pods(2))],
    apppool: "room",
    want: ["a:delete:Underutilized"],
  },
  {
    name: "the same pods without the toleration → kept (the node is already of the cheapest type)",
    rule: "SimulateScheduling honours taints: the apppool is not a destination for them",
    nodes: [karpenterNode("a", pods(2, []))],
    apppool: "room",
    want: [],
  },
  {
    name: "apppool full: systempool's CriticalAddonsOnly room is not used by the consumer → kept",
    rule: "SimulateScheduling honours taints: three empty systempool nodes are no destination",
    nodes: [karpenterNode("a", pods(2))],
    apppool: "full",
    want: [],
  },
  {
    name: "apppool full, pods that tolerate CriticalAddonsOnly → deleted onto the systempool",
    rule: "the taint is what kept the node above, not the room",
    nodes: [karpenterNode("a", pods(2, [...consumer.tolerations, ...CRITICAL]))],
    apppool: "full",
    want: ["a:delete:Underutilized"],
  },
  {
    name: "two Karpenter nodes whose pods fit the apppool together → one multi-node delete",
    rule: "multinodeconsolidation.go firstNConsolidationOption → computeConsolidation over the cluster's nodes",
    nodes: [karpenterNode("a", pods(1)), karpenterNode("b", pods(2))],
    apppool: "room",
    want: ["a+b:delete:Underutilized"],
  },
  {
    name: "pending pods that do not tolerate apppool's taint keep the node whose room they need",
    rule: "SimulateScheduling includes pending pods; no replacement is cheaper",
    nodes: [karpenterNode("a", pods(2))],
    apppool: "room",
    pending: pods(3, []),
    want: [],
  },
  {
    name: "static nodes are never candidates, even empty",
    rule: "disruption only considers nodes Karpenter owns (a NodeClaim of a NodePool)",
    nodes: [],
    apppool: "room",
    want: [],
  },
];

for (const c of cases) {
  test(`consolidate with static nodes: ${c.name} — ${c.rule}`, () => {
    const others = staticNodes(c.apppool);
    const got = consolidate(pool, c.nodes, 10, c.pending ?? [], others).map((d) =>
      [d.also ? `${d.node}+${d.also.join(",")}` : d.node, d.action, d.reason, ...(d.replacement ? [d.replacement.name] : [])].join(":"),
    );
    assert.deepEqual(got, c.want);
  });
}

test("consolidate with static nodes: the command counts the static nodes among the destinations", () => {
  const [d] = consolidate(pool, [karpenterNode("a", pods(2))], 10, [], staticNodes("room"));
  assert.equal(d?.message, `delete, terminating 1 nodes (2 pods) a/${CHEAPEST.name}/on-demand: single-node, its pods fit on the other 4 node(s)`);
});

test("consolidate with static nodes: without them, the same node is kept — they are what makes room", () => {
  assert.deepEqual(consolidate(pool, [karpenterNode("a", pods(2))], 10, []), []);
});

// kube-scheduler's decision as a pure function: filters (cordon, taints, room, hard spread), scores
// (soft spread, LeastAllocated) and the FailedScheduling message in the scheduler's own words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { schedulePod, type SchedNode, type SchedPod, type SchedTaint } from "../../src/scaling/scheduling.js";

const GiB = 1024 ** 3;

function node(
  name: string,
  o: {
    cpu?: number;
    memGi?: number;
    pods?: number;
    usedCpu?: number;
    usedMemGi?: number;
    usedPods?: number;
    taints?: SchedTaint[];
    unschedulable?: boolean;
    labels?: Record<string, string>;
    podLabels?: Record<string, string>[];
  } = {},
): SchedNode {
  const capacity = { cpuMillis: o.cpu ?? 2000, memoryBytes: (o.memGi ?? 4) * GiB, pods: o.pods ?? 10 };
  return {
    name,
    labels: { "kubernetes.io/hostname": name, ...o.labels },
    taints: o.taints ?? [],
    unschedulable: o.unschedulable ?? false,
    capacity,
    room: { cpuMillis: capacity.cpuMillis - (o.usedCpu ?? 0), memoryBytes: capacity.memoryBytes - (o.usedMemGi ?? 0) * GiB, pods: capacity.pods - (o.usedPods ?? 0) },
    podLabels: o.podLabels ?? [],
  };
}

function pod(o: Partial<SchedPod> = {}): SchedPod {
  return { requests: { cpuMillis: 500, memoryBytes: 1 * GiB }, tolerations: [], labels: { app: "web" }, selector: { app: "web" }, ...o };
}

const critical: SchedTaint = { key: "CriticalAddonsOnly", value: "true", effect: "NoSchedule" };

test("taints: Equal needs key and value, Exists needs the key (or none), and an effect must match", () => {
  const tainted = [node("n1", { taints: [critical] })];
  assert.equal(schedulePod(pod(), tainted).node, undefined);
  assert.equal(schedulePod(pod({ tolerations: [{ key: "CriticalAddonsOnly", operator: "Equal", value: "true", effect: "NoSchedule" }] }), tainted).node, "n1");
  assert.equal(schedulePod(pod({ tolerations: [{ key: "CriticalAddonsOnly", operator: "Equal", value: "false", effect: "NoSchedule" }] }), tainted).node, undefined);
  assert.equal(schedulePod(pod({ tolerations: [{ key: "CriticalAddonsOnly", operator: "Exists", effect: "NoSchedule" }] }), tainted).node, "n1");
  assert.equal(schedulePod(pod({ tolerations: [{ key: "CriticalAddonsOnly", operator: "Exists" }] }), tainted).node, "n1", "no effect: every effect");
  assert.equal(schedulePod(pod({ tolerations: [{ operator: "Exists" }] }), tainted).node, "n1", "Exists without a key tolerates everything");
  assert.equal(
    schedulePod(pod({ tolerations: [{ key: "CriticalAddonsOnly", operator: "Exists", effect: "NoExecute" }] }), tainted).node,
    undefined,
    "another effect does not tolerate",
  );
  assert.equal(schedulePod(pod({ tolerations: [{ key: "Other", operator: "Exists" }] }), tainted).node, undefined);
});

test("taints: NoExecute blocks scheduling like NoSchedule; PreferNoSchedule does not", () => {
  const noExec = node("n1", { taints: [{ key: "dedicated", value: "batch", effect: "NoExecute" }] });
  assert.deepEqual(schedulePod(pod(), [noExec]), { reason: "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: batch}." });
  assert.equal(schedulePod(pod({ tolerations: [{ key: "dedicated", operator: "Equal", value: "batch", effect: "NoExecute" }] }), [noExec]).node, "n1");
  assert.equal(schedulePod(pod(), [node("n2", { taints: [{ key: "spot", value: "yes", effect: "PreferNoSchedule" }] })]).node, "n2");
});

test("a taint without a value is shown as kube-scheduler shows it: {key: }", () => {
  const r = schedulePod(pod(), [node("n1", { taints: [{ key: "node.kubernetes.io/unreachable", effect: "NoSchedule" }] })]);
  assert.equal(r.reason, "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.");
});

test("a cordoned node takes no pod; an uncordoned one with room does", () => {
  const r = schedulePod(pod(), [node("n1", { unschedulable: true }), node("n2", { unschedulable: true })]);
  assert.equal(r.reason, "0/2 nodes are available: 2 node(s) were unschedulable.");
  assert.equal(schedulePod(pod(), [node("n1", { unschedulable: true }), node("n2")]).node, "n2");
});

test("room: Insufficient cpu, Insufficient memory (both on one node) and Too many pods", () => {
  assert.equal(schedulePod(pod({ requests: { cpuMillis: 2100, memoryBytes: GiB } }), [node("n1")]).reason, "0/1 nodes are available: 1 Insufficient cpu.");
  assert.equal(schedulePod(pod({ requests: { cpuMillis: 100, memoryBytes: 5 * GiB } }), [node("n1")]).reason, "0/1 nodes are available: 1 Insufficient memory.");
  assert.equal(
    schedulePod(pod({ requests: { cpuMillis: 2100, memoryBytes: 5 * GiB } }), [node("n1"), node("n2")]).reason,
    "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.",
  );
  assert.equal(schedulePod(pod(), [node("n1", { usedPods: 10 })]).reason, "0/1 nodes are available: 1 Too many pods.");
  // What is used counts: 1600m of 2000m used leaves 400m, too little for 500m; exactly enough fits.
  assert.equal(schedulePod(pod(), [node("n1", { usedCpu: 1600 })]).reason, "0/1 nodes are available: 1 Insufficient cpu.");
  assert.equal(schedulePod(pod(), [node("n1", { usedCpu: 1500, usedMemGi: 3 })]).node, "n1");
});

test("the FailedScheduling message counts nodes per reason: 0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint", () => {
  const nodes = [node("system-1", { taints: [critical] }), node("user-1", { usedCpu: 1800 }), node("system-2", { taints: [critical] })];
  assert.deepEqual(schedulePod(pod(), nodes), { reason: "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {CriticalAddonsOnly: true}." });
  // The filters run in kube-scheduler's order: a cordoned node is reported as such, whatever its taints and room.
  const cordoned = node("n", { unschedulable: true, taints: [critical], usedCpu: 2000 });
  assert.equal(schedulePod(pod(), [cordoned]).reason, "0/1 nodes are available: 1 node(s) were unschedulable.");
  assert.equal(schedulePod(pod(), []).reason, "0/0 nodes are available.");
});

test("the reasons are sorted as kube-scheduler sorts them: by the whole '<count> <reason>' text", () => {
  // kube-scheduler formats each entry as "<count> <reason>" and sorts those strings (Go's byte order).
  const nodes = [node("user-1", { usedCpu: 1800 }), node("user-2", { usedCpu: 1800 }), node("system-1", { taints: [critical] }), node("full", { usedPods: 10 })];
  assert.equal(schedulePod(pod(), nodes).reason, "0/4 nodes are available: 1 Too many pods, 1 node(s) had untolerated taint {CriticalAddonsOnly: true}, 2 Insufficient cpu.");
});

test("LeastAllocated: the node whose requested share after placing the pod is lowest", () => {
  const nodes = [node("busy", { usedCpu: 1000, usedMemGi: 2 }), node("idle"), node("half", { usedCpu: 500 })];
  assert.equal(schedulePod(pod(), nodes).node, "idle");
  // A bigger node with the same absolute use is less allocated.
  assert.equal(schedulePod(pod(), [node("small", { usedCpu: 1000 }), node("big", { cpu: 8000, memGi: 16, usedCpu: 1000 })]).node, "big");
  // Memory counts as much as cpu: n1 is at 60% cpu and 25% memory, n2 at 40% and 75% (cpu alone would pick n2).
  assert.equal(
    schedulePod(pod({ requests: { cpuMillis: 0, memoryBytes: 0 } }), [node("n1", { usedCpu: 1200, usedMemGi: 1 }), node("n2", { usedCpu: 800, usedMemGi: 3 })]).node,
    "n1",
  );
});

/** Places `count` pods one after another as the cluster's scheduler does (each placement counts for the next). */
function placeAll(p: SchedPod, nodes: SchedNode[], count: number): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    const r = schedulePod(p, nodes);
    out.push(r.node);
    const n = nodes.find((x) => x.name === r.node);
    if (!n) continue;
    n.room = { cpuMillis: n.room.cpuMillis - p.requests.cpuMillis, memoryBytes: n.room.memoryBytes - p.requests.memoryBytes, pods: n.room.pods - 1 };
    n.podLabels.push(p.labels);
  }
  return out;
}

const zone = "topology.kubernetes.io/zone";
const host = "kubernetes.io/hostname";

test("topology spread ScheduleAnyway: each replica goes to the emptier domain (4 over 2 nodes → 2 + 2)", () => {
  const spread = pod({ requests: { cpuMillis: 100, memoryBytes: 0.1 * GiB }, topologySpread: [{ topologyKey: host, maxSkew: 1, whenUnsatisfiable: "ScheduleAnyway" }] });
  // Without the constraint LeastAllocated alone would put all four on the much bigger node.
  const nodes = () => [node("small"), node("big", { cpu: 16_000, memGi: 64 })];
  assert.deepEqual(placeAll({ ...spread, topologySpread: [] }, nodes(), 4), ["big", "big", "big", "big"]);
  const placed = placeAll(spread, nodes(), 4);
  assert.equal(placed.filter((n) => n === "small").length, 2);
  assert.equal(placed.filter((n) => n === "big").length, 2);
  // Pods of other apps do not count: only those the selector picks.
  const busy = [node("small", { podLabels: [{ app: "other" }, { app: "other" }] }), node("big", { cpu: 16_000, memGi: 64 })];
  assert.deepEqual(placeAll(spread, busy, 2).sort(), ["big", "small"]);
  // ScheduleAnyway never refuses: with one domain full of siblings the pod still goes there.
  assert.equal(schedulePod(spread, [node("only", { podLabels: [{ app: "web" }, { app: "web" }, { app: "web" }] })]).node, "only");
});

test("topology spread DoNotSchedule: a node whose domain would exceed maxSkew is filtered out", () => {
  const hard = pod({ topologySpread: [{ topologyKey: zone, maxSkew: 1, whenUnsatisfiable: "DoNotSchedule" }] });
  const web = { app: "web" };
  // Zone 1 has 2 siblings, zone 2 has 1: placing in zone 1 makes skew 3 - 1 = 2 > 1.
  const zone1 = node("z1", { labels: { [zone]: "1" }, podLabels: [web, web], cpu: 16_000, memGi: 64 });
  const zone2 = node("z2", { labels: { [zone]: "2" }, podLabels: [web], usedCpu: 1000 });
  assert.equal(schedulePod(hard, [zone1, zone2]).node, "z2");
  // If zone 2 has no room the pod stays pending, and the message says which filter refused which node.
  const full = { ...zone2, room: { ...zone2.room, pods: 0 } };
  assert.equal(schedulePod(hard, [zone1, full]).reason, "0/2 nodes are available: 1 Too many pods, 1 node(s) didn't match pod topology spread constraints.");
  // maxSkew 2 allows it.
  assert.equal(schedulePod({ ...hard, topologySpread: [{ topologyKey: zone, maxSkew: 2, whenUnsatisfiable: "DoNotSchedule" }] }, [zone1, full]).node, "z1");
  // Nodes without the topology key are not candidates for a hard constraint.
  assert.equal(schedulePod(hard, [node("nozone")]).reason, "0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints.");
  // Placing 6 over 3 zones one by one keeps them 2 + 2 + 2.
  const zones = [1, 2, 3].map((z) => node(`z${z}`, { labels: { [zone]: String(z) }, cpu: z === 1 ? 32_000 : 2000, memGi: z === 1 ? 128 : 4 }));
  const placed = placeAll({ ...hard, requests: { cpuMillis: 100, memoryBytes: 0.1 * GiB } }, zones, 6);
  assert.deepEqual(
    [1, 2, 3].map((z) => placed.filter((n) => n === `z${z}`).length),
    [2, 2, 2],
  );
});

// The simulator and the runtime's autoscaler, driven through the same queue trace on a fake clock, make the
// same decisions at the same times with the same words: both run the policy of src/scaling on the loops'
// schedule, and only time (simulated jumps vs timers) and how work is done differ.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Autoscaler } from "../../src/local/controllers/autoscaler.js";
import { ClusterClock } from "../../src/local/controllers/clock.js";
import { Provisioner } from "../../src/local/controllers/provisioner.js";
import { addStaticNodes } from "../../src/local/runtime.js";
import { staticPoolNodes } from "../../src/scaling/static-pools.js";
import { getBlueprint } from "../../src/blueprints/index.js";
import { seedNodePool } from "../../src/blueprints/edw.js";
import { nodeTypesFor } from "../../src/scaling/catalog.js";
import { poolSettings } from "../../src/scaling/karpenter.js";
import { DEFAULT_TIMINGS } from "../../src/scaling/timings.js";
import { makePolicy } from "../../src/scaling/policy.js";
import { resolveHpaPhase } from "../../src/scaling/phase.js";
import type { ScalingRule } from "../../src/scaling/scaledobject.js";
import { SEED_POD_REQUESTS, simulate } from "../../src/sim/engine.js";
import { SimCluster } from "../../src/sim/cluster.js";
import { EventRecorder } from "../../src/scaling/events.js";
import { TEST_CATALOG } from "../scaling/fixture-catalog.js";
import { T0, harness, template } from "../runtime/harness.js";
import { seedInputs } from "./workloads.js";

type Row = [t: number, queue: number];
const valueAt = (rows: Row[], t: number) => [...rows].reverse().find(([at]) => at <= t + 1e-9)?.[1] ?? 0;

async function live(rule: ScalingRule, rows: Row[], seconds: number, outages: [number, number][] = [], phase = 0): Promise<[number, string, string][]> {
  const h = harness();
  h.cluster.addDeployment(rule.target, template({ app: rule.target, labels: { app: rule.target } }), 0);
  const clock = new ClusterClock(1, h.clock);
  const scaler = new Autoscaler({
    cluster: h.cluster,
    deployment: rule.target,
    object: rule.name,
    policy: makePolicy("keda", rule, {}, phase),
    clock,
    queueLength: async () => {
      const t = clock.now();
      if (outages.some(([from, to]) => t >= from && t < to)) throw new Error("storage unreachable");
      return valueAt(rows, t);
    },
  });
  scaler.start();
  await h.run(seconds * 1000, 500);
  await scaler.stop();
  await h.cluster.shutdown();
  return h.cluster.events
    .list()
    .filter((e) => e.object === `scaledobject/${rule.name}` && e.reason !== "KEDAScalerFailed")
    .map((e) => [e.time - T0, e.reason, e.message]);
}

function simulated(rule: ScalingRule, rows: Row[], seconds: number, outages: [number, number][] = [], phase = 0): [number, string, string][] {
  const r = simulate({
    ...seedInputs(),
    rule,
    trace: { kind: "queue", points: rows.map(([t, v]) => ({ t, v })) },
    durationSeconds: seconds,
    storageUnreachable: outages,
    hpaPhaseSeconds: phase,
  });
  return r.events.filter((e) => e.object === `scaledobject/${rule.name}` && e.reason !== "KEDAScalerFailed").map((e) => [e.time, e.reason, e.message]);
}

test("same trace, same decisions: KEDA activation, the HPA's steps, cooldown to zero", async () => {
  const rule = seedInputs().rule;
  const rows: Row[] = [
    [0, 0],
    [40, 30],
    [100, 200],
    [200, 0],
  ];
  const sim = simulated(rule, rows, 300);
  assert.ok(sim.length >= 4, `enough decisions to compare: ${sim.length}`);
  assert.deepEqual(await live(rule, rows, 300), sim);
});

test("same trace, same decisions with a storage outage and fallback, and with useCachedMetrics", async () => {
  const base = seedInputs().rule;
  const rule: ScalingRule = { ...base, useCachedMetrics: true, fallback: { failureThreshold: 2, replicas: 9, behavior: "static" } };
  const rows: Row[] = [
    [0, 40],
    [130, 10],
  ];
  const outages: [number, number][] = [[60, 150]];
  const sim = simulated(rule, rows, 240, outages);
  assert.ok(
    sim.some(([, , m]) => m.includes("fallback")),
    "the fallback shows in the decisions",
  );
  assert.deepEqual(await live(rule, rows, 240, outages), sim);
});

test("same trace, same decisions with the HPA's resync phase off KEDA's grid in both", async () => {
  const rule = seedInputs().rule;
  const rows: Row[] = [
    [0, 0],
    [40, 30],
    [100, 200],
    [200, 0],
  ];
  // A phase on the fake clock's 500 ms steps, so the runtime's decisions are recorded at their timer's time.
  const phase = resolveHpaPhase(9.5);
  const sim = simulated(rule, rows, 300, [], phase);
  assert.ok(
    sim.some(([t, r]) => r === "HPAScaleUp" && t % 15000 !== 0),
    "the HPA syncs off KEDA's grid",
  );
  assert.deepEqual(await live(rule, rows, 300, [], phase), sim);
});

/** The seed's cluster (static pools and add-ons), its consumer's tolerations, and its NodePool over the cluster's node sizes. */
function seedCluster() {
  const bp = getBlueprint("edw");
  const cluster = bp.clusters[0]!;
  const consumer = bp.apps.find((a) => a.name === seedInputs().rule.target)!;
  return { cluster, tolerations: consumer.tolerations, pool: poolSettings(seedNodePool(), nodeTypesFor(cluster.addOns).catalog) };
}

interface Placement {
  /** Pods on each static node, by the node's name (the same names in both). */
  onStatic: Record<string, number>;
  /** Instance types Karpenter launched, in order. */
  launched: string[];
  /** Pods on each Karpenter node, largest first. */
  onLaunched: number[];
  /** Node-seconds of the static nodes. */
  staticNodeSeconds: number;
}

/** The runtime: the seed cluster's static nodes, the autoscaler and Karpenter's provisioner on a fake clock. */
async function livePlacement(rule: ScalingRule, rows: Row[], seconds: number): Promise<Placement> {
  const { cluster: spec, tolerations, pool } = seedCluster();
  const h = harness();
  addStaticNodes(h.cluster, spec);
  // The runtime pulls no image here (the harness's default); the simulator is told the same below.
  h.cluster.addDeployment(rule.target, template({ app: rule.target, labels: { app: rule.target }, requests: SEED_POD_REQUESTS, tolerations }), 0);
  const clock = new ClusterClock(1, h.clock);
  const scaler = new Autoscaler({
    cluster: h.cluster,
    deployment: rule.target,
    object: rule.name,
    policy: makePolicy("keda", rule),
    clock,
    queueLength: async () => valueAt(rows, clock.now()),
  });
  const provisioner = new Provisioner({ cluster: h.cluster, pool, clock, nodeStartupSeconds: DEFAULT_TIMINGS.nodeBootSeconds });
  scaler.start();
  provisioner.start();
  await h.run(seconds * 1000, 500);
  await scaler.stop();
  await provisioner.stop();
  const nodes = h.cluster.liveNodes();
  const placement: Placement = {
    onStatic: Object.fromEntries(nodes.filter((n) => n.nodePool === undefined).map((n) => [n.name, h.cluster.podsOn(n.name).length])),
    launched: h.cluster.events
      .list()
      .filter((e) => e.reason === "Launched" && e.message.includes("in NodePool"))
      .map((e) => e.message.split(" ")[0]!),
    onLaunched: nodes
      .filter((n) => n.nodePool !== undefined)
      .map((n) => h.cluster.podsOn(n.name).length)
      .sort((a, b) => b - a),
    staticNodeSeconds: nodes.filter((n) => n.nodePool === undefined).reduce((a, n) => a + n.secondsAlive(h.clock.now()), 0),
  };
  await h.cluster.shutdown();
  return placement;
}

function simulatedPlacement(rule: ScalingRule, rows: Row[], seconds: number): Placement {
  const { cluster, tolerations, pool } = seedCluster();
  const r = simulate({
    rule,
    pool,
    cluster,
    podTolerations: tolerations,
    trace: { kind: "queue", points: rows.map(([t, v]) => ({ t, v })) },
    durationSeconds: seconds,
    timings: { imagePullSeconds: 0 },
  });
  return {
    onStatic: Object.fromEntries(r.nodes.filter((n) => n.static).map((n) => [n.name, n.pods])),
    launched: r.events.filter((e) => e.reason === "Launched" && !e.message.includes("in agent pool")).map((e) => e.message.split(" ")[0]!),
    onLaunched: r.nodes
      .filter((n) => !n.static)
      .map((n) => n.pods)
      .sort((a, b) => b - a),
    staticNodeSeconds: r.summary.nodeSeconds - r.summary.poolNodeSeconds,
  };
}

test("same trace, same placement on the seed cluster's static pools: the application pool first, Karpenter for the rest", async () => {
  const rule = seedInputs().rule;
  // A queue of 100 asks for 20 pods (capped at 15): 6 fit the application pool's D2s_v5, the rest wait for Karpenter.
  const rows: Row[] = [[0, 100]];
  const seconds = 140;
  const live = await livePlacement(rule, rows, seconds);
  const sim = simulatedPlacement(rule, rows, seconds);
  assert.deepEqual(live.onStatic, { "aks-systempool-00000": 0, "aks-systempool-00001": 0, "aks-systempool-00002": 0, "aks-apppool-00000": 6 });
  assert.deepEqual(sim.onStatic, live.onStatic);
  assert.ok(live.launched.length >= 1, "Karpenter launches for the pods the application pool cannot hold");
  assert.deepEqual(sim.launched, live.launched);
  assert.deepEqual(sim.onLaunched, live.onLaunched);
  // Static nodes count for the whole run in both.
  assert.equal(live.staticNodeSeconds, 4 * seconds);
  assert.equal(Math.round(sim.staticNodeSeconds), 4 * seconds);
});

// Karpenter's multi-node consolidation (multinodeconsolidation.go) in both: three D4s nodes, each left
// half full by a stepwise scale-in, are replaced by one cheaper D8s. The same command, and the same order
// of what follows: the replacement is launched and Ready before any of the three is drained and deleted.
test("same cluster, same multi-node command: three half-full nodes replaced by one cheaper node, launched first", async () => {
  const pool = { ...seedInputs().pool, catalog: TEST_CATALOG };
  const POD = { cpuMillis: 250, memoryBytes: 64 * 1024 ** 2 };
  const timings = { ...DEFAULT_TIMINGS, nodeBootSeconds: 60, imagePullSeconds: 0, podStartSeconds: 0, podTerminationSeconds: 0, vmDeleteSeconds: 0 };
  // Three batches of 15 pods, one D4s each; then one replica at a time down to 21 (7 per node).
  const steps = [15, 30, 45];

  // The simulator's cluster, driven by hand through the same steps as the runtime's.
  const simEvents = new EventRecorder(Infinity);
  const sim = new SimCluster(pool, POD, timings, simEvents);
  for (const n of steps) {
    sim.setReplicas(n, 0);
    sim.provision(0);
  }
  sim.advanceTo(60);
  sim.schedulePending(60);
  sim.advanceTo(61);
  for (let r = 44; r >= 21; r--) sim.setReplicas(r, 61);
  sim.advanceTo(70);
  assert.deepEqual(
    sim.nodes.map((n) => n.bound),
    [7, 7, 7],
    "the stepwise scale-in leaves each node half full",
  );
  const [cmd] = sim.consolidate(70);
  assert.ok(cmd, "the simulator consolidates");
  sim.execute(cmd, 70);
  sim.advanceTo(130);
  sim.advanceTo(131);

  // The runtime's Provisioner on a real local cluster, on a fake clock.
  const h = harness();
  h.cluster.addDeployment("app", template({ app: "app", labels: { app: "app" }, requests: POD, graceMs: 0 }), 0);
  const provisioner = new Provisioner({ cluster: h.cluster, pool, clock: new ClusterClock(1, h.clock), nodeStartupSeconds: 60 });
  provisioner.start();
  for (const n of steps) {
    h.cluster.setReplicas("app", n, "test", "step");
    await h.run(2000, 250);
  }
  await h.run(60_000, 500);
  for (let r = 44; r >= 21; r--) {
    h.cluster.setReplicas("app", r, "test", "step");
    await h.settle();
  }
  await h.run(120_000, 500);
  await provisioner.stop();
  await h.cluster.shutdown();

  // Node names differ (aks-default-00000 vs default-1): number them by launch order on each side.
  type Ev = { object: string; reason: string; message: string };
  const normalise = (events: Ev[]) => {
    const names = new Map<string, string>();
    for (const e of events) if (e.object.startsWith("node/") && e.reason === "Launched") names.set(e.object.slice(5), `n${names.size + 1}`);
    const rename = (s: string) => s.replace(/[a-z][a-z0-9-]*[0-9]/g, (m) => names.get(m) ?? m);
    return events
      .filter((e) => e.object.startsWith("node/") && ["Launched", "Ready", "DisruptingUnderutilized", "Draining", "Deleted"].includes(e.reason))
      .map((e) => `${rename(e.object)} ${e.reason}`);
  };
  const simSeq = normalise(simEvents.list());
  const liveSeq = normalise(h.cluster.events.list());
  // The simulator records the command when it runs it; here it ran by hand, so compare from the launch of n4.
  const disrupting = liveSeq.find((l) => l.endsWith("DisruptingUnderutilized"));
  assert.equal(disrupting, "node/n1 DisruptingUnderutilized");
  const live = h.cluster.events.list().find((e) => e.reason === "DisruptingUnderutilized")!;
  const rename = (s: string) => s.replace(/aks-default-0000(\d)/g, (_, d: string) => `n${Number(d) + 1}`).replace(/default-(\d)/g, "n$1");
  assert.equal(rename(live.message), `replace: ${rename(cmd.message)} (validated 15 s later)`);
  assert.match(cmd.message, /^replace, terminating 3 nodes \(21 pods\) .* and replacing with on-demand node from types Standard_D8s_v5/);
  const after = (seq: string[]) => seq.slice(seq.indexOf("node/n4 Launched"));
  // Same order in both: the replacement launches and is Ready before the three are drained and deleted.
  const expected = ["node/n4 Launched", "node/n4 Ready", ...["n1", "n2", "n3"].map((n) => `node/${n} Draining`), ...["n1", "n2", "n3"].map((n) => `node/${n} Deleted`)];
  assert.deepEqual(after(simSeq).sort(), [...expected].sort());
  assert.deepEqual(after(liveSeq).sort(), [...expected].sort());
  for (const seq of [simSeq, liveSeq]) {
    const a = after(seq);
    assert.ok(a.indexOf("node/n4 Ready") < Math.min(...a.filter((l) => l.endsWith("Draining")).map((l) => a.indexOf(l))), `replacement first: ${a.join(" | ")}`);
  }
});

// Consolidation onto the cluster's static pools (consolidation.go computeConsolidation schedules a candidate's
// pods onto every node, Karpenter's or not, whose taints they tolerate): on the seed cluster, 8 consumer pods
// fill the application pool (6) and a Karpenter node (2); a scale-in to 4 takes the application pool's pods
// first (the ReplicaSet's doubled-up rank), leaving room there for the Karpenter node's 2. Both sides
// decide the same single-node delete, on the same view, and end with every pod on the application pool.
test("same cluster with static pools, same consolidation: a Karpenter node's pods move onto the application pool's free room", async () => {
  const { cluster: spec, tolerations, pool } = seedCluster();
  const timings = { ...DEFAULT_TIMINGS, nodeBootSeconds: 60, imagePullSeconds: 0, podStartSeconds: 0, podTerminationSeconds: 0, vmDeleteSeconds: 0 };

  const simEvents = new EventRecorder(Infinity);
  const sim = new SimCluster(pool, SEED_POD_REQUESTS, timings, simEvents, staticPoolNodes(spec), tolerations);
  sim.setReplicas(8, 0);
  sim.schedulePending(0);
  sim.provision(0);
  sim.advanceTo(60);
  sim.schedulePending(60);
  sim.advanceTo(61);
  sim.setReplicas(4, 61);
  sim.advanceTo(70);
  const simBound = () => Object.fromEntries(sim.nodes.map((n) => [n.static ? n.name : "karpenter", n.bound]));
  assert.deepEqual(simBound(), { "aks-systempool-00000": 0, "aks-systempool-00001": 0, "aks-systempool-00002": 0, "aks-apppool-00000": 2, karpenter: 2 });
  const [cmd, ...more] = sim.consolidate(70);
  assert.deepEqual(more, []);
  assert.ok(cmd, "the simulator consolidates onto the application pool");
  assert.equal(cmd.action, "delete");
  sim.execute(cmd, 70);
  sim.advanceTo(71);
  sim.schedulePending(71);

  const h = harness();
  addStaticNodes(h.cluster, spec);
  h.cluster.addDeployment("app", template({ app: "app", labels: { app: "app" }, requests: SEED_POD_REQUESTS, tolerations, graceMs: 0 }), 0);
  const provisioner = new Provisioner({ cluster: h.cluster, pool, clock: new ClusterClock(1, h.clock), nodeStartupSeconds: 60 });
  provisioner.start();
  h.cluster.setReplicas("app", 8, "test", "step");
  await h.run(62_000, 500);
  h.cluster.setReplicas("app", 4, "test", "step");
  await h.settle();
  const liveBound = () => Object.fromEntries(h.cluster.liveNodes().map((n) => [n.nodePool ? "karpenter" : n.name, h.cluster.podsOn(n.name).length]));
  assert.deepEqual(liveBound(), { "aks-systempool-00000": 0, "aks-systempool-00001": 0, "aks-systempool-00002": 0, "aks-apppool-00000": 2, karpenter: 2 });
  await h.run(60_000, 500);
  await provisioner.stop();
  const disrupting = h.cluster.events.list().filter((e) => e.reason === "DisruptingUnderutilized");
  const liveEnd = liveBound();
  await h.cluster.shutdown();

  // Karpenter's node names differ (aks-default-00000 vs default-1); the command is otherwise word for word.
  const karpenterName = /\b(aks-default-\d+|default-\d+)\b/g;
  assert.equal(disrupting.length, 1, "one command in the runtime");
  assert.equal(disrupting[0]!.message.replace(karpenterName, "N"), `delete: ${cmd.message} (validated 15 s later)`.replace(karpenterName, "N"));
  assert.match(cmd.message, /single-node, its pods fit on the other 4 node\(s\)$/);
  // Both end with the four pods on the application pool and no Karpenter node.
  const end = { "aks-systempool-00000": 0, "aks-systempool-00001": 0, "aks-systempool-00002": 0, "aks-apppool-00000": 4 };
  assert.deepEqual(simBound(), end);
  assert.deepEqual(liveEnd, end);
});

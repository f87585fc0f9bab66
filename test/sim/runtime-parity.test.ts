// The simulator and the runtime's autoscaler, driven through the same queue trace on a fake clock, make the
// same decisions at the same times with the same words: both run the policy of src/scaling on the loops'
// schedule, and only time (simulated jumps vs timers) and how work is done differ.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Autoscaler } from "../../src/local/controllers/autoscaler.js";
import { ClusterClock } from "../../src/local/controllers/clock.js";
import { Provisioner } from "../../src/local/controllers/provisioner.js";
import { addStaticNodes } from "../../src/local/runtime.js";
import { getBlueprint } from "../../src/blueprints/index.js";
import { seedNodePool } from "../../src/blueprints/edw.js";
import { nodeTypesFor } from "../../src/scaling/catalog.js";
import { poolSettings } from "../../src/scaling/karpenter.js";
import { DEFAULT_TIMINGS } from "../../src/scaling/timings.js";
import { makePolicy } from "../../src/scaling/policy.js";
import { resolveHpaPhase } from "../../src/scaling/phase.js";
import type { ScalingRule } from "../../src/scaling/scaledobject.js";
import { SEED_POD_REQUESTS, simulate } from "../../src/sim/engine.js";
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

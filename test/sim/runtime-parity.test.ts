// The simulator and the runtime's autoscaler, driven through the same queue trace on a fake clock, make the
// same decisions at the same times with the same words: both run the policy of src/scaling on the loops'
// schedule, and only time (simulated jumps vs timers) and how work is done differ.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Autoscaler } from "../../src/local/controllers/autoscaler.js";
import { ClusterClock } from "../../src/local/controllers/clock.js";
import { makePolicy } from "../../src/scaling/policy.js";
import { resolveHpaPhase } from "../../src/scaling/phase.js";
import type { ScalingRule } from "../../src/scaling/scaledobject.js";
import { simulate } from "../../src/sim/engine.js";
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

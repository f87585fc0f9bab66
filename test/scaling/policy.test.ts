import assert from "node:assert/strict";
import { test } from "node:test";
import { KedaHpaPolicy, PREDICTIVE_DEFAULTS, PredictivePolicy, makePolicy, type ScalingPolicy } from "../../src/scaling/policy.js";
import { seedRule } from "./helpers.js";

test("KedaHpaPolicy: KEDA's loop every pollingInterval, then the HPA every 15 s (keda first at equal times)", () => {
  assert.deepEqual(new KedaHpaPolicy(seedRule()).loops(), [
    { name: "keda", periodSeconds: 30 },
    { name: "hpa", periodSeconds: 15, offsetSeconds: 0 },
  ]);
  assert.equal(makePolicy("keda", seedRule()).name, "keda");
  assert.equal(makePolicy("predictive", seedRule()).name, "predictive");
});

test("PredictivePolicy.need: arrivals × headroom / μ + backlog / (μ × targetDrainSeconds)", () => {
  // 100/s × 1.05 / 10 = 10.5, plus 3000 / (10 × 30) = 10 → ceil(20.5) = 21.
  assert.equal(PREDICTIVE_DEFAULTS.headroom, 1.05);
  assert.equal(PredictivePolicy.need(100, 3000, 10, PREDICTIVE_DEFAULTS), 21);
});

test("PredictivePolicy: within min/max; busy never means 0", () => {
  const p = new PredictivePolicy(seedRule());
  assert.equal(p.tick("predict", { now: 0, queueLength: 100000, current: 0, ready: 0, arrivalRate: 500, perPodThroughput: 1 }).decision?.replicas, 15);
  const q = new PredictivePolicy(seedRule());
  assert.equal(q.tick("predict", { now: 0, queueLength: 1, current: 0, ready: 0, arrivalRate: 0, perPodThroughput: 1000 }).decision?.replicas, 1);
});

test("PredictivePolicy: idle keeps one warm pod through cooldownPeriod, then goes to min", () => {
  const p = new PredictivePolicy(seedRule()); // cooldownPeriod 10
  const idle = (now: number, current: number) => p.tick("predict", { now, queueLength: 0, current, ready: current, arrivalRate: 0, perPodThroughput: 10 }).decision?.replicas;
  assert.equal(idle(100, 15), 1);
  assert.equal(idle(105, 1), undefined);
  assert.equal(idle(110, 1), 0);
});

test("PredictivePolicy.warmPods: at least warmPodsMin, or the peak of the last warmHistorySeconds, capped at max, beyond the current replicas", () => {
  const o = { ...PREDICTIVE_DEFAULTS, warmPodsMin: 4, warmHistorySeconds: 600 };
  const p = new PredictivePolicy(seedRule(), o); // maxReplicaCount 15
  assert.equal(p.warmPods(0, 0), 4);
  assert.equal(p.warmPods(0, 3), 1);
  assert.equal(p.warmPods(0, 6), 0);
  // A burst asks for 15 (capped): the buffer then holds 15 pods' worth for warmHistorySeconds.
  p.tick("predict", { now: 10, queueLength: 100000, current: 0, ready: 0, arrivalRate: 500, perPodThroughput: 1 });
  assert.equal(p.warmPods(20, 2), 13);
  assert.equal(p.warmPods(609, 0), 15);
  assert.equal(p.warmPods(611, 0), 4);
  const keda: ScalingPolicy = new KedaHpaPolicy(seedRule());
  assert.equal(keda.warmPods, undefined);
});

test("PredictivePolicy: scale-down window drops recommendations sized from the assumed throughput once one is measured", () => {
  const p = new PredictivePolicy(seedRule()); // assumed 5 msg/s per pod, window 15 s
  // Assumed μ = 5: 100 × 1.05 / 5 + 500 / (5 × 30) = 21 + 3.33 → 25, capped at 15.
  assert.equal(p.tick("predict", { now: 0, queueLength: 500, current: 0, ready: 0, arrivalRate: 100 }).decision?.replicas, 15);
  // Measured μ = 10 five seconds later: 10.5 + 600 / 300 → 13; the 15 was a guess, so nothing holds it.
  assert.equal(p.tick("predict", { now: 5, queueLength: 600, current: 15, ready: 15, arrivalRate: 100, perPodThroughput: 10 }).decision?.replicas, 13);
  // A measured 13 does hold a lower measured recommendation within the window.
  const held = p.tick("predict", { now: 10, queueLength: 40, current: 13, ready: 13, arrivalRate: 100, perPodThroughput: 10 });
  assert.equal(held.decision, undefined);
  assert.match(held.note, /held at 13/);
});

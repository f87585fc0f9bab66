import assert from "node:assert/strict";
import { test } from "node:test";
import { KedaHpaPolicy, PREDICTIVE_DEFAULTS, PredictivePolicy, makePolicy } from "../../src/scaling/policy.js";
import { seedRule } from "./helpers.js";

test("KedaHpaPolicy: KEDA's loop every pollingInterval, then the HPA every 15 s (keda first at equal times)", () => {
  assert.deepEqual(new KedaHpaPolicy(seedRule()).loops(), [{ name: "keda", periodSeconds: 30 }, { name: "hpa", periodSeconds: 15 }]);
  assert.equal(makePolicy("keda", seedRule()).name, "keda");
  assert.equal(makePolicy("predictive", seedRule()).name, "predictive");
});

test("PredictivePolicy.need: arrivals × headroom / μ + backlog / (μ × targetDrainSeconds)", () => {
  // 100/s × 1.1 / 10 = 11, plus 3000 / (10 × 30) = 10 → 21.
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

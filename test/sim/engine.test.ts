import assert from "node:assert/strict";
import { test } from "node:test";
import { simulate, type TimelineEntry } from "../../src/sim/engine.js";
import { FluidQueue } from "../../src/sim/fluid-queue.js";
import type { Trace } from "../../src/sim/trace.js";
import { COMPARISON_POD, recurringBursts, seedInputs, singleBurst } from "./workloads.js";

const openLoop = (rows: [number, number][]): Trace => ({ kind: "queue", points: rows.map(([t, v]) => ({ t, v })) });
const at = (tl: TimelineEntry[], t: number) => [...tl].reverse().find((e) => e.t <= t)!;

test("seed ScaledObject on a burst: 0 until queue > 20 (not at 20), then ceil(len/5) via the 2×/4 steps capped at 15, back to 0 after the cooldown", () => {
  const r = simulate({ ...seedInputs(), trace: openLoop([[0, 0], [40, 20], [100, 21], [130, 200], [400, 0]]) });
  const tl = r.timeline;
  // Polls at 60 and 90 see exactly 20: inactive. The poll at 120 sees 21: 0→1, then the HPA at 120: ceil(21/5) = 5 capped at max(2×1, 4) = 4.
  assert.ok(tl.filter((e) => e.t < 120).every((e) => e.replicas === 0));
  assert.equal(r.summary.firstScaleUpAt, 120);
  assert.equal(at(tl, 120).replicas, 4);
  // Queue 200 → ceil(200/5) = 40: 8 at 135 (2×4), 15 at 150 (maxReplicaCount).
  assert.equal(at(tl, 134).replicas, 4);
  assert.equal(at(tl, 135).replicas, 8);
  assert.equal(at(tl, 150).replicas, 15);
  assert.equal(r.summary.maxReplicas, 15);
  // Empty from 400; last active at the poll of 390; 390 + cooldown 10 < 420 → 0 at the poll of 420 (within one pollingInterval).
  assert.equal(r.summary.backToZeroAt, 420);
  assert.ok(r.summary.backToZeroAt! >= 400 + 10 && r.summary.backToZeroAt! <= 400 + 10 + 30);
  // Nodes: none at first, grow while pods do not fit (7 pods per D2s), and go after the pods do.
  assert.equal(at(tl, 119).nodes, 0);
  assert.equal(r.summary.maxNodes, 3);
  assert.equal(tl[tl.length - 1]!.nodes, 0);
  assert.ok(r.events.some((e) => e.reason === "DisruptedEmpty"));
});

test("below the cap the HPA settles at ceil(len/5): queue 30 → 1, 4, then 6", () => {
  const r = simulate({ ...seedInputs(), trace: openLoop([[0, 30]]), durationSeconds: 60 });
  assert.deepEqual(r.events.filter((e) => e.object === "deployment").map((e) => [e.t, e.reason]), [[0, "KEDAScaleTargetActivated"], [0, "HPAScaleUp"], [15, "HPAScaleUp"]]);
  assert.equal(at(r.timeline, 15).replicas, 6);
});

test("pods wait for nodes: ready only after node startup + pod startup", () => {
  const r = simulate({ ...seedInputs(), trace: openLoop([[0, 100]]), durationSeconds: 120, nodeStartupSeconds: 45, podStartupSeconds: 3 });
  // Activated at 0; batch closes at 1; node ready at 46; pods ready at 49.
  assert.equal(at(r.timeline, 48).ready, 0);
  assert.ok(at(r.timeline, 49).ready > 0);
});

test("--initial-replicas and NodePool limits: pods beyond the limit stay pending", () => {
  const { rule, pool } = seedInputs();
  const r = simulate({ rule, pool: { ...pool, limits: { cpuMillis: 2000 } }, trace: openLoop([[0, 100]]), initialReplicas: 10, durationSeconds: 100 });
  assert.equal(r.summary.maxNodes, 1);
  assert.equal(at(r.timeline, 100).ready, 7);
  assert.ok(r.events.some((e) => e.reason === "Unschedulable"));
});

test("fluid queue: exact FIFO latencies", () => {
  // 10 msg/s for 10 s with no pods, then 20 msg/s of capacity: message arriving at a is picked up at 10 + a/2,
  // so its wait is uniform on [5, 10] s; plus 100 ms of work.
  const q = new FluidQueue(0.1);
  q.advance(0, 10, 10, 0, 0);
  q.advance(10, 20, 0, 20, 1);
  assert.equal(Math.round(q.processed), 100);
  assert.ok(Math.abs(q.latencyQuantile(0.5)! - 7.6) < 1e-6);
  assert.ok(Math.abs(q.latencyQuantile(0.95)! - 9.85) < 1e-6);
  assert.equal(q.lastEmptiedAt, 15);
});

test("closed loop: everything that arrives is processed once", () => {
  const r = simulate({ ...seedInputs(), trace: singleBurst(), ...COMPARISON_POD });
  assert.equal(r.summary.arrived, 6000);
  assert.equal(r.summary.processed, 6000);
  assert.equal(r.summary.backlogAtEnd, 0);
});

function compare(trace: Trace) {
  const keda = simulate({ ...seedInputs(), trace, policy: "keda", ...COMPARISON_POD }).summary;
  const predictive = simulate({ ...seedInputs(), trace, policy: "predictive", ...COMPARISON_POD }).summary;
  return { keda, predictive };
}

test("predictive vs keda, recurring bursts on a 1 msg/s base: backlog cleared ≥ 2× faster, lower p95, no more pod-seconds", () => {
  const { keda, predictive } = compare(recurringBursts());
  assert.ok(predictive.backlogSeconds! * 2 <= keda.backlogSeconds!, `backlog seconds ${predictive.backlogSeconds} vs ${keda.backlogSeconds}`);
  assert.ok(predictive.p95LatencyMs! < keda.p95LatencyMs!, `p95 ${predictive.p95LatencyMs} vs ${keda.p95LatencyMs}`);
  assert.ok(predictive.podSeconds <= keda.podSeconds, `pod-seconds ${predictive.podSeconds} vs ${keda.podSeconds}`);
  assert.equal(predictive.processed, keda.processed);
});

test("predictive vs keda, one burst from idle: drains sooner, lower p95, no more pod-seconds", () => {
  const { keda, predictive } = compare(singleBurst());
  assert.ok(predictive.drainSeconds! < keda.drainSeconds!, `drain ${predictive.drainSeconds} vs ${keda.drainSeconds}`);
  assert.ok(predictive.p95LatencyMs! < keda.p95LatencyMs!);
  assert.ok(predictive.podSeconds <= keda.podSeconds);
});

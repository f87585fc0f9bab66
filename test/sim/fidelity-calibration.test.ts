// The fidelity benchmark's simulator side replays the live `up edw` run like for like: the same cluster (the
// blueprint's static pools, add-ons and the consumer's tolerations) and pods that work as fast in cluster time
// as the live consumers, whose `--work-ms` is wall-clock work that `--time-scale` does not shorten.
import assert from "node:assert/strict";
import { test } from "node:test";
import { clusterWorkMs, simulatedSide, simulatorOptions, type FidelityOptions } from "../../bench/fidelity.js";
import { getBlueprint } from "../../src/blueprints/index.js";
import { staticPoolNodes } from "../../src/scaling/static-pools.js";
import { simulate } from "../../src/sim/engine.js";

const DEFAULTS: FidelityOptions = { messages: 150, workMs: 200, concurrency: 2, timeScale: 10 };

test("the simulator gets the live run's cluster: static pools, add-ons and the consumer's tolerations", () => {
  const o = simulatorOptions(DEFAULTS);
  const seed = getBlueprint("edw");
  assert.ok(o.cluster, "a cluster is passed");
  assert.deepEqual(o.cluster.agentPools, seed.clusters[0]!.agentPools);
  assert.deepEqual(o.cluster.addOns, seed.clusters[0]!.addOns);
  assert.ok(staticPoolNodes(o.cluster).length > 0, "the seed has static nodes");
  assert.deepEqual(o.podTolerations, seed.apps.find((a) => a.name === o.rule.target)!.tolerations);
  assert.ok((o.podTolerations ?? []).length > 0, "the consumer tolerates its pool's taint");
  const r = simulate(o);
  assert.equal(r.summary.staticNodes, staticPoolNodes(o.cluster).length);
  assert.ok(r.summary.daemonSetsPerNode.pods > 0, "the add-ons' DaemonSets are on the nodes");
});

test("one message takes workMs × timeScale cluster milliseconds in the simulator, as it does live", () => {
  assert.equal(clusterWorkMs(DEFAULTS), 2000);
  assert.equal(simulatorOptions(DEFAULTS).workMs, 2000);
  // The same cluster-time work however it is split between wall-clock work and time scale.
  assert.deepEqual(simulatorOptions({ ...DEFAULTS, workMs: 2000, timeScale: 1 }), simulatorOptions(DEFAULTS));
  assert.equal(simulatedSide(DEFAULTS).perPodThroughput, 1);
  // A faster clock leaves the consumers' real work as it is, so the drain takes more cluster seconds.
  const slow = simulatedSide(DEFAULTS);
  const fast = simulatedSide({ ...DEFAULTS, timeScale: 1 });
  assert.ok(slow.drainSeconds! > fast.drainSeconds!, `drain ${slow.drainSeconds} s at ×10 vs ${fast.drainSeconds} s at ×1`);
});

test("with the live run's measured rates, the simulator's pods work and start as the live ones did", () => {
  const measured = { perPodThroughput: 0.5, podStartSeconds: 20 };
  const o = simulatorOptions(DEFAULTS, measured);
  assert.equal(o.workMs, 4000, "2 at a time at 0.5 msgs/s per pod");
  assert.equal(o.timings?.podStartSeconds, 20);
  const side = simulatedSide(DEFAULTS, measured);
  assert.equal(side.perPodThroughput, 0.5);
  assert.equal(side.podStartSeconds, 20);
  assert.ok(side.drainSeconds! > simulatedSide(DEFAULTS).drainSeconds!, "slower, later-starting pods drain later");
});

test("the seed's burst with consumers as slow as live scales 1→4→8→15 and back to zero, as the live run does", () => {
  // Measured live (BENCHMARKS.md, fidelity): 1→4, 4→8, 8→15, 15→0. Pods ten times too fast in the model
  // drained the burst on the static pool within one HPA period, with a single step 1→4.
  assert.deepEqual(simulatedSide(DEFAULTS).steps, ["1→4", "4→8", "8→15", "15→0"]);
});

test("time to first pod: the first scale-up's pods read the queue one pod start after the decision", () => {
  const o = simulatorOptions(DEFAULTS);
  const r = simulate(o);
  const up = r.events.find((e) => e.object === "deployment/aqs-app" && e.reason === "ScalingReplicaSet" && /: 1 → \d+:/.test(e.message));
  assert.ok(up, "the burst scales the consumer up");
  const side = simulatedSide(DEFAULTS);
  // The seed's first new pods land on the application pool's node, which already holds the image: no pull.
  assert.equal(side.firstPodSeconds, up.time / 1000 + side.podStartSeconds!);
  // Later-starting pods push it out by exactly the difference.
  const slow = simulatedSide(DEFAULTS, { perPodThroughput: 1, podStartSeconds: 12 });
  assert.equal(slow.firstPodSeconds! - side.firstPodSeconds!, 12 - side.podStartSeconds!);
});

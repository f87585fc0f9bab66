// The run's pod- and node-seconds never go down when a cluster is removed (blue after `upgrade --finish`):
// the runtime on a fake clock with in-process containers, so every figure is exact.
import { test } from "node:test";
import assert from "node:assert/strict";
import { getBlueprint } from "../../src/blueprints/index.js";
import { FakeClock } from "../../src/local/cluster/clock.js";
import { LocalRuntime } from "../../src/local/runtime.js";
import { BlueGreenController, clusterSpecFor, startingState } from "../../src/local/bluegreen/controller.js";
import { FakeRunner, advance } from "../runtime/fake-runner.js";

test("removing a cluster keeps its pod- and node-seconds: the run's totals never go down", { timeout: 60_000 }, async (t) => {
  const bp = getBlueprint("bluegreen");
  const clock = new FakeClock();
  const rt = await LocalRuntime.start({
    blueprint: BlueGreenController.runtimeBlueprint(bp, startingState(bp, undefined, clock.now())),
    timeScale: 1,
    nodeStartupSeconds: 60,
    clock,
    runner: new FakeRunner(clock),
  });
  t.after(async () => {
    const stopping = rt.stop();
    await advance(clock, 200_000, 1000);
    await stopping;
  });
  await advance(clock, 20_000, 1000);
  await rt.addCluster(clusterSpecFor(bp, { name: "green", version: "1.20.7" }));
  await advance(clock, 20_000, 1000);
  const blue = rt.clusters.get("blue")!;
  const green = rt.clusters.get("green")!;
  assert.ok(blue.podSeconds() > 0 && green.podSeconds() > 0, "both clusters ran pods");
  assert.equal(rt.podSeconds(), blue.podSeconds() + green.podSeconds());
  assert.equal(rt.nodeSeconds(), 3 * 40 + 3 * 20, "3 blue nodes for 40 s, 3 green ones for 20 s");

  // Blue goes (its pods drain through their preStop and grace period) while the clock runs: sampled at
  // every step, the totals only grow.
  let last = { pod: rt.podSeconds(), node: rt.nodeSeconds() };
  const removing = rt.removeCluster("blue");
  let done = false;
  void removing.then(() => (done = true));
  for (let i = 0; i < 200 && !done; i++) {
    await advance(clock, 1000, 1000);
    const now = { pod: rt.podSeconds(), node: rt.nodeSeconds() };
    assert.ok(now.pod >= last.pod && now.node >= last.node, `went down: ${JSON.stringify(last)} → ${JSON.stringify(now)}`);
    last = now;
  }
  await removing;
  assert.equal(rt.clusters.has("blue"), false);
  const bluePods = blue.podSeconds();
  const blueNodes = blue.nodeSeconds();
  assert.ok(bluePods > 0);
  // Blue's nodes were deleted at the start of the removal's node step; its totals are frozen and kept.
  assert.equal(rt.podSeconds(), bluePods + green.podSeconds());
  assert.equal(rt.nodeSeconds(), blueNodes + green.nodeSeconds());
  assert.ok(rt.podSeconds() >= last.pod && rt.nodeSeconds() >= last.node);

  // Later on only green adds to them; blue's share stays what it was.
  await advance(clock, 10_000, 1000);
  assert.equal(rt.podSeconds() - green.podSeconds(), bluePods);
  assert.equal(rt.nodeSeconds() - green.nodeSeconds(), blueNodes);
});

// The ReplicaSet on a fake clock: pods to match the replicas, scale-in order, graceful termination and
// replacement while a pod terminates, and pods that never fit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GiB, SMALL, harness, probe, template } from "./harness.js";

test("the ReplicaSet creates pods to match the replicas, and the scheduler binds and starts them", async () => {
  const h = harness();
  const node = h.node();
  h.cluster.addDeployment("web", template(), 3);
  await h.run(100);
  const pods = h.pods();
  assert.equal(pods.length, 3);
  assert.deepEqual(
    pods.map((p) => [p.phase, p.nodeName, p.ready]),
    [
      ["Running", node.name, true],
      ["Running", node.name, true],
      ["Running", node.name, true],
    ],
  );
  assert.equal(new Set(pods.map((p) => p.port)).size, 3, "each pod has its own port");
  assert.deepEqual(
    pods.map((p) => h.runner.of(p.name).length),
    [1, 1, 1],
    "one container each",
  );
  assert.equal(h.runner.last(pods[0]!.name).spec.port, pods[0]!.port);
  assert.equal(h.events("Created").length, 3);
  assert.equal(h.events("Scheduled").length, 3);
  // Reconciling again changes nothing.
  await h.run(5000);
  assert.equal(h.cluster.podsOf("web").length, 3);
  // Scale up by two: two more.
  h.cluster.setReplicas("web", 5, "test", "more");
  await h.run(100);
  assert.equal(h.pods("web", "Running").length, 5);
  assert.equal(h.events("Created").length, 5);
});

test("scale-in removes pending pods first, then not-ready ones, then the one with the least in flight (pod-deletion-cost set)", async () => {
  const h = harness();
  h.node("a", { ...SMALL, maxPods: 3 });
  h.runner.answers = { "/ready": true };
  h.cluster.addDeployment("web", template({ readiness: probe(), deletionCostAnnotation: true }), 5);
  await h.settle();
  const [p1, p2, p3, p4, p5] = h.pods();
  assert.deepEqual(
    [p1, p2, p3, p4, p5].map((p) => p!.phase),
    ["Running", "Running", "Running", "Pending", "Pending"],
  );
  // p2 never passes its readiness probe; p1 has 1 message in flight, p3 has 5.
  h.runner.last(p2!.name).answer("/ready", false);
  await h.run(100);
  assert.deepEqual(
    [p1, p2, p3].map((p) => p!.ready),
    [true, false, true],
  );
  h.runner.last(p1!.name).report({ inFlight: 1 });
  h.runner.last(p3!.name).report({ inFlight: 5 });

  h.cluster.setReplicas("web", 3, "test", "fewer");
  await h.run(100);
  assert.deepEqual(
    [p4, p5].map((p) => p!.phase),
    ["Succeeded", "Succeeded"],
    "the pending pods go first",
  );
  assert.deepEqual(
    [p1, p2, p3].map((p) => p!.phase),
    ["Running", "Running", "Running"],
  );
  assert.equal(h.events("Deleted", `pod/${p4!.name}`).length, 1);

  h.cluster.setReplicas("web", 2, "test", "fewer");
  await h.run(100);
  assert.deepEqual(
    [p1, p2, p3].map((p) => p!.phase),
    ["Running", "Succeeded", "Running"],
    "then the one that is not ready",
  );

  h.cluster.setReplicas("web", 1, "test", "fewer");
  await h.run(100);
  assert.deepEqual(
    [p1, p3].map((p) => p!.phase),
    ["Succeeded", "Running"],
    "then the one with the least work in flight",
  );
  assert.equal(h.pods("web").filter((p) => p.active).length, 1);
});

test("scale-in stops pods with SIGTERM, not SIGKILL, and the pod finishes when its container exits", async () => {
  const h = harness();
  h.node();
  h.cluster.addDeployment("web", template(), 2);
  await h.run(100);
  h.cluster.setReplicas("web", 1, "test", "fewer");
  await h.settle();
  const victim = h.pods().find((p) => p.phase !== "Running");
  const keep = h.pods().find((p) => p.phase === "Running");
  assert.ok(victim && keep);
  const c = h.runner.last(victim!.name);
  assert.deepEqual(c.signals, ["SIGTERM"]);
  assert.equal(victim!.phase, "Succeeded");
  assert.equal(h.events("Killing", `pod/${victim!.name}`)[0]?.message, "stopped (SIGTERM)");
  assert.deepEqual(h.runner.last(keep!.name).signals, []);
  // Nothing else happens later: no SIGKILL once the grace period would have run out.
  await h.run(31_000, 1000);
  assert.deepEqual(c.signals, ["SIGTERM"]);
  assert.equal(h.events("GracePeriodExceeded").length, 0);
});

test("a terminating pod is replaced at once; it gets SIGKILL only when the grace period (preStop included) runs out", async () => {
  const h = harness();
  h.node();
  h.cluster.addDeployment("web", template({ graceMs: 30_000, preStopMs: 5000 }), 2);
  await h.run(100);
  const before = h.pods();
  const old = before[0];
  const c = h.runner.last(old!.name);
  c.ignoreSigterm = true;
  const start = h.t();
  const done = old!.terminate("deleted by the test");
  await h.settle();
  assert.equal(old!.phase, "Terminating");
  assert.equal(old!.ready, false, "not ready as soon as it terminates");
  const replacement = h.pods().find((p) => !before.includes(p));
  assert.ok(replacement, "a replacement was created while the old pod is terminating");
  assert.equal(replacement.phase, "Running");
  assert.match(h.events("Created", `pod/${replacement.name}`)[0]!.message, new RegExp(`replaces ${old!.name}, which is terminating`));
  assert.equal(h.pods("web").filter((p) => p.active).length, 2);
  // preStop runs first: SIGTERM only after 5 s.
  await h.run(4900);
  assert.deepEqual(c.signals, []);
  await h.run(100);
  assert.deepEqual(c.signals, ["SIGTERM"]);
  assert.equal(h.t() - start, 5000);
  // The program ignores SIGTERM: SIGKILL when the 30 s grace period (counted from the deletion) ends.
  await h.run(24_900);
  assert.deepEqual(c.signals, ["SIGTERM"]);
  assert.equal(old!.phase, "Terminating");
  await h.run(100);
  assert.deepEqual(c.signals, ["SIGTERM", "SIGKILL"]);
  assert.equal(h.t() - start, 30_000);
  assert.equal(old!.phase, "Succeeded");
  assert.equal(old!.finishedAt! - old!.deletingAt!, 30_000);
  assert.equal(h.events("GracePeriodExceeded", `pod/${old!.name}`).length, 1);
  await done;
});

test("a pod that never fits stays Pending with one FailedScheduling event per distinct reason", async () => {
  const h = harness();
  h.node();
  h.cluster.addDeployment("web", template({ requests: { cpuMillis: 3000, memoryBytes: GiB } }), 1);
  await h.run(10_000, 1000);
  const [pod] = h.pods();
  assert.equal(pod!.phase, "Pending");
  assert.equal(pod!.unschedulable, "0/1 nodes are available: 1 Insufficient cpu.");
  const failed = () => h.events("FailedScheduling", `pod/${pod!.name}`).map((e) => e.message);
  assert.deepEqual(failed(), ["0/1 nodes are available: 1 Insufficient cpu."], "10 reconciles, one event");
  assert.equal(h.events("Created").length, 1, "a pending pod counts toward the replicas");
  // A new node the pod does not tolerate changes the reason: one more event.
  h.node("sys", { ...SMALL, cpuMillis: 8000 }, [{ key: "CriticalAddonsOnly", value: "true", effect: "NoSchedule" }]);
  await h.run(10_000, 1000);
  assert.deepEqual(failed(), [
    "0/1 nodes are available: 1 Insufficient cpu.",
    "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {CriticalAddonsOnly: true}.",
  ]);
  assert.equal(pod!.phase, "Pending");
  // A node that fits: scheduled, and the reason is cleared.
  const big = h.node("big", { ...SMALL, cpuMillis: 8000 });
  await h.run(1000);
  assert.equal(pod!.phase, "Running");
  assert.equal(pod!.nodeName, big.name);
  assert.equal(pod!.unschedulable, undefined);
  assert.equal(failed().length, 2);
});

test("scale-in among equally idle ready pods removes the youngest", async () => {
  const h = harness();
  h.node();
  h.cluster.addDeployment("web", template(), 2);
  await h.run(1000);
  h.cluster.setReplicas("web", 3, "test", "more");
  await h.run(1000);
  const young = h.pods().at(-1)!;
  assert.equal(young.createdAt - h.pods()[0]!.createdAt, 1000);
  h.cluster.setReplicas("web", 2, "test", "fewer");
  await h.run(100);
  assert.equal(young.phase, "Succeeded");
  assert.equal(h.pods("web", "Running").length, 2);
});

test("without the pod-deletion-cost annotation in-flight work does not protect a pod: the most recently ready goes (controller_utils.go)", async () => {
  for (const annotated of [false, true]) {
    const h = harness();
    h.node();
    h.cluster.addDeployment("web", template({ deletionCostAnnotation: annotated }), 1);
    await h.run(1000);
    h.cluster.setReplicas("web", 2, "test", "more");
    await h.run(1000);
    const [old, young] = h.pods();
    // The younger pod is busy, the older one idle.
    h.runner.last(young!.name).report({ inFlight: 5 });
    h.cluster.setReplicas("web", 1, "test", "fewer");
    await h.run(100);
    assert.deepEqual([old!.phase, young!.phase], annotated ? ["Succeeded", "Running"] : ["Running", "Succeeded"], `annotation ${annotated}`);
  }
});

test("scale-in takes a pod from the node holding more of the set first (co-location rank)", async () => {
  const h = harness();
  const a = h.node("a", { ...SMALL, maxPods: 1 });
  h.cluster.addDeployment("web", template(), 1);
  await h.run(1000);
  const b = h.node("b", { ...SMALL, maxPods: 2 });
  h.cluster.setReplicas("web", 3, "test", "more");
  await h.run(1000);
  const onA = h.pods().find((p) => p.nodeName === a.name)!;
  h.cluster.setReplicas("web", 2, "test", "fewer");
  await h.run(100);
  assert.equal(onA.phase, "Running", "the lone pod on a stays");
  assert.equal(h.pods("web", "Running").filter((p) => p.nodeName === b.name).length, 1);
});

// The endpoints controller on a fake clock: a Service's ready endpoints follow readiness, termination
// and node NotReady, with one EndpointsUpdated event per change of the ready set.
import { test } from "node:test";
import assert from "node:assert/strict";
import { harness, probe, template, type Harness } from "./harness.js";
import { Endpoints, type Endpoint } from "../../src/local/cluster/service.js";

function service(h: Harness, selector: Record<string, string> = { app: "web" }) {
  const eps = new Endpoints(h.cluster, { name: "web", type: "ClusterIP", selector, port: 80 });
  const updates: Endpoint[][] = [];
  eps.onUpdate((list) => updates.push(list));
  const ready = () => eps.ready().map((e) => e.pod);
  const events = () => h.events("EndpointsUpdated", "service/web").map((e) => e.message);
  return { eps, updates, ready, events };
}

test("the endpoints are the ready pods the selector picks, each at its pod's port and node", async () => {
  const h = harness();
  const a = h.node("a");
  const s = service(h);
  h.cluster.addDeployment("web", template(), 2);
  h.cluster.addDeployment("api", template({ app: "api", labels: { app: "api", tier: "web" } }), 1);
  await h.run(100);
  const web = h.pods("web");
  assert.deepEqual(
    s.eps.ready(),
    web.map((p) => ({ pod: p.name, node: a.name, port: p.port!, ready: true, terminating: false })).sort((x, y) => x.pod.localeCompare(y.pod)),
  );
  assert.equal(
    s.ready().some((n) => n.startsWith("api-")),
    false,
    "another app's pod is not selected",
  );
  assert.deepEqual(s.events(), [`2 ready endpoint(s); added ${s.ready().join(", ")}`]);
  assert.equal(s.updates.length, 1);
  // A selector with two labels picks only pods having both.
  const both = new Endpoints(h.cluster, { name: "api", type: "ClusterIP", selector: { app: "api", tier: "web" }, port: 80 });
  assert.deepEqual(
    both.ready().map((e) => e.pod),
    h.pods("api").map((p) => p.name),
  );
  // A change elsewhere that leaves the ready set alone is no update.
  h.cluster.setReplicas("api", 2, "test", "more");
  await h.run(100);
  assert.equal(s.events().length, 1);
  assert.equal(s.updates.length, 1);
  assert.equal(both.ready().length, 2);
});

test("readiness changes add and remove endpoints, each with an EndpointsUpdated event", async () => {
  const h = harness();
  h.node("a");
  const s = service(h);
  h.runner.answers = { "/ready": false };
  h.cluster.addDeployment("web", template({ readiness: probe({ periodMs: 1000, failureThreshold: 2 }) }), 2);
  await h.run(2000);
  const [p1, p2] = h.pods();
  // Bound, with a port, but not ready: listed, not serving.
  assert.deepEqual(
    s.eps
      .list()
      .map((e) => [e.pod, e.ready])
      .sort(),
    [
      [p1!.name, false],
      [p2!.name, false],
    ].sort(),
  );
  assert.deepEqual(s.ready(), []);
  assert.deepEqual(s.events(), []);
  h.runner.last(p1!.name).answer("/ready", true);
  await h.run(1000);
  assert.deepEqual(s.ready(), [p1!.name]);
  assert.deepEqual(s.events(), [`1 ready endpoint(s); added ${p1!.name}`]);
  h.runner.last(p2!.name).answer("/ready", true);
  await h.run(1000);
  assert.deepEqual(s.ready().sort(), [p1!.name, p2!.name].sort());
  h.runner.last(p1!.name).answer("/ready", false);
  await h.run(1000);
  assert.equal(s.ready().length, 2, "one miss is not enough (failureThreshold 2)");
  await h.run(1000);
  assert.deepEqual(s.ready(), [p2!.name]);
  assert.deepEqual(s.events(), [`1 ready endpoint(s); added ${p1!.name}`, `2 ready endpoint(s); added ${p2!.name}`, `1 ready endpoint(s); removed ${p1!.name}`]);
  assert.deepEqual(
    s.updates.map((u) => u.filter((e) => e.ready).length),
    [1, 2, 1],
  );
});

test("a terminating pod leaves the ready endpoints at once, and the list while it still runs", async () => {
  const h = harness();
  h.node("a");
  const s = service(h);
  h.cluster.addDeployment("web", template({ graceMs: 10_000 }), 2);
  await h.run(100);
  for (const p of h.pods()) h.runner.last(p.name).ignoreSigterm = true;
  h.cluster.setReplicas("web", 1, "test", "fewer");
  await h.settle();
  const gone = h.pods("web", "Terminating")[0]!;
  const stays = h.pods("web", "Running")[0]!;
  assert.deepEqual(s.ready(), [stays.name]);
  assert.deepEqual(
    s.eps.list().find((e) => e.pod === gone.name),
    { pod: gone.name, node: gone.nodeName, port: gone.port, ready: false, terminating: true },
  );
  assert.equal(s.events().at(-1), `1 ready endpoint(s); removed ${gone.name}`);
  // SIGKILL after the grace period: it leaves the list too, and the ready set did not change again.
  await h.run(10_000);
  assert.equal(gone.phase, "Succeeded");
  assert.equal(
    s.eps.list().some((e) => e.pod === gone.name),
    false,
  );
  assert.equal(s.events().length, 2);
});

test("a frozen pod on a stopped node stays an endpoint until the node is NotReady; it is back after the restart", async () => {
  const h = harness({ kubernetesVersion: "1.30" });
  const a = h.node("a");
  h.cluster.addDeployment("web", template(), 2);
  await h.settle();
  const b = h.node("b");
  const s = service(h);
  await h.run(10_000);
  const pods = h.pods();
  assert.deepEqual(
    pods.map((p) => p.nodeName),
    [a.name, a.name],
  );
  assert.equal(s.ready().length, 2);
  const before = s.events().length;
  h.cluster.stopNode(a.name);
  await h.run(39_900);
  assert.deepEqual(
    pods.map((p) => h.runner.last(p.name).frozen),
    [true, true],
  );
  assert.equal(s.ready().length, 2, "frozen, not answering, and still served for the grace period");
  assert.equal(s.events().length, before);
  await h.run(100);
  assert.equal(a.phase, "NotReady");
  // MarkPodsNotReady drops both at once: one update.
  assert.deepEqual(s.ready(), []);
  assert.deepEqual(s.events().slice(before), [
    `0 ready endpoint(s); removed ${pods
      .map((p) => p.name)
      .sort()
      .join(", ")}`,
  ]);
  assert.deepEqual(
    s.eps.list().map((e) => e.ready),
    [false, false],
    "still listed: bound to a, not ready",
  );
  assert.equal(b.phase, "Ready");
  h.cluster.startNode(a.name);
  await h.settle();
  assert.deepEqual(s.ready(), pods.map((p) => p.name).sort());
  assert.equal(
    s.events().at(-1),
    `2 ready endpoint(s); added ${pods
      .map((p) => p.name)
      .sort()
      .join(", ")}`,
  );
});

test("after eviction from a NotReady node the replacements on another node become the endpoints", async () => {
  const h = harness({ kubernetesVersion: "1.33" });
  const a = h.node("a");
  h.cluster.addDeployment("web", template({ tolerations: [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 1 }] }), 2);
  await h.settle();
  const b = h.node("b");
  const s = service(h);
  await h.run(10_000);
  const old = s.ready();
  h.cluster.stopNode(a.name);
  await h.run(50_000, 1000);
  assert.equal(a.phase, "NotReady");
  assert.deepEqual(s.ready(), []);
  await h.run(1000);
  const fresh = h.pods("web").filter((p) => p.active);
  assert.deepEqual(
    fresh.map((p) => p.nodeName),
    [b.name, b.name],
  );
  assert.deepEqual(s.ready(), fresh.map((p) => p.name).sort());
  assert.equal(
    s.ready().some((n) => old.includes(n)),
    false,
  );
  // The evicted pods are still bound to a (Terminating, kubelet away) and listed as terminating.
  assert.deepEqual(
    s.eps
      .list()
      .filter((e) => e.node === a.name)
      .map((e) => [e.ready, e.terminating]),
    [
      [false, true],
      [false, true],
    ],
  );
});

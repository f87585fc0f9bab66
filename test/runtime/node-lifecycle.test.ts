// The node lifecycle controller and taint-based eviction on a fake clock: a stopped VM's node stays
// Ready for the grace period, then NotReady with its pods marked not ready and the unreachable:NoExecute
// taint; pods are evicted when their toleration runs out and replaced on another node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { harness, template, type Harness } from "./harness.js";
import { UserError } from "../../src/errors.js";
import { evictionTime } from "../../src/local/cluster/node-lifecycle.js";
import type { Toleration } from "../../src/blueprints/types.js";
import type { Pod } from "../../src/local/cluster/pod.js";

const UNREACHABLE = "node.kubernetes.io/unreachable";
const tolerate = (seconds?: number): Toleration[] => [
  { key: UNREACHABLE, operator: "Exists", effect: "NoExecute", ...(seconds === undefined ? {} : { tolerationSeconds: seconds }) },
];

/**
 * Node a with the given deployments (one pod each unless said), then node b (empty, so replacements
 * can go there). Returns the pods on a by deployment.
 */
async function twoNodes(version: string, apps: Record<string, { tolerations?: Toleration[]; replicas?: number }>, timeScale = 1) {
  const h = harness({ kubernetesVersion: version, timeScale });
  const a = h.node("a");
  for (const [name, o] of Object.entries(apps)) h.cluster.addDeployment(name, template({ app: name, labels: { app: name }, tolerations: o.tolerations ?? [] }), o.replicas ?? 1);
  await h.settle();
  const b = h.node("b");
  await h.settle();
  const on = Object.fromEntries(Object.keys(apps).map((name) => [name, h.pods(name)])) as Record<string, Pod[]>;
  for (const pods of Object.values(on)) for (const p of pods) assert.equal(p.nodeName, a.name);
  return { h, a, b, on };
}

/** Runs until the node is NotReady; returns how long that took (ms), failing after `limit`. */
async function untilNotReady(h: Harness, name: string, limit: number, step = 100): Promise<number> {
  const start = h.clock.now();
  while (h.cluster.nodes.get(name)!.phase !== "NotReady") {
    if (h.clock.now() - start > limit) assert.fail(`node ${name} still ${h.cluster.nodes.get(name)!.phase} after ${limit} ms`);
    await h.run(step, step);
  }
  return h.clock.now() - start;
}

for (const [version, grace] of [
  ["1.30", 40_000],
  ["1.33", 50_000],
] as const) {
  test(`Kubernetes ${version}: a stopped node stays Ready for ${grace / 1000} s, then turns NotReady at the next 5 s monitor tick`, async () => {
    const { h, a, on } = await twoNodes(version, { web: { replicas: 2 } });
    // Stop 2 s after a monitor tick (ticks every 5 s from t = 0).
    await h.run(12_000);
    const pods = on.web!;
    const c = pods.map((p) => h.runner.last(p.name));
    h.cluster.stopNode(a.name);
    await h.settle();
    assert.deepEqual(
      c.map((x) => x.frozen),
      [true, true],
      "the pods' processes are frozen",
    );
    assert.equal(
      h.events("VMStopped", `node/${a.name}`)[0]?.message,
      `VM switched off: its pods stop answering; the node controller marks it NotReady after ${grace} ms without a heartbeat`,
    );
    // The grace period counts from the stop: Ready until then, pods still Running and ready.
    await h.run(grace - 100);
    assert.equal(a.phase, "Ready");
    assert.deepEqual(
      pods.map((p) => [p.phase, p.ready]),
      [
        ["Running", true],
        ["Running", true],
      ],
    );
    // The grace period ends 2 s after a tick (t = 12 s + grace): the next tick, 3 s later, notices.
    const late = await untilNotReady(h, a.name, 10_000);
    assert.equal(h.t(), 12_000 + grace + 3000);
    assert.equal(late, 3100);
    assert.deepEqual(
      pods.map((p) => [p.phase, p.ready]),
      [
        ["Running", false],
        ["Running", false],
      ],
      "MarkPodsNotReady",
    );
    const taint = a.taints.find((t) => t.key === UNREACHABLE && t.effect === "NoExecute");
    assert.equal(taint?.addedAt, h.clock.now());
    assert.ok(a.taints.some((t) => t.key === UNREACHABLE && t.effect === "NoSchedule"));
    assert.equal(
      h.events("NodeNotReady", `node/${a.name}`)[0]?.message,
      `Node ${a.name} status is now: NodeNotReady (no kubelet heartbeat for ${grace + 3000} ms, grace ${grace} ms)`,
    );
    assert.equal(h.events("TaintAdded", `node/${a.name}`)[0]?.message, `${UNREACHABLE}:NoExecute`);
    for (const p of pods) assert.equal(h.events("NotReady", `pod/${p.name}`)[0]?.message, `node ${a.name} is not ready`);
  });
}

test("a node stopped right at a monitor tick turns NotReady exactly when the grace period ends", async () => {
  const { h, a } = await twoNodes("1.30", { web: {} });
  await h.run(10_000);
  h.cluster.stopNode(a.name);
  await h.run(39_900);
  assert.equal(a.phase, "Ready");
  await h.run(100);
  assert.equal(a.phase, "NotReady");
  assert.equal(h.t(), 50_000);
});

test("no kubelet on a stopped node: no probes, and a pending crash restart does not happen", async () => {
  const h = harness({ kubernetesVersion: "1.30" });
  const a = h.node("a");
  h.cluster.addDeployment("web", template({ readiness: { path: "/ready", periodMs: 1000, timeoutMs: 1000, failureThreshold: 3, successThreshold: 1, initialDelayMs: 0 } }), 2);
  await h.run(5000);
  const [serving, crashed] = h.pods();
  const c = h.runner.last(serving!.name);
  assert.equal(serving!.ready, true);
  // One container crashes: its restart is due in 10 s, but the VM goes off 1 s later.
  h.runner.last(crashed!.name).crash(1);
  await h.run(1000);
  assert.equal(crashed!.waiting, "CrashLoopBackOff");
  const probes = c.probes.length;
  h.cluster.stopNode(a.name);
  await h.run(30_000, 1000);
  assert.equal(c.probes.length, probes, "not probed while the VM is off");
  assert.equal(serving!.ready, true, "the cluster still believes it ready");
  assert.equal(h.runner.of(crashed!.name).length, 1, "no restart while the VM is off");
  assert.equal(crashed!.restarts, 1);
  // When the VM is back the crashed pod starts at once (a reboot, no backoff), and is not counted twice.
  h.cluster.startNode(a.name);
  await h.run(100);
  assert.equal(h.runner.of(crashed!.name).length, 2);
  assert.equal(crashed!.restarts, 1);
  assert.equal(serving!.restarts, 1);
});

test("taint-based eviction: tolerationSeconds 1 → 1 s after NotReady; the default 300 s → 300 s; no limit → never; replacements go to another node", async () => {
  const { h, a, b, on } = await twoNodes("1.33", { fast: { tolerations: tolerate(1) }, slow: {}, forever: { tolerations: tolerate() } });
  // DefaultTolerationSeconds gave "slow" 300 s for unreachable and not-ready.
  assert.deepEqual(
    h.cluster.deployments.get("slow")!.template.tolerations.map((t) => [t.key, t.tolerationSeconds]),
    [
      ["node.kubernetes.io/not-ready", 300],
      [UNREACHABLE, 300],
    ],
  );
  await h.run(10_000);
  h.cluster.stopNode(a.name);
  await untilNotReady(h, a.name, 60_000);
  const notReadyAt = h.t();
  assert.equal(notReadyAt, 60_000);
  const [fast, slow, forever] = [on.fast![0]!, on.slow![0]!, on.forever![0]!];
  await h.run(900);
  assert.equal(fast.phase, "Running");
  await h.run(100);
  assert.equal(fast.phase, "Terminating", "evicted 1 s after the taint");
  assert.equal(fast.deletingAt! - h.clock.now(), 0);
  assert.equal(h.events("TaintManagerEviction", `pod/${fast.name}`)[0]?.message, `Marking for deletion Pod ${fast.name}: node ${a.name} has ${UNREACHABLE}:NoExecute`);
  assert.deepEqual(h.runner.last(fast.name).signals, [], "the kubelet is gone: nothing is signalled");
  // Its replacement: created at once and scheduled on b (a is NotReady and tainted, though it has room).
  await h.settle();
  const fastNow = h.pods("fast").filter((p) => p.active);
  assert.equal(fastNow.length, 1);
  assert.equal(fastNow[0]!.nodeName, b.name);
  assert.equal(fastNow[0]!.phase, "Running");
  assert.equal(fastNow[0]!.createdAt, fast.deletingAt);
  assert.match(h.events("Created", `pod/${fastNow[0]!.name}`)[0]!.message, new RegExp(`replaces ${fast.name}`));
  // The default toleration: 300 s after the taint.
  await h.run(300_000 - 1000 - 1000, 1000);
  assert.equal(slow.phase, "Running");
  await h.run(1000, 1000);
  assert.equal(slow.phase, "Terminating");
  assert.equal(h.t() - notReadyAt, 300_000);
  assert.equal(h.pods("slow").find((p) => p.active)?.nodeName, b.name);
  // Tolerated forever: still there much later.
  await h.run(600_000, 5000);
  assert.equal(forever.phase, "Running");
  assert.equal(forever.nodeName, a.name);
  assert.equal(h.events("TaintManagerEviction").length, 2);
  // The evicted pods stay Terminating while the kubelet is away.
  assert.deepEqual([fast.phase, slow.phase], ["Terminating", "Terminating"]);
});

test("taint-based eviction at time scale 10: grace, monitor period and tolerationSeconds are all divided", async () => {
  const { h, a, on } = await twoNodes("1.33", { fast: { tolerations: tolerate(1) }, slow: {} }, 10);
  await h.run(1000);
  h.cluster.stopNode(a.name);
  // Grace 5 s, ticks every 0.5 s: NotReady 5 s after the stop (it was at a tick).
  assert.equal(await untilNotReady(h, a.name, 10_000), 5000);
  await h.run(100);
  assert.equal(on.fast![0]!.phase, "Terminating", "1 s / 10");
  await h.run(29_800);
  assert.equal(on.slow![0]!.phase, "Running");
  await h.run(100);
  assert.equal(on.slow![0]!.phase, "Terminating", "300 s / 10");
});

test("an untolerated NoExecute taint evicts at once; a tolerated one after its tolerationSeconds (the kubelet runs: SIGTERM)", async () => {
  const maintenance = "example.com/maintenance";
  const { h, a, b, on } = await twoNodes("1.33", { plain: {}, patient: { tolerations: [{ key: maintenance, operator: "Exists", effect: "NoExecute", tolerationSeconds: 5 }] } });
  await h.run(2000);
  a.taints.push({ key: maintenance, effect: "NoExecute", addedAt: h.clock.now() });
  h.cluster.changed();
  await h.settle();
  const [plain, patient] = [on.plain![0]!, on.patient![0]!];
  assert.equal(plain.phase, "Succeeded", "evicted at once; its container exits on SIGTERM");
  assert.deepEqual(h.runner.last(plain.name).signals, ["SIGTERM"]);
  assert.equal(h.pods("plain").find((p) => p.active)?.nodeName, b.name, "the replacement does not tolerate the taint either");
  await h.run(4900);
  assert.equal(patient.phase, "Running");
  await h.run(100);
  assert.equal(patient.phase, "Succeeded");
  assert.equal(h.events("TaintManagerEviction").length, 2);
});

test("tolerationSeconds count from when the pod is on the tainted node, not from when the taint was added", async () => {
  const maintenance = "example.com/maintenance";
  const { h, a, b } = await twoNodes("1.33", { patient: { tolerations: [{ key: maintenance, operator: "Exists", effect: "NoExecute", tolerationSeconds: 5 }] } });
  // b is busier than a, so LeastAllocated sends patient's pods to a.
  h.cluster.addDeployment("busy", template({ app: "busy", labels: { app: "busy" }, requests: { cpuMillis: 1000, memoryBytes: 2 * 2 ** 30 } }), 1);
  await h.run(1000);
  assert.equal(h.pods("busy")[0]!.nodeName, b.name);
  a.taints.push({ key: maintenance, effect: "NoExecute", addedAt: h.clock.now() });
  h.cluster.changed();
  await h.run(5000);
  const [first, second] = h.pods("patient");
  assert.equal(first!.phase, "Succeeded");
  // The replacement goes to a (it tolerates the taint) and gets its own 5 s there.
  assert.equal(second!.nodeName, a.name);
  assert.equal(second!.scheduledAt, h.clock.now());
  await h.run(4900);
  assert.equal(second!.phase, "Running");
  await h.run(100);
  assert.equal(second!.phase, "Succeeded");
  assert.equal(h.events("TaintManagerEviction").length, 2);
});

test("evictionTime: untolerated at once, the smallest tolerationSeconds of the matching tolerations, none → never", () => {
  const taint = { key: UNREACHABLE, effect: "NoExecute" as const, addedAt: 1_000_000 };
  const podWith = (tolerations: Toleration[]) => ({ template: template({ tolerations }) }) as Pod;
  assert.equal(evictionTime(podWith([]), [taint], 1), 1_000_000);
  assert.equal(evictionTime(podWith(tolerate(30)), [taint], 1), 1_030_000);
  assert.equal(evictionTime(podWith(tolerate(30)), [taint], 10), 1_003_000);
  assert.equal(evictionTime(podWith([...tolerate(30), { key: "", operator: "Exists", effect: "NoExecute", tolerationSeconds: 7 }]), [taint], 1), 1_007_000);
  assert.equal(evictionTime(podWith(tolerate()), [taint], 1), undefined);
  assert.equal(
    evictionTime(podWith([{ key: UNREACHABLE, operator: "Exists", effect: "NoSchedule", tolerationSeconds: 5 }]), [taint], 1),
    1_000_000,
    "a NoSchedule toleration does not tolerate NoExecute",
  );
  // Two taints: the earliest deadline wins; one untolerated means at once.
  const other = { key: "x", effect: "NoExecute" as const, addedAt: 1_010_000 };
  assert.equal(evictionTime(podWith([...tolerate(60), { key: "x", operator: "Exists", effect: "NoExecute", tolerationSeconds: 20 }]), [taint, other], 1), 1_030_000);
  assert.equal(evictionTime(podWith(tolerate(60)), [taint, other], 1), 1_010_000);
  // A pod bound after the taint was added: its tolerationSeconds count from then.
  const late = { template: template({ tolerations: tolerate(30) }), scheduledAt: 1_100_000 } as Pod;
  assert.equal(evictionTime(late, [taint], 1), 1_130_000);
});

test("startNode before eviction: the node is Ready again without the taint, its pods restart in place (restarts + 1)", async () => {
  const { h, a, on } = await twoNodes("1.30", { web: { replicas: 2 } });
  await h.run(10_000);
  const pods = on.web!;
  const old = pods.map((p) => h.runner.last(p.name));
  h.cluster.stopNode(a.name);
  await untilNotReady(h, a.name, 60_000);
  await h.run(100_000, 1000);
  assert.deepEqual(
    pods.map((p) => p.ready),
    [false, false],
  );
  h.cluster.startNode(a.name);
  await h.settle();
  assert.equal(a.phase, "Ready");
  assert.equal(
    a.taints.some((t) => t.key === UNREACHABLE),
    false,
    "both unreachable taints are gone",
  );
  assert.equal(h.events("NodeReady", `node/${a.name}`)[0]?.message, `Node ${a.name} status is now: NodeReady`);
  assert.deepEqual(
    old.map((c) => c.signals),
    [["SIGKILL"], ["SIGKILL"]],
    "the frozen processes did not survive the reboot",
  );
  assert.deepEqual(
    pods.map((p) => h.runner.of(p.name).length),
    [2, 2],
    "a fresh container each",
  );
  assert.deepEqual(
    pods.map((p) => [p.phase, p.ready, p.restarts, p.nodeName]),
    [
      ["Running", true, 1, a.name],
      ["Running", true, 1, a.name],
    ],
  );
  assert.deepEqual(
    pods.map((p) => h.runner.last(p.name).spec.port),
    pods.map((p) => p.port),
    "same pods, same ports",
  );
  // Well past the 300 s toleration: nothing is evicted, no pod was created.
  await h.run(400_000, 5000);
  assert.equal(h.events("TaintManagerEviction").length, 0);
  assert.equal(h.cluster.podsOf("web").length, 2);
});

test("startNode within the grace period: the node never turns NotReady; the pods restart", async () => {
  const { h, a, on } = await twoNodes("1.30", { web: {} });
  await h.run(10_000);
  h.cluster.stopNode(a.name);
  await h.run(30_000);
  h.cluster.startNode(a.name);
  await h.run(60_000, 1000);
  assert.equal(h.events("NodeNotReady").length, 0);
  assert.equal(a.phase, "Ready");
  const pod = on.web![0]!;
  assert.deepEqual([pod.phase, pod.ready, pod.restarts], ["Running", true, 1]);
  assert.equal(h.events("NodeRebooted", `pod/${pod.name}`).length, 1);
});

test("after eviction, the Terminating pods finish only when their node starts again", async () => {
  const { h, a, b, on } = await twoNodes("1.33", { web: { tolerations: tolerate(1), replicas: 2 } });
  await h.run(10_000);
  h.cluster.stopNode(a.name);
  await untilNotReady(h, a.name, 60_000);
  await h.run(1000);
  const evicted = on.web!;
  assert.deepEqual(
    evicted.map((p) => p.phase),
    ["Terminating", "Terminating"],
  );
  const replacements = h.pods("web").filter((p) => p.active);
  assert.deepEqual(
    replacements.map((p) => [p.phase, p.nodeName]),
    [
      ["Running", b.name],
      ["Running", b.name],
    ],
  );
  // Ten minutes later: still Terminating, still holding their place on a.
  await h.run(600_000, 5000);
  assert.deepEqual(
    evicted.map((p) => p.phase),
    ["Terminating", "Terminating"],
  );
  assert.equal(h.cluster.podsOn(a.name).length, 2);
  h.cluster.startNode(a.name);
  await h.settle();
  assert.deepEqual(
    evicted.map((p) => p.phase),
    ["Succeeded", "Succeeded"],
  );
  assert.deepEqual(
    evicted.map((p) => h.runner.of(p.name).length),
    [1, 1],
    "no container is started for a deleted pod",
  );
  assert.deepEqual(
    evicted.map((p) => h.runner.last(p.name).signals),
    [["SIGKILL"], ["SIGKILL"]],
  );
  for (const p of evicted) assert.equal(h.events("Killing", `pod/${p.name}`)[0]?.message, "node is back; the deleted pod finished terminating");
  assert.equal(h.cluster.podsOn(a.name).length, 0);
  // The replicas are the replacements; nothing more is created.
  await h.run(5000);
  assert.equal(h.pods("web").filter((p) => p.active).length, 2);
});

test("stopNode and startNode refuse what makes no sense, with a UserError that says why and what to do", async () => {
  const { h, a, b } = await twoNodes("1.33", {});
  h.cluster.stopNode(a.name);
  assert.throws(
    () => h.cluster.stopNode(a.name),
    (e: unknown) => e instanceof UserError && e.message === `node ${a.name} is already stopped` && e.hint === `start it with \`akspilot node start ${a.name}\``,
  );
  assert.throws(
    () => h.cluster.stopNode("aks-nope-00000"),
    (e: unknown) => e instanceof UserError && e.message === 'no node named "aks-nope-00000"' && e.hint === `nodes: ${a.name}, ${b.name}`,
  );
  assert.throws(
    () => h.cluster.startNode(b.name),
    (e: unknown) => e instanceof UserError && e.message === `node ${b.name} is not stopped`,
  );
  assert.throws(() => h.cluster.startNode("aks-nope-00000"), UserError);
  // A node still provisioning cannot be stopped either.
  const booting = h.cluster.addNode(b.type, { kind: "agentPool", pool: "c", mode: "User" }, 60_000, "test");
  assert.throws(
    () => h.cluster.stopNode(booting.name),
    (e: unknown) => e instanceof UserError && e.message === `node ${booting.name} is provisioning`,
  );
});

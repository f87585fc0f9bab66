// The simulator and the local runtime name the same decisions the same way: one event type
// (src/scaling/events.ts), the same objects, reasons and, for replica decisions, the same messages.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Cluster } from "../../src/local/cluster/cluster.js";
import { realClock } from "../../src/local/cluster/clock.js";
import type { ClusterEvent } from "../../src/local/cluster/events.js";
import { Autoscaler } from "../../src/local/controllers/autoscaler.js";
import { ClusterClock } from "../../src/local/controllers/clock.js";
import { Provisioner } from "../../src/local/controllers/provisioner.js";
import { REASONS } from "../../src/scaling/events.js";
import { hpaSync, newHpaState } from "../../src/scaling/hpa.js";
import { kedaPoll } from "../../src/scaling/keda.js";
import { makePolicy } from "../../src/scaling/policy.js";
import { SEED_POD_REQUESTS, simulate } from "../../src/sim/engine.js";
import { seedInputs } from "./workloads.js";
import { getBlueprint } from "../../src/blueprints/index.js";
import { addStaticNodes } from "../../src/local/runtime.js";

const QUEUE = 30;
// The first decisions on a steady queue of 30 with the seed's ScaledObject and NodePool: KEDA activates
// 0 → 1, the HPA scales 1 → 4 at once, and Karpenter's first batch (closing 1 s later) launches a node.
const FIRST = 5;

/** kind of the object and reason, for the decisions both sides make (the runtime also has pod events). */
const decisions = (events: ClusterEvent[]) => events.filter((e) => /^(scaledobject|deployment|node|nodepool)\//.test(e.object)).slice(0, FIRST);

/** The runtime's controllers on a real local Cluster, until they have made the first decisions. */
async function runtimeEvents(): Promise<ClusterEvent[]> {
  const { rule, pool } = seedInputs();
  const clock = new ClusterClock(20);
  // Nodes take an hour of cluster time to come up, so the pods stay Pending and no container starts.
  const cluster = new Cluster({
    name: "parity",
    timeScale: clock.timeScale,
    clock: realClock,
    runner: { start: () => assert.fail("no pod may start") },
    allocatePort: async () => assert.fail("no pod may start"),
  });
  cluster.addDeployment(
    rule.target,
    { app: rule.target, labels: { app: rule.target }, script: "never-started.js", args: [], env: {}, requests: SEED_POD_REQUESTS, tolerations: [], graceMs: 1000 },
    0,
  );
  const autoscaler = new Autoscaler({ cluster, deployment: rule.target, object: rule.name, policy: makePolicy("keda", rule), clock, queueLength: async () => QUEUE });
  const provisioner = new Provisioner({ cluster, pool, clock, nodeStartupSeconds: 3600 });
  autoscaler.start();
  provisioner.start();
  try {
    const deadline = Date.now() + 20_000;
    while (decisions(cluster.events.list()).length < FIRST || !cluster.events.list().some((e) => e.reason === REASONS.launched)) {
      assert.ok(Date.now() < deadline, `runtime events so far: ${JSON.stringify(cluster.events.list())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return cluster.events.list();
  } finally {
    await autoscaler.stop();
    await provisioner.stop();
    await cluster.shutdown();
  }
}

test("the simulator and the runtime name a KEDA activation, an HPA scale-up and a node launch the same way", async () => {
  const { rule } = seedInputs();
  // The runtime's pure decision functions give the reasons both record on the ScaledObject.
  const activation = kedaPoll(rule, { createdAt: 0 }, 0, QUEUE, 0).decision!;
  const scaleUp = hpaSync(rule, newHpaState(), 0, QUEUE, 1, 1).decision!;
  assert.equal(activation.reason, "KEDAScaleTargetActivated");
  assert.equal(scaleUp.reason, "HPAScaleUp");

  const sim = decisions(simulate({ ...seedInputs(), trace: { kind: "queue", points: [{ t: 0, v: QUEUE }] }, durationSeconds: 10 }).events);
  const run = decisions(await runtimeEvents());

  const shape = (es: ClusterEvent[]) => es.map((e) => [e.type, e.object.replace(/\/.*/, "/"), e.reason]);
  const expected = [
    ["Normal", "scaledobject/", activation.reason],
    ["Normal", "deployment/", REASONS.scalingReplicaSet],
    ["Normal", "scaledobject/", scaleUp.reason],
    ["Normal", "deployment/", REASONS.scalingReplicaSet],
    ["Normal", "node/", REASONS.launched],
  ];
  assert.deepEqual(shape(sim), expected);
  assert.deepEqual(shape(run), expected);
  // Replica decisions read alike, word for word: same objects, same messages.
  assert.deepEqual(
    sim.slice(0, 4).map((e) => [e.object, e.message]),
    run.slice(0, 4).map((e) => [e.object, e.message]),
  );
  assert.equal(run[0]!.message, `keda: ${activation.message}`);
  assert.equal(run[2]!.message, `hpa: ${scaleUp.message}`);
  // Both launch the same instance type for the same pending pods.
  const typeOf = (e: ClusterEvent) => e.message.split(/[ :]/)[0];
  assert.equal(typeOf(sim[4]!), typeOf(run[4]!));
  assert.match(typeOf(sim[4]!)!, /^Standard_/);
});

test("the simulator and the runtime start the seed cluster's static nodes with the same names, sizes and words", async () => {
  const spec = getBlueprint("edw").clusters[0]!;
  const cluster = new Cluster({
    name: "parity",
    timeScale: 1,
    clock: realClock,
    runner: { start: () => assert.fail("no pod may start") },
    allocatePort: async () => assert.fail("no pod may start"),
  });
  addStaticNodes(cluster, spec);
  const launched = (es: ClusterEvent[]) => es.filter((e) => e.reason === REASONS.launched).map((e) => [e.object, e.message]);
  const run = launched(cluster.events.list());
  await cluster.shutdown();
  const sim = launched(simulate({ ...seedInputs(), cluster: spec, trace: { kind: "queue", points: [{ t: 0, v: 0 }] }, durationSeconds: 1 }).events);
  assert.equal(run.length, 4);
  assert.deepEqual(sim, run);
  // The application pool's D2s_v5 as the seed's add-ons (Cilium, monitoring) leave it.
  assert.match(run[3]![1]!, /^Standard_D2s_v5 \(1520m CPU, \d+Mi, 244 pods\) in agent pool apppool/);
});

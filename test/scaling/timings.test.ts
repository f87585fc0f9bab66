// Timings as data: the profile's file format, its errors, and what the simulator and the runtime do with it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { UserError } from "../../src/errors.js";
import { DEFAULT_TIMINGS, parseTimingsYaml } from "../../src/scaling/timings.js";
import { simulate } from "../../src/sim/engine.js";
import { seedInputs } from "../sim/workloads.js";
import { harness, template } from "../runtime/harness.js";

test("a profile file overrides the fields it names; the rest are the defaults", () => {
  const t = parseTimingsYaml("nodeBootSeconds: 90\nvmDeleteSeconds: 45\n", "t.yaml");
  assert.deepEqual(t, { ...DEFAULT_TIMINGS, nodeBootSeconds: 90, vmDeleteSeconds: 45 });
});

test("bad profile files are refused with one line naming the file and the field", () => {
  const cases: [string, RegExp][] = [
    ["nodeBootSecs: 90\n", /^t\.yaml: unknown field "nodeBootSecs"/],
    ["imagePullSeconds: -1\n", /^t\.yaml: imagePullSeconds must be a number of seconds from 0 to 86400, got -1/],
    ["podStartSeconds: fast\n", /^t\.yaml: podStartSeconds must be a number/],
    ["- 1\n- 2\n", /^t\.yaml: must be a YAML mapping/],
    ["nodeMonitorGraceSeconds: 0\n", /^t\.yaml: nodeMonitorGraceSeconds must be at least 1/],
  ];
  for (const [text, re] of cases)
    assert.throws(
      () => parseTimingsYaml(text, "t.yaml"),
      (e: unknown) => e instanceof UserError && re.test(e.message),
      text,
    );
});

test("the simulator: pod-seconds include termination, node-seconds include VM deletion, fresh nodes pull the image", () => {
  const trace = {
    kind: "queue" as const,
    points: [
      { t: 0, v: 30 },
      { t: 200, v: 0 },
    ],
  };
  const run = (timings: object) => simulate({ ...seedInputs(), trace, durationSeconds: 600, timings }).summary;
  const none = run({ podTerminationSeconds: 0, vmDeleteSeconds: 0 });
  const term = run({ podTerminationSeconds: 10, vmDeleteSeconds: 0 });
  const vm = run({ podTerminationSeconds: 0, vmDeleteSeconds: 30 });
  // 6 pods removed at once (to 0) terminate for 10 s each: 60 pod-seconds more.
  assert.equal(Math.round(term.podSeconds - none.podSeconds), 60);
  // The one node costs 30 s longer.
  assert.equal(Math.round(vm.nodeSeconds - none.nodeSeconds), 30);
  const pull = simulate({ ...seedInputs(), trace, durationSeconds: 600, timings: { imagePullSeconds: 20 } });
  const noPull = simulate({ ...seedInputs(), trace, durationSeconds: 600, timings: { imagePullSeconds: 0 } });
  const firstReady = (r: typeof pull) => r.timeline.find((e) => e.ready > 0)!.t;
  assert.equal(firstReady(pull) - firstReady(noPull), 20);
});

test("the runtime: the first pod on a node waits for the image pull, the next one for the same pull; a drained node is deleted after the VM deletion time", async () => {
  const h = harness({ imagePullMs: 5000 });
  const node = h.node();
  h.cluster.addDeployment("web", template(), 1);
  await h.run(1000);
  const [first] = h.pods();
  assert.equal(first!.startedAt, undefined, "still pulling at 1 s");
  h.cluster.setReplicas("web", 2, "test", "more");
  await h.run(4100);
  const [a, b] = h.pods();
  assert.ok(a!.startedAt !== undefined && b!.startedAt !== undefined, "both start when the one pull is done");
  assert.equal(b!.startedAt! - a!.startedAt!, 0);
  h.cluster.setReplicas("web", 0, "test", "none");
  await h.run(1000);
  const drained = h.cluster.drainAndDelete(node.name, "test", 30_000);
  await h.run(29_000);
  assert.notEqual(node.phase, "Deleted", "the VM is still being deleted");
  await h.run(2000);
  await drained;
  assert.equal(node.phase, "Deleted");
  await h.cluster.shutdown();
});

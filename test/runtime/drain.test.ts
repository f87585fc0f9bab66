// `node drain` with PodDisruptionBudgets on a fake clock: evictions go one at a time as the budget
// allows, a budget that allows none blocks the drain until it is aborted, and the node stays cordoned.
import { test } from "node:test";
import assert from "node:assert/strict";
import { harness, probe, template, type Harness } from "./harness.js";
import { UserError } from "../../src/errors.js";
import { disruptionsAllowed, type DisruptionBudget } from "../../src/local/cluster/disruption.js";
import type { Pod } from "../../src/local/cluster/pod.js";

const BLOCKED = "Cannot evict pod as it would violate the pod's disruption budget";

/** Four web pods on node a, Ready at 7 s (readiness initial delay), then an empty node b. */
async function fourOnA(budget: DisruptionBudget): Promise<{ h: Harness; a: string; b: string; pods: Pod[] }> {
  const h = harness();
  const a = h.node("a");
  h.cluster.addDeployment("web", template({ readiness: probe({ initialDelayMs: 7000, periodMs: 1000 }) }), 4, budget);
  await h.settle();
  const b = h.node("b");
  await h.run(10_000);
  const pods = h.pods();
  assert.deepEqual(
    pods.map((p) => [p.nodeName, p.ready]),
    Array(4).fill([a.name, true]),
  );
  return { h, a: a.name, b: b.name, pods };
}

/** Starts a drain and records how it ends. */
function drain(h: Harness, node: string, signal?: AbortSignal) {
  const lines: string[] = [];
  const out: { done: boolean; error?: unknown } = { done: false };
  h.cluster
    .drainNode(node, (l) => lines.push(l), signal)
    .then(
      () => (out.done = true),
      (e: unknown) => (out.error = e),
    );
  return { lines, out };
}

test("maxUnavailable 1 of 4: pods are evicted one at a time, each only once the previous replacement is Ready", async () => {
  const { h, a, b, pods } = await fourOnA({ maxUnavailable: 1 });
  const start = h.clock.now();
  let minHealthy = Infinity;
  h.cluster.onChange(() => {
    minHealthy = Math.min(minHealthy, h.pods().filter((p) => p.phase === "Running" && p.ready).length);
  });
  const d = drain(h, a);
  assert.equal(h.cluster.nodes.get(a)!.unschedulable, true, "cordoned first");
  await h.run(40_000);
  assert.equal(d.out.error, undefined);
  assert.equal(d.out.done, true);
  assert.deepEqual(
    pods.map((p) => p.phase),
    ["Succeeded", "Succeeded", "Succeeded", "Succeeded"],
  );
  // Evicted at 0, 10, 20, 30 s: replacements are Ready 7 s after they start, and refused evictions retry every 5 s.
  const evictedAt = h.events("Evicted").map((e) => e.time - start);
  assert.deepEqual(evictedAt, [0, 10_000, 20_000, 30_000]);
  const replacements = h.pods().filter((p) => p.active);
  assert.equal(replacements.length, 4);
  for (const r of replacements) assert.equal(r.nodeName, b);
  const readyAt = replacements.map((r) => r.readyAt! - start).sort((x, y) => x - y);
  assert.deepEqual(readyAt, [7000, 17_000, 27_000, 37_000]);
  for (let i = 1; i < 4; i++) assert.ok(evictedAt[i]! > readyAt[i - 1]!, `eviction ${i + 1} after replacement ${i} is Ready`);
  assert.equal(minHealthy, 3, "never more than one unavailable");
  // Progress: one eviction line per pod; every refused eviction says why and when it is retried.
  assert.equal(d.lines.filter((l) => l.startsWith("evicting pod ")).length, 4);
  const refused = d.lines.filter((l) => !l.startsWith("evicting pod "));
  assert.ok(refused.length > 0);
  for (const l of refused) assert.match(l, new RegExp(`^error when evicting pod/web-\\w+ \\(will retry after 5s\\): ${BLOCKED} \\(web: \\{"maxUnavailable":1\\}\\)$`));
  assert.equal(h.events("Drained", `node/${a}`).length, 1);
  assert.equal(h.cluster.nodes.get(a)!.unschedulable, true, "a drained node stays cordoned");
  assert.equal(h.cluster.podsOn(a).length, 0);
});

test("minAvailable 4 of 4: nothing can be evicted; the drain retries every 5 s until aborted, and the node stays cordoned", async () => {
  const { h, a, pods } = await fourOnA({ minAvailable: 4 });
  const ac = new AbortController();
  const d = drain(h, a, ac.signal);
  await h.run(30_000);
  assert.deepEqual(
    pods.map((p) => [p.phase, p.nodeName]),
    Array(4).fill(["Running", a]),
  );
  assert.equal(h.events("Evicted").length, 0);
  // Passes at 0, 5, …, 30 s, each refusing all four.
  assert.equal(d.lines.length, 7 * 4);
  for (const l of d.lines) assert.ok(l.includes(`(will retry after 5s): ${BLOCKED} (web: {"minAvailable":4})`), l);
  assert.deepEqual(new Set(d.lines.map((l) => /pod\/(\S+)/.exec(l)?.[1])), new Set(pods.map((p) => p.name)));
  assert.equal(h.events("EvictionBlocked").length, 28);
  assert.equal(d.out.done, false);
  ac.abort();
  await h.run(5000);
  assert.ok(d.out.error instanceof UserError, String(d.out.error));
  assert.equal((d.out.error as UserError).message, `drain of ${a} interrupted; the node stays cordoned`);
  assert.equal((d.out.error as UserError).hint, `run \`akspilot node uncordon ${a}\` to undo`);
  assert.equal(h.cluster.nodes.get(a)!.unschedulable, true);
  assert.deepEqual(
    pods.map((p) => p.phase),
    ["Running", "Running", "Running", "Running"],
  );
  assert.equal(h.events("Drained").length, 0);
  // Nothing keeps trying after the abort.
  const lines = d.lines.length;
  await h.run(30_000);
  assert.equal(d.lines.length, lines);
});

test("an aborted drain evicts nothing more, even when the budget would allow it", async () => {
  const { h, a, pods } = await fourOnA({ maxUnavailable: 1 });
  const ac = new AbortController();
  const d = drain(h, a, ac.signal);
  // Passes at 0 s (one eviction) and 5 s (all refused: the replacement is not Ready yet).
  await h.run(6000);
  assert.equal(h.events("Evicted").length, 1);
  ac.abort();
  // The replacement is Ready at 7 s; the next pass (at 10 s) must stop, not evict.
  await h.run(5000);
  assert.ok(d.out.error instanceof UserError, String(d.out.error));
  assert.equal(h.events("Evicted").length, 1);
  assert.equal(pods.filter((p) => p.phase === "Running").length, 3);
  assert.equal(h.cluster.nodes.get(a)!.unschedulable, true);
});

test("an uncordoned node can take pods again after an aborted drain", async () => {
  const { h, a } = await fourOnA({ minAvailable: 4 });
  const ac = new AbortController();
  const d = drain(h, a, ac.signal);
  ac.abort();
  await h.run(5000);
  assert.ok(d.out.error instanceof UserError);
  h.cluster.setReplicas("web", 5, "test", "more");
  await h.run(1000);
  assert.notEqual(h.pods().at(-1)!.nodeName, a, "cordoned: the new pod goes elsewhere");
  h.cluster.uncordon(a);
  h.cluster.setReplicas("web", 6, "test", "more");
  await h.run(1000);
  assert.equal(h.cluster.nodes.get(a)!.unschedulable, false);
  assert.equal(h.events("NodeSchedulable", `node/${a}`).length, 1);
});

test("disruptionsAllowed: healthy pods minus those that must stay, with percentages rounded up", () => {
  const pod = (phase: Pod["phase"], ready: boolean) => ({ phase, ready, active: phase === "Pending" || phase === "Running" }) as unknown as Pod; // only the fields the budget reads
  const healthy = (n: number) => Array.from({ length: n }, () => pod("Running", true));
  assert.equal(disruptionsAllowed({ maxUnavailable: 1 }, 4, healthy(4)), 1);
  assert.equal(disruptionsAllowed({ maxUnavailable: 1 }, 4, [...healthy(3), pod("Running", false)]), 0, "one already unavailable");
  assert.equal(disruptionsAllowed({ maxUnavailable: 1 }, 4, [...healthy(3), pod("Terminating", false)]), 0, "a terminating pod is unavailable");
  assert.equal(disruptionsAllowed({ maxUnavailable: 1 }, 4, [...healthy(4), pod("Terminating", false)]), 1, "…until its replacement is Ready");
  assert.equal(disruptionsAllowed({ minAvailable: 4 }, 4, healthy(4)), 0);
  assert.equal(disruptionsAllowed({ minAvailable: 2 }, 4, healthy(4)), 2);
  assert.equal(disruptionsAllowed({ maxUnavailable: "25%" }, 4, healthy(4)), 1);
  assert.equal(disruptionsAllowed({ maxUnavailable: "30%" }, 4, healthy(4)), 2, "1.2 rounds up to 2");
  assert.equal(disruptionsAllowed({ minAvailable: "50%" }, 5, healthy(5)), 2, "2.5 rounds up to 3 that must stay");
  assert.equal(disruptionsAllowed({}, 3, healthy(3)), 3);
});

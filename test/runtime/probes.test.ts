// The kubelet's probes and restarts on a fake clock: readiness gates Ready, liveness restarts the
// container, CrashLoopBackOff doubles from 10 s to 300 s and resets after 10 min, startup gates the others.
import { test } from "node:test";
import assert from "node:assert/strict";
import { harness, probe, template, type Harness } from "./harness.js";
import type { Pod } from "../../src/local/cluster/pod.js";

/** One pod of `tpl` on one node; the container starts at t = 0. */
async function onePod(tpl = template(), timeScale = 1, answers: Record<string, boolean> = {}): Promise<{ h: Harness; pod: Pod }> {
  const h = harness({ timeScale });
  h.runner.answers = answers;
  h.node();
  h.cluster.addDeployment("web", tpl, 1);
  await h.settle();
  const pod = h.pods()[0]!;
  assert.equal(pod.startedAt, h.clock.now());
  return { h, pod };
}

const probedAt = (h: Harness, pod: Pod, path: string) =>
  h.runner
    .of(pod.name)
    .flatMap((c) => c.probes)
    .filter((p) => p.path === path)
    .map((p) => p.at - (pod.startedAt ?? 0));

test("readiness: not Ready before the first success after the initial delay, even if the app is ready sooner", async () => {
  const { h, pod } = await onePod(template({ readiness: probe({ initialDelayMs: 3000, periodMs: 1000 }) }), 1, { "/ready": true });
  await h.run(2900);
  assert.equal(pod.ready, false);
  assert.deepEqual(probedAt(h, pod, "/ready"), [], "no probe before the initial delay");
  await h.run(100);
  assert.equal(pod.ready, true);
  assert.equal(pod.readyAt! - pod.startedAt!, 3000);
  assert.equal(h.events("Ready", `pod/${pod.name}`).length, 1);
  await h.run(2000);
  assert.deepEqual(probedAt(h, pod, "/ready"), [3000, 4000, 5000]);
});

test("readiness: Failure until the first success; after that failureThreshold misses in a row make it NotReady", async () => {
  const { h, pod } = await onePod(template({ readiness: probe({ initialDelayMs: 1000, periodMs: 1000, failureThreshold: 3 }) }), 1, { "/ready": false });
  const c = h.runner.last(pod.name);
  await h.run(4500);
  assert.equal(pod.ready, false, "failing from the start: never ready");
  assert.equal(h.events("NotReady").length, 0, "it was never Ready, so nothing changed");
  c.answer("/ready", true);
  await h.run(500);
  assert.equal(pod.ready, true);
  assert.equal(h.t(), 5000);
  // Two misses are not enough; a success in between starts the count over.
  c.answer("/ready", false);
  await h.run(2000);
  assert.equal(pod.ready, true);
  c.answer("/ready", true);
  await h.run(1000);
  c.answer("/ready", false);
  await h.run(2000);
  assert.equal(pod.ready, true, "two misses after a success");
  await h.run(900);
  assert.equal(pod.ready, true);
  await h.run(100);
  assert.equal(pod.ready, false, "the third miss in a row");
  assert.equal(h.t(), 11_000);
  assert.equal(h.events("NotReady", `pod/${pod.name}`)[0]?.message, "readiness probe failed 3 times");
  // Readiness never restarts the container.
  assert.equal(h.runner.of(pod.name).length, 1);
  assert.equal(pod.restarts, 0);
});

test("readiness: successThreshold successes in a row are needed to become Ready", async () => {
  const { h, pod } = await onePod(template({ readiness: probe({ periodMs: 1000, successThreshold: 2, failureThreshold: 1 }) }), 1, { "/ready": true });
  const c = h.runner.last(pod.name);
  // Probes at 0, 1000, …: Ready at the second success.
  await h.run(900);
  assert.equal(pod.ready, false);
  await h.run(100);
  assert.equal(pod.ready, true);
  assert.equal(pod.readyAt! - pod.startedAt!, 1000);
  c.answer("/ready", false);
  await h.run(1000);
  assert.equal(pod.ready, false, "failureThreshold 1: one miss");
  // success, miss, success, success: Ready only at the last one.
  c.answer("/ready", true);
  await h.run(1000);
  c.answer("/ready", false);
  await h.run(1000);
  c.answer("/ready", true);
  await h.run(1000);
  assert.equal(pod.ready, false);
  await h.run(1000);
  assert.equal(pod.ready, true);
  assert.equal(h.t(), 6000);
});

test("liveness: failureThreshold misses in a row restart the container (SIGTERM), with the crash backoff", async () => {
  const { h, pod } = await onePod(template({ liveness: probe({ path: "/healthz", periodMs: 1000, failureThreshold: 3 }) }));
  const first = h.runner.last(pod.name);
  await h.run(10_000);
  first.answer("/healthz", false);
  // Misses at 11 s, 12 s, 13 s: the third restarts it.
  await h.run(2900);
  assert.equal(first.running, true);
  await h.run(100);
  assert.deepEqual(first.signals, ["SIGTERM"]);
  assert.equal(first.exitedAt! - pod.startedAt!, 13_000);
  assert.equal(h.events("Unhealthy", `pod/${pod.name}`)[0]?.message, "liveness probe failed 3 times; restarting the container");
  assert.equal(pod.restarts, 1);
  assert.equal(pod.waiting, "CrashLoopBackOff");
  assert.equal(pod.phase, "Running", "restarted in place, not replaced");
  // The restart waits for the backoff (10 s).
  await h.run(9900);
  assert.equal(h.runner.of(pod.name).length, 1);
  await h.run(100);
  assert.equal(h.runner.of(pod.name).length, 2);
  const second = h.runner.last(pod.name);
  assert.equal(second.startedAt - first.exitedAt!, 10_000);
  assert.equal(second.spec.port, first.spec.port, "the pod keeps its port");
  assert.equal(pod.waiting, undefined);
  assert.equal(h.cluster.podsOf("web").length, 1, "no new pod");
});

test("liveness: a container that ignores SIGTERM is killed when the grace period runs out", async () => {
  const { h, pod } = await onePod(template({ graceMs: 5000, liveness: probe({ path: "/healthz", periodMs: 1000, failureThreshold: 2 }) }), 1, { "/healthz": false });
  const c = h.runner.last(pod.name);
  c.ignoreSigterm = true;
  // Misses at 0 s and 1 s: SIGTERM at 1 s, SIGKILL 5 s later.
  await h.run(1000);
  assert.deepEqual(c.signals, ["SIGTERM"]);
  await h.run(4900);
  assert.deepEqual(c.signals, ["SIGTERM"]);
  await h.run(100);
  assert.deepEqual(c.signals, ["SIGTERM", "SIGKILL"]);
  assert.equal(c.exitedAt! - pod.startedAt!, 6000);
  assert.equal(pod.restarts, 1);
});

for (const timeScale of [1, 10]) {
  test(`CrashLoopBackOff at time scale ${timeScale}: 10 s, 20 s, 40 s, … capped at 300 s (divided by the scale)`, async () => {
    const { h, pod } = await onePod(template(), timeScale);
    const step = 1000 / timeScale;
    const expected = [10, 20, 40, 80, 160, 300, 300].map((s) => (s * 1000) / timeScale);
    for (const [i, delay] of expected.entries()) {
      const c = h.runner.last(pod.name);
      await h.run(step);
      c.crash(1, "Error: cannot connect");
      await h.settle();
      assert.equal(pod.restarts, i + 1);
      assert.equal(pod.waiting, "CrashLoopBackOff");
      assert.equal(pod.ready, false);
      assert.equal(pod.lastFailure, "Error: cannot connect");
      assert.equal(h.events("BackOff", `pod/${pod.name}`)[i]?.message, `container exited (exit code 1): Error: cannot connect; restart ${i + 1} in ${delay} ms`);
      await h.run(delay - step, step);
      assert.equal(h.runner.of(pod.name).length, i + 1, `restart ${i + 1} not before ${delay} ms`);
      await h.run(step);
      assert.equal(h.runner.of(pod.name).length, i + 2, `restart ${i + 1} after ${delay} ms`);
      assert.equal(h.runner.last(pod.name).startedAt - c.exitedAt!, delay);
    }
  });

  test(`CrashLoopBackOff at time scale ${timeScale}: a container that ran 10 min starts the backoff over; one that ran just under does not`, async () => {
    const { h, pod } = await onePod(template(), timeScale);
    const s = (secs: number) => (secs * 1000) / timeScale;
    const step = s(1);
    const crashAfter = async (ms: number) => {
      const c = h.runner.last(pod.name);
      const before = h.runner.of(pod.name).length;
      await h.run(ms, step);
      c.crash(2);
      await h.settle();
      const started = h.clock.now();
      // Wait for the restart and say how long it took.
      while (h.runner.of(pod.name).length === before) await h.run(step, step);
      return h.clock.now() - started;
    };
    assert.equal(await crashAfter(step), s(10));
    assert.equal(await crashAfter(step), s(20));
    assert.equal(await crashAfter(step), s(40));
    // Ran just under 10 minutes: the streak goes on (80 s).
    assert.equal(await crashAfter(s(600) - step), s(80));
    // Ran 10 minutes: back to 10 s.
    assert.equal(await crashAfter(s(600)), s(10));
    assert.equal(await crashAfter(step), s(20));
    assert.equal(pod.restarts, 6);
  });
}

test("startup probe: the other probes wait for it; once it passes they start at once", async () => {
  const tpl = template({
    startup: probe({ path: "/started", periodMs: 1000, failureThreshold: 30 }),
    readiness: probe({ path: "/ready", periodMs: 1000, initialDelayMs: 1000 }),
    liveness: probe({ path: "/healthz", periodMs: 1000, failureThreshold: 1 }),
  });
  const { h, pod } = await onePod(tpl, 1, { "/started": false, "/ready": true, "/healthz": false });
  const c = h.runner.last(pod.name);
  await h.run(5000);
  assert.deepEqual(probedAt(h, pod, "/started"), [0, 1000, 2000, 3000, 4000, 5000]);
  assert.deepEqual(probedAt(h, pod, "/ready"), [], "readiness waits for startup");
  assert.deepEqual(probedAt(h, pod, "/healthz"), [], "liveness waits for startup (it would fail)");
  assert.equal(pod.ready, false);
  assert.equal(c.running, true);
  c.answer("/started", true);
  c.answer("/healthz", true);
  await h.run(1000);
  assert.equal(pod.ready, true, "readiness probed as soon as startup passed");
  assert.equal(pod.readyAt! - pod.startedAt!, 6000);
  assert.deepEqual(probedAt(h, pod, "/ready"), [6000]);
  assert.deepEqual(probedAt(h, pod, "/healthz"), [6000]);
  await h.run(2000);
  assert.deepEqual(probedAt(h, pod, "/started"), [0, 1000, 2000, 3000, 4000, 5000, 6000], "startup is not probed once it passed");
  // Liveness runs now: one miss (threshold 1) restarts the container.
  c.answer("/healthz", false);
  await h.run(1000);
  assert.deepEqual(c.signals, ["SIGTERM"]);
});

test("startup probe: failureThreshold misses restart the container", async () => {
  const tpl = template({ startup: probe({ path: "/started", periodMs: 1000, failureThreshold: 5 }), readiness: probe() });
  const { h, pod } = await onePod(tpl, 1, { "/started": false });
  const c = h.runner.last(pod.name);
  await h.run(3900);
  assert.equal(c.running, true);
  await h.run(100);
  assert.deepEqual(c.signals, ["SIGTERM"]);
  assert.equal(c.exitedAt! - pod.startedAt!, 4000);
  assert.equal(h.events("Unhealthy", `pod/${pod.name}`)[0]?.message, "startup probe failed 5 times; restarting the container");
  assert.equal(pod.restarts, 1);
  assert.equal(pod.ready, false);
  assert.deepEqual(probedAt(h, pod, "/ready"), []);
});

// The HTTP scale rule (KEDA HTTP add-on style) on an injected clock: up at once on pending requests,
// down only after the scale-down period, to zero after that long without a request; bad rules refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkHttpScaling, httpScalingDecision, initialHttpScalingState, type HttpScalingState } from "../../src/scaling/http.js";
import type { HttpScalingSpec } from "../../src/blueprints/types.js";
import { UserError } from "../../src/errors.js";

const SPEC: HttpScalingSpec = { minReplicas: 0, maxReplicas: 4, targetPendingRequests: 10, scaledownPeriodSeconds: 30 };

/** Runs the rule tick by tick (one per cluster second) as the scaler does, applying each decision. */
function run(spec: HttpScalingSpec, start: number, ticks: { pending: number; arrived: number }[], from = 0) {
  let state: HttpScalingState = initialHttpScalingState(start, from);
  let replicas = start;
  const out: { t: number; replicas: number; reason: string }[] = [];
  ticks.forEach((tick, i) => {
    const d = httpScalingDecision(spec, state, { now: from + i + 1, replicas, ...tick });
    state = d.state;
    if (d.replicas !== replicas) out.push({ t: from + i + 1, replicas: d.replicas, reason: d.reason });
    replicas = d.replicas;
  });
  return { replicas, changes: out };
}

const idle = (n: number) => Array.from({ length: n }, () => ({ pending: 0, arrived: 0 }));

test("idle: no change before the scale-down period, then straight to zero with the reason", () => {
  const r = run(SPEC, 4, idle(40));
  assert.deepEqual(r.changes, [{ t: 30, replicas: 0, reason: "http scaling: no request for 30 s (scaledownPeriod): scale to zero" }]);
  assert.equal(r.replicas, 0);
});

test("traffic keeps one replica even when no request is in flight at the tick; it goes to zero 30 s after the last one", () => {
  // A request every 5 s, each shorter than a tick: pending is 0 at every look, arrivals are not.
  const ticks = Array.from({ length: 60 }, (_, i) => ({ pending: 0, arrived: i % 5 === 0 && i < 20 ? 1 : 0 }));
  const r = run(SPEC, 1, ticks);
  // The last arrival is seen at t = 16; thirty seconds of nothing after it.
  assert.deepEqual(
    r.changes.map((c) => [c.t, c.replicas]),
    [[46, 0]],
  );
});

test("up at once: one replica per targetPendingRequests, capped at maxReplicas; down to the highest recent need after the period", () => {
  const ticks = [{ pending: 25, arrived: 25 }, { pending: 100, arrived: 80 }, ...Array.from({ length: 40 }, () => ({ pending: 5, arrived: 5 }))];
  const r = run(SPEC, 1, ticks);
  assert.deepEqual(
    r.changes.map((c) => [c.t, c.replicas]),
    [
      [1, 3],
      [2, 4],
      [32, 1],
    ],
  );
  assert.match(r.changes[0]!.reason, /^http scaling: 25 request\(s\) pending, 25 arrived since the last check \(target 10 per replica\)$/);
  assert.match(r.changes[2]!.reason, /at most 1 replica\(s\) wanted over the last 30 s/);
});

test("a manual scale is respected for the scale-down period before the rule takes the app down again", () => {
  let state = initialHttpScalingState(0, 0);
  let d = httpScalingDecision(SPEC, state, { now: 100, pending: 0, arrived: 0, replicas: 3 });
  assert.equal(d.replicas, 3, "someone scaled to 3 just now");
  state = d.state;
  d = httpScalingDecision(SPEC, state, { now: 129, pending: 0, arrived: 0, replicas: 3 });
  assert.equal(d.replicas, 3);
  d = httpScalingDecision(SPEC, d.state, { now: 130, pending: 0, arrived: 0, replicas: 3 });
  assert.equal(d.replicas, 0);
});

test("minReplicas above zero is a floor; scaledownPeriod 0 scales down at the next tick", () => {
  assert.equal(run({ ...SPEC, minReplicas: 2 }, 4, idle(40)).replicas, 2);
  assert.deepEqual(
    run({ ...SPEC, scaledownPeriodSeconds: 0 }, 4, idle(2)).changes.map((c) => [c.t, c.replicas]),
    [[1, 0]],
  );
  // From zero, the first request: the rule asks for one replica too (the gateway has already asked).
  assert.deepEqual(
    run(SPEC, 0, [{ pending: 1, arrived: 1 }]).changes.map((c) => [c.t, c.replicas]),
    [[1, 1]],
  );
});

test("bad rules: one line naming the app and the field", () => {
  const bad: [Partial<Record<keyof HttpScalingSpec, unknown>>, RegExp][] = [
    [{ minReplicas: -1 }, /^app web: httpScaling\.minReplicas must be a whole number from 0 to 1000, got -1 — fix the blueprint's httpScaling$/],
    [{ maxReplicas: 0 }, /httpScaling\.maxReplicas must be a whole number from 1 to 1000, got 0/],
    [{ minReplicas: 3, maxReplicas: 2 }, /^app web: httpScaling\.maxReplicas \(2\) is below minReplicas \(3\) — raise maxReplicas or lower minReplicas$/],
    [{ targetPendingRequests: 0.5 }, /targetPendingRequests must be a whole number from 1 to 1000000, got 0\.5/],
    [{ scaledownPeriodSeconds: "300" }, /scaledownPeriodSeconds must be a number of seconds from 0 to 86400, got "300"/],
    [{ scaledownPeriodSeconds: undefined }, /scaledownPeriodSeconds must be a number of seconds from 0 to 86400, got nothing/],
  ];
  for (const [over, re] of bad) {
    assert.throws(
      () => checkHttpScaling("web", { ...SPEC, ...over } as HttpScalingSpec),
      (e: unknown) => e instanceof UserError && re.test(e.line()),
      JSON.stringify(over),
    );
  }
  checkHttpScaling("web", SPEC);
});

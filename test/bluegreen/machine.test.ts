// The upgrade's state machine, pure: every transition driven by inputs and an injected clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  actionFor,
  checkUpgrade,
  clustersOf,
  initialState,
  inProgress,
  serving,
  standby,
  step,
  UpgradeInputError,
  type BlueGreenState,
  type Input,
  type UpgradePlan,
} from "../../src/upgrade/machine.js";

const KNOWN = ["1.19.11", "1.20.7", "1.21.2"];
const plan = (p: Partial<UpgradePlan> = {}): UpgradePlan => ({ to: "1.20.7", canary: [10, 50, 100], holdSeconds: 30, readyTimeoutSeconds: 300, smokeRequests: 30, ...p });

/** A fake clock and a driver that applies inputs, keeping every event. */
function run(start = initialState({ name: "blue", version: "1.19.11" }, 0)) {
  let now = 0;
  let s: BlueGreenState = start;
  const events: string[] = [];
  return {
    get s() {
      return s;
    },
    events,
    advance(ms: number) {
      now += ms;
    },
    in(i: Input) {
      const r = step(s, i, now);
      s = r.state;
      events.push(...r.events.map((e) => `${e.type}:${e.reason}`));
      return r;
    },
  };
}

function toStandby(m: ReturnType<typeof run>, p = plan()) {
  m.in({ kind: "upgrade", plan: p, greenName: "green" });
  m.in({ kind: "done", ok: true, reason: "created" });
  m.in({ kind: "tick", greenReady: true });
  m.in({ kind: "done", ok: true, reason: "smoke ok" });
  for (let i = 0; i < p.canary.filter((w) => w < 100).length; i++) m.in({ kind: "done", ok: true, reason: "window ok" });
  m.in({ kind: "done", ok: true, reason: "switched" });
}

test("the whole path T0 → T4: each phase names its action, the weights follow the canary, ownership moves at the switch", () => {
  const m = run();
  assert.equal(m.s.stage, "T0");
  assert.equal(actionFor(m.s), null);
  m.in({ kind: "upgrade", plan: plan(), greenName: "green" });
  assert.deepEqual([m.s.stage, m.s.phase], ["T1", "creating-green"]);
  assert.deepEqual(actionFor(m.s), { kind: "create-green", cluster: { name: "green", version: "1.20.7" } });
  m.in({ kind: "done", ok: true, reason: "created" });
  assert.equal(m.s.phase, "waiting-ready");
  assert.equal(actionFor(m.s), null, "waiting for Ready is a tick, not an action");
  m.in({ kind: "tick", greenReady: false });
  assert.equal(m.s.phase, "waiting-ready");
  m.in({ kind: "tick", greenReady: true });
  assert.deepEqual(actionFor(m.s), { kind: "smoke-test", cluster: { name: "green", version: "1.20.7" }, requests: 30 });
  m.in({ kind: "done", ok: true, reason: "smoke ok" });
  assert.deepEqual([m.s.stage, m.s.phase, m.s.weights], ["T2", "canary", { blue: 90, green: 10 }]);
  assert.equal(actionFor(m.s)?.kind, "canary-step");
  m.in({ kind: "done", ok: true, reason: "window ok" });
  assert.deepEqual(m.s.weights, { blue: 50, green: 50 });
  m.in({ kind: "done", ok: true, reason: "window ok" });
  // The final 100 is the switch itself.
  assert.deepEqual([m.s.stage, m.s.phase, m.s.weights], ["T3", "switching", { green: 100 }]);
  assert.deepEqual(actionFor(m.s), { kind: "switch", to: "green", weights: { green: 100 } });
  assert.equal(m.s.owner.holder, "agic-blue");
  m.in({ kind: "done", ok: true, reason: "switched" });
  assert.deepEqual([m.s.stage, m.s.phase], ["T3", "standby"]);
  assert.deepEqual(m.s.owner, { holder: "agic-green", generation: 2 });
  assert.equal(serving(m.s).name, "green");
  assert.equal(standby(m.s)?.name, "blue");
  assert.deepEqual(
    clustersOf(m.s).map((c) => c.name),
    ["blue", "green"],
  );
  m.in({ kind: "finish" });
  assert.deepEqual(actionFor(m.s), { kind: "remove-cluster", cluster: "blue" });
  m.in({ kind: "done", ok: true, reason: "removed" });
  assert.deepEqual([m.s.stage, m.s.phase], ["T4", "finished"]);
  assert.deepEqual(
    clustersOf(m.s).map((c) => c.name),
    ["green"],
  );
  assert.equal(inProgress(m.s), false);
  assert.deepEqual(m.events, [
    "Normal:UpgradeStarted",
    "Normal:GreenCreated",
    "Normal:GreenReady",
    "Normal:SmokeTestPassed",
    "Normal:CanaryStep",
    "Normal:CanaryPassed",
    "Normal:CanaryStep",
    "Normal:CanaryPassed",
    "Normal:SwitchingTraffic",
    "Normal:TrafficSwitched",
    "Normal:RemovingBlue",
    "Normal:UpgradeFinished",
  ]);
  // The next upgrade starts from the cluster that serves now.
  m.in({ kind: "upgrade", plan: plan({ to: "1.21.2", canary: [] }), greenName: "blue" });
  assert.deepEqual(
    [m.s.blue, m.s.green],
    [
      { name: "green", version: "1.20.7" },
      { name: "blue", version: "1.21.2" },
    ],
  );
  assert.equal(m.s.owner.holder, "agic-green");
});

test("rollback from every stage: traffic to blue first, green removed, ownership back to blue's controller", () => {
  const stages: [string, (m: ReturnType<typeof run>) => void][] = [
    ["T1 creating-green", (m) => m.in({ kind: "upgrade", plan: plan(), greenName: "green" })],
    [
      "T1 waiting-ready",
      (m) => {
        m.in({ kind: "upgrade", plan: plan(), greenName: "green" });
        m.in({ kind: "done", ok: true, reason: "" });
      },
    ],
    [
      "T1 smoke-test",
      (m) => {
        m.in({ kind: "upgrade", plan: plan(), greenName: "green" });
        m.in({ kind: "done", ok: true, reason: "" });
        m.in({ kind: "tick", greenReady: true });
      },
    ],
    [
      "T2 canary",
      (m) => {
        m.in({ kind: "upgrade", plan: plan(), greenName: "green" });
        m.in({ kind: "done", ok: true, reason: "" });
        m.in({ kind: "tick", greenReady: true });
        m.in({ kind: "done", ok: true, reason: "" });
      },
    ],
    ["T3 standby", (m) => toStandby(m)],
  ];
  for (const [name, reach] of stages) {
    const m = run();
    reach(m);
    assert.equal(`${m.s.stage} ${m.s.phase}`, name);
    const switched = m.s.stage === "T3";
    m.in({ kind: "rollback", reason: "asked" });
    assert.deepEqual([m.s.stage, m.s.phase, m.s.weights], ["T0", "rolling-back", { blue: 100 }], name);
    assert.deepEqual(actionFor(m.s), { kind: "rollback", to: "blue", weights: { blue: 100 }, remove: "green" }, name);
    // A second rollback while one runs changes nothing.
    const before = m.s;
    m.in({ kind: "rollback", reason: "again" });
    assert.equal(m.s, before);
    m.in({ kind: "done", ok: true, reason: "green removed" });
    assert.deepEqual([m.s.stage, m.s.phase, m.s.green], ["T0", "rolled-back", null], name);
    assert.deepEqual(m.s.owner, { holder: "agic-blue", generation: switched ? 3 : 1 }, name);
    assert.match(m.s.outcome ?? "", /^rolled back: asked/);
    assert.ok(m.events.includes("Normal:UpgradeRollingBack") && m.events.at(-1) === "Normal:RolledBack", name);
  }
});

test("the gates roll back by themselves: never Ready (injected clock), a failed smoke test, a canary regression", () => {
  const never = run();
  never.in({ kind: "upgrade", plan: plan({ readyTimeoutSeconds: 60 }), greenName: "green" });
  never.in({ kind: "done", ok: true, reason: "" });
  never.advance(59_000);
  never.in({ kind: "tick", greenReady: false });
  assert.equal(never.s.phase, "waiting-ready");
  never.advance(2_000);
  never.in({ kind: "tick", greenReady: false });
  assert.equal(never.s.phase, "rolling-back");
  assert.match(never.s.outcome!, /not Ready within 60 s/);
  assert.ok(never.events.includes("Warning:UpgradeRollingBack"));

  const smoke = run();
  smoke.in({ kind: "upgrade", plan: plan(), greenName: "green" });
  smoke.in({ kind: "done", ok: true, reason: "" });
  smoke.in({ kind: "tick", greenReady: true });
  smoke.in({ kind: "done", ok: false, reason: "30 of 30 requests wrong" });
  assert.equal(smoke.s.phase, "rolling-back");
  assert.match(smoke.s.outcome!, /smoke test of green failed: 30 of 30/);
  assert.deepEqual(smoke.s.weights, { blue: 100 }, "green never got a weight");

  const canary = run();
  canary.in({ kind: "upgrade", plan: plan(), greenName: "green" });
  canary.in({ kind: "done", ok: true, reason: "" });
  canary.in({ kind: "tick", greenReady: true });
  canary.in({ kind: "done", ok: true, reason: "" });
  canary.in({ kind: "done", ok: false, reason: "green's p95 is slower" });
  assert.equal(canary.s.phase, "rolling-back");
  assert.match(canary.s.outcome!, /canary at 10% regressed: green's p95 is slower/);
});

test("bad requests are refused with what to do; nothing changes", () => {
  const m = run();
  const refuse = (i: Input, re: RegExp) => {
    const before = m.s;
    assert.throws(
      () => m.in(i),
      (e: unknown) => e instanceof UpgradeInputError && re.test(e.message) && e.hint.length > 0,
    );
    assert.equal(m.s, before);
  };
  assert.throws(() => checkUpgrade(m.s, "1.19.11", KNOWN), /already runs/);
  assert.throws(() => checkUpgrade(m.s, "1.99.0", KNOWN), /not a Kubernetes version this blueprint knows/);
  assert.throws(() => checkUpgrade(m.s, "latest", KNOWN), /not a Kubernetes version/);
  assert.throws(() => checkUpgrade({ ...m.s, blue: { name: "blue", version: "1.20.7" } }, "1.19.11", KNOWN), /older than the running 1.20.7/);
  checkUpgrade(m.s, "1.20.7", KNOWN);
  refuse({ kind: "finish" }, /no upgrade is in progress/);
  refuse({ kind: "rollback", reason: "x" }, /nothing to roll back/);
  refuse({ kind: "upgrade", plan: plan({ canary: [50, 10] }), greenName: "green" }, /must go up/);
  refuse({ kind: "upgrade", plan: plan({ canary: [0] }), greenName: "green" }, /whole percentage/);
  m.in({ kind: "upgrade", plan: plan(), greenName: "green" });
  assert.throws(() => checkUpgrade(m.s, "1.21.2", KNOWN), /already in progress/);
  refuse({ kind: "finish" }, /not been switched/);
  const f = run();
  toStandby(f);
  f.in({ kind: "finish" });
  f.in({ kind: "done", ok: true, reason: "" });
  assert.throws(() => f.in({ kind: "rollback", reason: "x" }), /nothing to roll back to: the upgrade to 1.20.7 was finished/);
});

test("the state survives a restart: written as JSON mid-upgrade, read back, it names the same action and goes on", () => {
  const m = run();
  m.in({ kind: "upgrade", plan: plan(), greenName: "green" });
  m.in({ kind: "done", ok: true, reason: "" });
  m.in({ kind: "tick", greenReady: true });
  m.in({ kind: "done", ok: true, reason: "" });
  const saved = JSON.parse(JSON.stringify(m.s)) as BlueGreenState;
  assert.deepEqual(actionFor(saved), actionFor(m.s));
  assert.equal(inProgress(saved), true);
  assert.deepEqual(
    clustersOf(saved).map((c) => c.name),
    ["blue", "green"],
  );
  const resumed = run(saved);
  resumed.in({ kind: "done", ok: true, reason: "" });
  assert.deepEqual(resumed.s.weights, { blue: 50, green: 50 });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { isActive, kedaPoll, type KedaState } from "../../src/scaling/keda.js";
import { seedRule } from "./helpers.js";

// Seed: activationQueueLength 20, min 0, cooldownPeriod 10.
const cases: {
  name: string;
  rule: string;
  over?: Parameters<typeof seedRule>[0];
  state: KedaState;
  now: number;
  queue: number;
  current: number;
  want?: number;
  lastActive?: number;
}[] = [
  {
    name: "queue exactly at activation stays at 0",
    rule: "azure_queue_scaler.go: isActive = queueLen > activationQueueLength (strict)",
    state: { createdAt: 0 },
    now: 30,
    queue: 20,
    current: 0,
  },
  {
    name: "queue one above activation activates 0→1",
    rule: "scale_scaledobjects.go scaleFromZeroOrIdle: min > 0 ? min : 1",
    state: { createdAt: 0 },
    now: 30,
    queue: 21,
    current: 0,
    want: 1,
    lastActive: 30,
  },
  {
    name: "activation goes to min when min > 0",
    rule: "scaleFromZeroOrIdle sets minReplicaCount",
    over: { minReplicas: 3, activationQueueLength: 0 },
    state: { createdAt: 0 },
    now: 0,
    queue: 1,
    current: 0,
    want: 3,
    lastActive: 0,
  },
  {
    name: "active with replicas leaves 1↔N to the HPA",
    rule: "RequestScale: active and current > 0 → only LastActiveTime",
    state: { createdAt: 0 },
    now: 60,
    queue: 500,
    current: 4,
    lastActive: 60,
  },
  {
    name: "inactive inside cooldown keeps replicas",
    rule: "scaleToZeroOrIdle: LastActiveTime + cooldownPeriod < now required",
    state: { createdAt: 0, lastActiveTime: 50 },
    now: 60,
    queue: 0,
    current: 4,
    lastActive: 50,
  },
  {
    name: "inactive exactly at cooldown keeps replicas",
    rule: "…Add(cooldownPeriod).Before(now) is strict",
    state: { createdAt: 0, lastActiveTime: 50 },
    now: 60.0,
    queue: 20,
    current: 4,
    lastActive: 50,
  },
  {
    name: "inactive after cooldown scales N→0 directly",
    rule: "scaleToZeroOrIdle sets replicas directly (bypasses HPA stabilization)",
    state: { createdAt: 0, lastActiveTime: 50 },
    now: 61,
    queue: 20,
    current: 15,
    want: 0,
    lastActive: 50,
  },
  {
    name: "never active: initialCooldownPeriod guards",
    rule: "LastActiveTime nil → creationTimestamp + initialCooldownPeriod < now",
    over: { initialCooldownPeriodSeconds: 120 },
    state: { createdAt: 0 },
    now: 90,
    queue: 0,
    current: 2,
  },
  {
    name: "never active, initial cooldown passed",
    rule: "LastActiveTime nil → creationTimestamp + initialCooldownPeriod < now",
    over: { initialCooldownPeriodSeconds: 120 },
    state: { createdAt: 0 },
    now: 121,
    queue: 0,
    current: 2,
    want: 0,
  },
  {
    name: "inactive with min > 0 is never scaled to 0",
    rule: "scaleToZeroOrIdle only when min == 0 (or idleReplicaCount)",
    over: { minReplicas: 2 },
    state: { createdAt: 0, lastActiveTime: 0 },
    now: 600,
    queue: 0,
    current: 5,
  },
  {
    name: "below min without idle is raised to min",
    rule: "RequestScale: currentReplicas < minReplicaCount && idleReplicaCount nil",
    over: { minReplicas: 2 },
    state: { createdAt: 0 },
    now: 0,
    queue: 0,
    current: 1,
    want: 2,
  },
  {
    name: "idleReplicaCount: inactive after cooldown goes to idle",
    rule: "scaleToZeroOrIdle → idleReplicaCount",
    over: { minReplicas: 2, idleReplicaCount: 0 },
    state: { createdAt: 0, lastActiveTime: 0 },
    now: 60,
    queue: 0,
    current: 2,
    want: 0,
    lastActive: 0,
  },
  {
    name: "idleReplicaCount: active below min goes to min",
    rule: "scaleFromZeroOrIdle when current < min with idle set",
    over: { minReplicas: 2, idleReplicaCount: 0, activationQueueLength: 0 },
    state: { createdAt: 0 },
    now: 0,
    queue: 3,
    current: 0,
    want: 2,
    lastActive: 0,
  },
];

for (const c of cases) {
  test(`kedaPoll: ${c.name} — ${c.rule}`, () => {
    const r = kedaPoll(seedRule(c.over), c.state, c.now, c.queue, c.current);
    assert.equal(r.decision?.replicas, c.want);
    assert.equal(r.state.lastActiveTime, c.lastActive ?? c.state.lastActiveTime);
  });
}

test("isActive is strict > (azure_queue_scaler.go)", () => {
  const r = seedRule();
  assert.deepEqual(
    [19, 20, 21].map((q) => isActive(r, q)),
    [false, false, true],
  );
});

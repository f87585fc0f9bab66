// Settings that used to be accepted and then ignored. Each test fails if its setting were ignored again.
import assert from "node:assert/strict";
import { test } from "node:test";
import { UserError } from "../../src/errors.js";
import { MAX_PEEK_MESSAGES, queueLengthFrom, readQueueLength, type QueueReader } from "../../src/scaling/azure-queue.js";
import { ruleForKubernetesVersion } from "../../src/scaling/compat.js";
import { fallbackReplicas, metricWithFallback } from "../../src/scaling/fallback.js";
import { hpaSync, newHpaState } from "../../src/scaling/hpa.js";
import { KedaHpaPolicy } from "../../src/scaling/policy.js";
import { scalingRuleFrom } from "../../src/scaling/scaledobject.js";
import { simulate } from "../../src/sim/engine.js";
import { seedInputs } from "../sim/workloads.js";
import { seedManifest, seedRule } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: each case reaches into an arbitrary field of the manifest.
type Loose = Record<string, any>;

// ---- queueLengthStrategy (azure_queue_scaler.go getMessageCount) ----------------------------------

test("queueLengthStrategy: all = approximate count; visibleonly = peeked visible count below 32, else the approximate count", () => {
  const table: [strategy: "all" | "visibleonly", visible: number, approximate: number, want: number][] = [
    ["all", 3, 40, 40],
    ["visibleonly", 3, 40, 3],
    ["visibleonly", 0, 12, 0],
    ["visibleonly", 31, 90, 31],
    ["visibleonly", 32, 90, 90],
    ["visibleonly", 500, 700, 700],
  ];
  for (const [s, v, a, want] of table) assert.equal(queueLengthFrom(s, v, a), want, `${s} visible ${v} approx ${a}`);
  assert.equal(MAX_PEEK_MESSAGES, 32);
});

test("readQueueLength makes the scaler's calls: all reads properties only; visibleonly peeks 32, and reads properties only at 32", async () => {
  const calls: string[] = [];
  const reader = (visible: number, approx: number): QueueReader => ({
    approximateCount: async () => {
      calls.push("properties");
      return approx;
    },
    peekVisible: async (max) => {
      calls.push(`peek ${max}`);
      return Math.min(max, visible);
    },
  });
  assert.equal(await readQueueLength("all", reader(2, 9)), 9);
  assert.deepEqual(calls.splice(0), ["properties"]);
  assert.equal(await readQueueLength("visibleonly", reader(2, 9)), 2);
  assert.deepEqual(calls.splice(0), ["peek 32"]);
  assert.equal(await readQueueLength("visibleonly", reader(50, 80)), 80);
  assert.deepEqual(calls.splice(0), ["peek 32", "properties"]);
});

test("the simulator reads the queue by the strategy: in-flight messages count under all, not under visibleonly", () => {
  // 4 msg/s, each taking 10 s on one pod of concurrency 100: nothing waits, ~40 are in flight.
  const trace = { kind: "arrivals" as const, points: [{ t: 0, v: 4 }] };
  const base = seedInputs();
  const run = (strategy: "all" | "visibleonly") =>
    simulate({
      ...base,
      rule: { ...base.rule, queueLengthStrategy: strategy, activationQueueLength: 0 },
      trace,
      workMs: 10_000,
      concurrency: 100,
      initialReplicas: 1,
      durationSeconds: 300,
    });
  const all = run("all");
  const visible = run("visibleonly");
  // Once the start-up backlog is worked off nothing waits, ~40 messages are in flight. `all` reads them and
  // keeps the trigger active; `visibleonly` reads 0 and KEDA scales to zero mid-stream (the reason for #4003).
  const after = (r: ReturnType<typeof run>) => r.timeline.filter((e) => e.t > 120);
  assert.ok(
    after(all).every((e) => e.replicas > 0 && e.queueLength >= 30),
    "all: never back to 0, in-flight messages read",
  );
  assert.ok(
    after(visible).some((e) => e.replicas === 0 && e.queueLength === 0),
    "visibleonly: reads 0 with work in flight and scales to 0",
  );
});

// ---- useCachedMetrics (scale_handler.go GetScaledObjectMetrics) ----------------------------------

test("useCachedMetrics: the HPA sizes from KEDA's last poll, not from a fresh read", () => {
  const decide = (cached: boolean) => {
    const p = new KedaHpaPolicy(seedRule({ useCachedMetrics: cached }));
    assert.equal(p.tick("keda", { now: 0, queueLength: 100, current: 0, ready: 0 }).decision?.replicas, 1);
    // A fresh read at the HPA's sync says 5 (one replica's worth); the poll said 100.
    return p.tick("hpa", { now: 15, queueLength: 5, current: 1, ready: 1 });
  };
  assert.equal(decide(false).decision, undefined);
  const cached = decide(true);
  assert.equal(cached.decision?.replicas, 4, "ceil(100 / 5) = 20, capped at max(2×1, 4)");
  assert.match(cached.decision!.message, /cached by KEDA's last poll/);
  assert.equal(scalingRuleFrom(Object.assign(seedManifest(), {})).useCachedMetrics, false);
  const so = seedManifest() as Loose;
  so.spec.triggers[0].useCachedMetrics = true;
  assert.equal(scalingRuleFrom(so).useCachedMetrics, true);
});

// ---- fallback (pkg/fallback/fallback.go) -----------------------------------------------------------

test("fallback: errors reach the HPA up to failureThreshold; beyond it the HPA sees target × replicas; a success resets the count", () => {
  const rule = seedRule({ fallback: { failureThreshold: 2, replicas: 6, behavior: "static" } });
  const err = { error: "storage unreachable" } as const;
  let failures = 0;
  const seen: (number | undefined)[] = [];
  for (let i = 0; i < 4; i++) {
    const r = metricWithFallback(rule, failures, err, 3, 3);
    failures = r.failures;
    seen.push(r.metric);
  }
  assert.deepEqual(seen, [undefined, undefined, 30, 30]);
  assert.equal(metricWithFallback(rule, failures, { value: 7 }, 3, 3).failures, 0);
  // Value metric: target × replicas / ready; none ready → the request fails.
  const value = { ...rule, metricType: "Value" as const };
  assert.equal(metricWithFallback(value, 5, err, 3, 2).metric, 15);
  assert.equal(metricWithFallback(value, 5, err, 3, 0).metric, undefined);
  // Behaviors (fallback.go).
  const f = rule.fallback!;
  assert.deepEqual(
    (["static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower"] as const).map((behavior) => fallbackReplicas({ ...f, behavior }, 9)),
    [6, 9, 9, 6],
  );
});

test("fallback through the policy: a failing scaler drives the HPA to the fallback replicas, and KEDA never scales to zero on an error", () => {
  const run = (withFallback: boolean) => {
    const p = new KedaHpaPolicy(seedRule(withFallback ? { fallback: { failureThreshold: 3, replicas: 4, behavior: "static" } } : {}));
    const decisions: number[] = [];
    let current = 2;
    for (let t = 0; t <= 300; t += 15) {
      for (const loop of t % 30 === 0 ? ["keda", "hpa"] : ["hpa"]) {
        const r = p.tick(loop, { now: t, queueLength: 0, current, ready: current, scalerError: "storage unreachable" });
        if (r.decision) {
          current = r.decision.replicas;
          decisions.push(current);
        }
      }
    }
    return decisions;
  };
  // Without fallback: nothing moves (no scale to zero although min is 0 and the cooldown passed).
  assert.deepEqual(run(false), []);
  // With it: the 4th failed request (> 3) gives 4 × 5 = 20 → 4 replicas.
  assert.deepEqual(run(true), [4]);
});

test("fallback: KEDA's webhook wording for negative numbers; behavior defaults to static", () => {
  const so = seedManifest() as Loose;
  so.spec.fallback = { failureThreshold: 3, replicas: 5 };
  assert.deepEqual(scalingRuleFrom(so).fallback, { failureThreshold: 3, replicas: 5, behavior: "static" });
  so.spec.fallback = { failureThreshold: -1, replicas: 5 };
  assert.throws(
    () => scalingRuleFrom(so),
    (e: unknown) => e instanceof UserError && e.message.includes("FailureThreshold=-1 & Replicas=5 must both be greater than or equal to 0"),
  );
});

// ---- KEDA's admission (scaledobject_types.go CheckReplicaCountBoundsAreValid) -------------------

test("validation with KEDA's wording: idleReplicaCount not below minReplicaCount, min above max, a non-integer queueLength", () => {
  const cases: [mutate: (so: Loose) => void, message: string][] = [
    [
      (so) => {
        delete so.spec.minReplicaCount;
        so.spec.idleReplicaCount = 0;
      },
      "IdleReplicaCount=0 must be less than MinReplicaCount=0",
    ],
    [
      (so) => {
        so.spec.minReplicaCount = 3;
        so.spec.idleReplicaCount = 3;
      },
      "IdleReplicaCount=3 must be less than MinReplicaCount=3",
    ],
    [
      (so) => {
        so.spec.minReplicaCount = 6;
        so.spec.maxReplicaCount = 4;
      },
      "MinReplicaCount=6 must be less than MaxReplicaCount=4",
    ],
    [
      (so) => {
        so.spec.triggers[0].metadata.queueLength = "2.5";
      },
      'unable to set param "queueLength" value "2.5"',
    ],
    [
      (so) => {
        so.spec.triggers[0].metadata.activationQueueLength = "0.5";
      },
      'unable to set param "activationQueueLength" value "0.5"',
    ],
    [
      (so) => {
        so.spec.triggers[0].useCachedMetrics = "yes";
      },
      "useCachedMetrics: must be true or false",
    ],
  ];
  for (const [mutate, message] of cases) {
    const so = seedManifest() as Loose;
    mutate(so);
    assert.throws(
      () => scalingRuleFrom(so),
      (e: unknown) => e instanceof UserError && e.message.includes(message),
      message,
    );
  }
  // Accepted by KEDA: idle 0 below an explicit minReplicaCount 0, which the webhook reads as the HPA's minimum 1.
  const ok = seedManifest() as Loose;
  ok.spec.minReplicaCount = 0;
  ok.spec.idleReplicaCount = 0;
  assert.equal(scalingRuleFrom(ok).idleReplicaCount, 0);
});

// ---- settings the cluster version drops --------------------------------------------------------

test("HPA tolerance: dropped with a warning below Kubernetes 1.34 (the HPA then uses 0.1), honoured from 1.34", () => {
  const rule = seedRule({ minReplicas: 1, behavior: { scaleUp: { tolerance: 0.5 } } });
  // ratio 30 / (5 × 5) = 1.2: outside 0.1, inside 0.5.
  const sync = (r: typeof rule) => hpaSync(r, newHpaState(), 0, 30, 5, 5).decision?.replicas;
  const old = ruleForKubernetesVersion(rule, "1.30");
  assert.equal(old.warnings.length, 1);
  assert.match(old.warnings[0]!, /behavior\.scaleUp\.tolerance \(0\.5\) is dropped: Kubernetes 1\.30 .*1\.34/);
  assert.equal(sync(old.rule), 6);
  const current = ruleForKubernetesVersion(rule, "1.34");
  assert.deepEqual(current.warnings, []);
  assert.equal(sync(current.rule), undefined);
  assert.deepEqual(ruleForKubernetesVersion(seedRule(), "1.30").warnings, []);
});

test("the simulator's storage outage: with fallback the replicas go to fallback.replicas, without it they stay; the reads are logged as failures", () => {
  const base = seedInputs();
  const trace = { kind: "queue" as const, points: [{ t: 0, v: 30 }] };
  const run = (fallback?: { failureThreshold: number; replicas: number; behavior: "static" }) =>
    simulate({ ...base, rule: { ...base.rule, ...(fallback ? { fallback } : {}) }, trace, durationSeconds: 400, storageUnreachable: [[100, 400]] });
  const plain = run();
  const fb = run({ failureThreshold: 2, replicas: 12, behavior: "static" });
  const last = (r: ReturnType<typeof run>) => r.timeline[r.timeline.length - 1]!.replicas;
  assert.equal(last(plain), 6, "ceil(30 / 5) before the outage, kept through it");
  assert.equal(last(fb), 12);
  assert.ok(plain.events.some((e) => e.reason === "KEDAScalerFailed"));
});

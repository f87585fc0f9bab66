import assert from "node:assert/strict";
import { test } from "node:test";
import type { HpaBehavior } from "../../src/blueprints/types.js";
import { defaultedBehavior, hpaMinReplicas, hpaSync, metricReplicas, newHpaState, type HpaState } from "../../src/scaling/hpa.js";
import { seedRule } from "./helpers.js";

// replica_calculator.go GetExternalPerPodMetricReplicas (AverageValue) and GetExternalMetricReplicas (Value).
const metricCases: { name: string; type: "AverageValue" | "Value"; metric: number; current: number; ready: number; want: number }[] = [
  { name: "AverageValue: ceil(total / target)", type: "AverageValue", metric: 21, current: 1, ready: 1, want: 5 },
  { name: "AverageValue: ceil rounds up a fraction", type: "AverageValue", metric: 51, current: 2, ready: 2, want: 11 },
  { name: "AverageValue: ratio 1.1 is within tolerance (keep)", type: "AverageValue", metric: 55, current: 10, ready: 10, want: 10 },
  { name: "AverageValue: ratio 1.12 is outside tolerance", type: "AverageValue", metric: 56, current: 10, ready: 10, want: 12 },
  { name: "AverageValue: ratio 0.9 is within tolerance (keep)", type: "AverageValue", metric: 45, current: 10, ready: 10, want: 10 },
  { name: "AverageValue: ratio 0.88 is outside tolerance", type: "AverageValue", metric: 44, current: 10, ready: 10, want: 9 },
  { name: "AverageValue: readiness is not consulted", type: "AverageValue", metric: 100, current: 4, ready: 0, want: 20 },
  { name: "Value: ceil(total/target × ready pods)", type: "Value", metric: 10, current: 4, ready: 2, want: 4 },
  { name: "Value: within tolerance keeps current", type: "Value", metric: 5.4, current: 4, ready: 2, want: 4 },
  { name: "Value: current 0 → ceil(total/target)", type: "Value", metric: 12, current: 0, ready: 0, want: 3 },
];
for (const c of metricCases) {
  test(`metricReplicas: ${c.name} (replica_calculator.go)`, () => {
    assert.equal(metricReplicas(c.type, c.metric, 5, c.current, c.ready).replicas, c.want);
  });
}

/** Runs syncs at the given times with the given queue lengths, applying each decision; returns the replica counts. */
function run(rule: ReturnType<typeof seedRule>, start: number, steps: { t: number; q: number }[]): number[] {
  let state: HpaState = newHpaState();
  let cur = start;
  return steps.map(({ t, q }) => {
    const r = hpaSync(rule, state, t, q, cur);
    state = r.state;
    cur = r.decision?.replicas ?? cur;
    return cur;
  });
}

test("legacy path (behavior nil): scale-up limit max(2×current, 4) per sync — horizontal.go normalizeDesiredReplicas", () => {
  // §3.5 worked example: queue 200, target 5, start at 1 → 4, 8, 16, 32, 40.
  const rule = seedRule({ maxReplicas: 100 });
  assert.deepEqual(
    run(
      rule,
      1,
      [0, 15, 30, 45, 60].map((t) => ({ t, q: 200 })),
    ),
    [4, 8, 16, 32, 40],
  );
});

test("legacy path: capped at maxReplicaCount (seed: 15) — convertDesiredReplicasWithRules", () => {
  assert.deepEqual(
    run(
      seedRule(),
      1,
      [0, 15, 30, 45].map((t) => ({ t, q: 1000 })),
    ),
    [4, 8, 15, 15],
  );
});

test("legacy path: scale-down waits for every recommendation in the last 300 s — stabilizeRecommendation", () => {
  const rule = seedRule();
  // 10 replicas at q=50; the queue drops to 5 at t=15. Scale-down only when t − 0 ≥ 300 (cutoff is strictly after).
  const got = run(rule, 10, [
    { t: 0, q: 50 },
    { t: 15, q: 5 },
    { t: 285, q: 5 },
    { t: 300, q: 5 },
    { t: 315, q: 5 },
  ]);
  assert.deepEqual(got, [10, 10, 10, 1, 1]);
});

test("legacy path: current 0 with min 1 is left alone (ScalingDisabled; KEDA owns activation)", () => {
  assert.equal(hpaSync(seedRule(), newHpaState(), 0, 500, 0).decision, undefined);
});

test("KEDA hands the HPA minReplicas max(minReplicaCount, 1) — scaledobject_types.go GetHPAMinReplicas", () => {
  assert.equal(hpaMinReplicas(seedRule()), 1);
  assert.equal(hpaMinReplicas(seedRule({ minReplicas: 3 })), 3);
  assert.equal(
    run(seedRule(), 2, [
      { t: 0, q: 0 },
      { t: 301, q: 0 },
    ])[1],
    1,
  );
});

test("current above max is brought to max; below min to min — reconcileAutoscaler", () => {
  assert.equal(hpaSync(seedRule(), newHpaState(), 0, 0, 20).decision?.replicas, 15);
  assert.equal(hpaSync(seedRule({ minReplicas: 3 }), newHpaState(), 0, 0, 2).decision?.replicas, 3);
});

test("behavior defaults — autoscaling/v2 defaults.go SetDefaults_HorizontalPodAutoscalerBehavior", () => {
  assert.deepEqual(defaultedBehavior({}), {
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: "Max",
      policies: [
        { type: "Pods", value: 4, periodSeconds: 15 },
        { type: "Percent", value: 100, periodSeconds: 15 },
      ],
    },
    scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
  });
});

const behaviorCases: { name: string; rule: string; behavior: HpaBehavior; start: number; steps: { t: number; q: number }[]; want: number[] }[] = [
  {
    name: "defaults: up by max(4 pods, 100 %) per 15 s",
    rule: "calculateScaleUpLimitWithScalingRules, selectPolicy Max",
    behavior: {},
    start: 1,
    steps: [0, 15, 30].map((t) => ({ t, q: 500 })),
    want: [5, 10, 15],
  },
  {
    name: "Pods 2 per 60 s: the period counts earlier additions",
    rule: "periodStartReplicas = current − added in period",
    behavior: { scaleUp: { policies: [{ type: "Pods", value: 2, periodSeconds: 60 }] } },
    start: 1,
    steps: [0, 15, 60, 75].map((t) => ({ t, q: 500 })),
    want: [3, 3, 5, 5],
  },
  {
    name: "Percent 50 rounds up",
    rule: "Percent up: ceil(start × (1 + v/100))",
    behavior: { scaleUp: { policies: [{ type: "Percent", value: 50, periodSeconds: 15 }] } },
    start: 3,
    steps: [0, 15].map((t) => ({ t, q: 500 })),
    want: [5, 8],
  },
  {
    name: "selectPolicy Min picks the smaller limit",
    rule: "selectPolicy Min",
    behavior: {
      scaleUp: {
        selectPolicy: "Min",
        policies: [
          { type: "Pods", value: 4, periodSeconds: 15 },
          { type: "Percent", value: 100, periodSeconds: 15 },
        ],
      },
    },
    start: 2,
    steps: [0, 15, 30].map((t) => ({ t, q: 500 })),
    want: [4, 8, 12],
  },
  {
    name: "scaleUp Disabled never adds",
    rule: "selectPolicy Disabled → limit = current",
    behavior: { scaleUp: { selectPolicy: "Disabled" } },
    start: 2,
    steps: [{ t: 0, q: 500 }],
    want: [2],
  },
  {
    name: "scaleDown: 0 s window, Percent 50 floors",
    rule: "Percent down: floor(start × (1 − v/100))",
    behavior: { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 50, periodSeconds: 15 }] } },
    start: 15,
    steps: [0, 15, 30].map((t) => ({ t, q: 5 })),
    want: [7, 3, 1],
  },
  {
    name: "scaleDown: Pods 1 per 60 s counts earlier removals",
    rule: "periodStartReplicas = current + removed in period",
    behavior: { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] } },
    start: 10,
    steps: [0, 15, 60].map((t) => ({ t, q: 5 })),
    want: [9, 9, 8],
  },
  {
    name: "scaleDown Disabled never removes",
    rule: "selectPolicy Disabled",
    behavior: { scaleDown: { selectPolicy: "Disabled", stabilizationWindowSeconds: 0 } },
    start: 10,
    steps: [{ t: 0, q: 5 }],
    want: [10],
  },
  {
    name: "scaleDown default window holds 300 s",
    rule: "stabilizeRecommendationWithBehaviors: max over the down window",
    behavior: {},
    start: 10,
    steps: [
      { t: 0, q: 50 },
      { t: 15, q: 5 },
      { t: 299, q: 5 },
      { t: 300, q: 5 },
    ],
    want: [10, 10, 10, 1],
  },
  {
    name: "scaleUp stabilization window takes the min",
    rule: "stabilizeRecommendationWithBehaviors: min over the up window",
    behavior: { scaleUp: { stabilizationWindowSeconds: 60 } },
    start: 2,
    steps: [
      { t: 0, q: 10 },
      { t: 15, q: 100 },
      { t: 60, q: 100 },
    ],
    want: [2, 2, 6],
  },
];
for (const c of behaviorCases) {
  test(`behavior path: ${c.name} — horizontal.go ${c.rule}`, () => {
    assert.deepEqual(run(seedRule({ behavior: c.behavior, maxReplicas: 15 }), c.start, c.steps), c.want);
  });
}

test("behavior tolerance per direction (KEP-4951) replaces 0.1", () => {
  const rule = seedRule({ behavior: { scaleUp: { tolerance: 0.5 } } });
  // ratio 60 / (5 × 10) = 1.2: outside 0.1, inside 0.5.
  assert.equal(hpaSync(rule, newHpaState(), 0, 60, 10).decision, undefined);
  assert.equal(hpaSync(seedRule({ behavior: {} }), newHpaState(), 0, 60, 10).decision?.replicas, 12);
});

test("first sync seeds the history with the current replicas, so a scale-down from the start waits 300 s — horizontal.go recordInitialRecommendation", () => {
  const rule = seedRule({ maxReplicas: 15 });
  // Starting at 8 with a queue that asks for 1 (ceil(5/5)): held at 8 until the seed falls out of the window.
  assert.deepEqual(
    run(rule, 8, [
      { t: 0, q: 5 },
      { t: 150, q: 5 },
      { t: 299, q: 5 },
      { t: 301, q: 5 },
    ]),
    [8, 8, 8, 1],
  );
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { UserError } from "../../src/errors.js";
import { KEDA_DEFAULTS, parseScaledObjectYaml, scalingRuleFrom } from "../../src/scaling/scaledobject.js";
import { seedManifest } from "./helpers.js";

// Manifest shapes are loose here on purpose: each case breaks one field.
// biome-ignore lint/suspicious/noExplicitAny: each case reaches into an arbitrary field of the manifest to break it.
type Loose = Record<string, any>;

test("seed ScaledObject resolves to the seed's numbers", () => {
  const r = scalingRuleFrom(seedManifest());
  assert.deepEqual(
    {
      min: r.minReplicas,
      max: r.maxReplicas,
      poll: r.pollingIntervalSeconds,
      cool: r.cooldownPeriodSeconds,
      target: r.queueLength,
      act: r.activationQueueLength,
      metric: r.metricType,
      strategy: r.queueLengthStrategy,
      behavior: r.behavior,
    },
    { min: 0, max: 15, poll: 30, cool: 10, target: 5, act: 20, metric: "AverageValue", strategy: "all", behavior: undefined },
  );
});

test("KEDA defaults when fields are absent", () => {
  const so = seedManifest() as Loose;
  for (const k of ["pollingInterval", "cooldownPeriod", "minReplicaCount", "maxReplicaCount"]) delete so.spec[k];
  delete so.spec.triggers[0].metadata.queueLength;
  delete so.spec.triggers[0].metadata.activationQueueLength;
  const r = scalingRuleFrom(so);
  // withtriggers_types.go defaultPollingInterval = 30; scale_executor.go defaultCooldownPeriod = 300, initialCooldownPeriod = 0;
  // scaledobject_types.go defaultHPAMaxReplicas = 100; azure_queue_scaler.go queueLength 5, activationQueueLength 0.
  assert.deepEqual(
    [r.pollingIntervalSeconds, r.cooldownPeriodSeconds, r.initialCooldownPeriodSeconds, r.minReplicas, r.maxReplicas, r.queueLength, r.activationQueueLength],
    [KEDA_DEFAULTS.pollingInterval, 300, 0, 0, 100, 5, 0],
  );
});

const bad: { name: string; rule: string; mutate: (so: Loose) => void; path: string }[] = [
  { name: "wrong apiVersion", rule: "CRD keda.sh/v1alpha1", mutate: (so) => (so.apiVersion = "keda.sh/v1"), path: ".apiVersion" },
  { name: "wrong kind", rule: "CRD kind ScaledObject", mutate: (so) => (so.kind = "ScaledJob"), path: ".kind" },
  { name: "unknown spec field", rule: "CRD schema rejects unknown fields", mutate: (so) => (so.spec.pollingIntervall = 30), path: ".spec.pollingIntervall" },
  { name: "missing scaleTargetRef.name", rule: "scaleTargetRef.name required", mutate: (so) => delete so.spec.scaleTargetRef.name, path: ".spec.scaleTargetRef.name" },
  { name: "pollingInterval 0", rule: "withtriggers_types.go: pollingInterval minimum 1", mutate: (so) => (so.spec.pollingInterval = 0), path: ".spec.pollingInterval" },
  { name: "negative cooldown", rule: "cooldownPeriod ≥ 0", mutate: (so) => (so.spec.cooldownPeriod = -1), path: ".spec.cooldownPeriod" },
  { name: "fractional min", rule: "minReplicaCount is int32", mutate: (so) => (so.spec.minReplicaCount = 1.5), path: ".spec.minReplicaCount" },
  {
    name: "max below min",
    rule: "scaledobject_types.go: MaxReplicaCount must be ≥ MinReplicaCount",
    mutate: (so) => {
      so.spec.minReplicaCount = 5;
      so.spec.maxReplicaCount = 2;
    },
    path: ".spec.maxReplicaCount",
  },
  {
    name: "idle not below min",
    rule: "idleReplicaCount must be < minReplicaCount",
    mutate: (so) => {
      so.spec.minReplicaCount = 2;
      so.spec.idleReplicaCount = 2;
    },
    path: ".spec.idleReplicaCount",
  },
  { name: "no triggers", rule: "at least one trigger", mutate: (so) => (so.spec.triggers = []), path: ".spec.triggers" },
  { name: "other scaler type", rule: "azure-queue scaler only", mutate: (so) => (so.spec.triggers[0].type = "kafka"), path: ".spec.triggers[0].type" },
  {
    name: "no queueName",
    rule: "azure_queue_scaler.go: queueName required",
    mutate: (so) => delete so.spec.triggers[0].metadata.queueName,
    path: ".spec.triggers[0].metadata.queueName",
  },
  {
    name: "queueLength not a number",
    rule: "azure_queue_scaler.go: queueLength parses as a number",
    mutate: (so) => (so.spec.triggers[0].metadata.queueLength = "five"),
    path: ".spec.triggers[0].metadata.queueLength",
  },
  { name: "queueLength 0", rule: "HPA target must be > 0", mutate: (so) => (so.spec.triggers[0].metadata.queueLength = "0"), path: ".spec.triggers[0].metadata.queueLength" },
  {
    name: "negative activation",
    rule: "activationQueueLength ≥ 0",
    mutate: (so) => (so.spec.triggers[0].metadata.activationQueueLength = "-1"),
    path: ".spec.triggers[0].metadata.activationQueueLength",
  },
  {
    name: "bad strategy",
    rule: "azure_queue_scaler.go: queueLengthStrategy all|visibleonly",
    mutate: (so) => (so.spec.triggers[0].metadata.queueLengthStrategy = "visible"),
    path: ".spec.triggers[0].metadata.queueLengthStrategy",
  },
  {
    name: "Utilization metric",
    rule: "scaler.go GetMetricTargetType: Utilization rejected for external metrics",
    mutate: (so) => (so.spec.triggers[0].metricType = "Utilization"),
    path: ".spec.triggers[0].metricType",
  },
  {
    name: "policy type",
    rule: "autoscaling/v2 HPAScalingPolicy type Pods|Percent",
    mutate: (so) => (so.spec.advanced = { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { policies: [{ type: "Cpu", value: 1, periodSeconds: 15 }] } } } }),
    path: ".spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies[0].type",
  },
  {
    name: "policy period over 1800",
    rule: "autoscaling/v2 validation: periodSeconds ≤ 1800",
    mutate: (so) => (so.spec.advanced = { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { policies: [{ type: "Pods", value: 1, periodSeconds: 1801 }] } } } }),
    path: ".spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.policies[0].periodSeconds",
  },
  {
    name: "stabilization over 3600",
    rule: "autoscaling/v2 validation: stabilizationWindowSeconds ≤ 3600",
    mutate: (so) => (so.spec.advanced = { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 3601 } } } }),
    path: ".spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds",
  },
  {
    name: "selectPolicy",
    rule: "autoscaling/v2 selectPolicy Max|Min|Disabled",
    mutate: (so) => (so.spec.advanced = { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { selectPolicy: "Most" } } } }),
    path: ".spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.selectPolicy",
  },
];

for (const c of bad) {
  test(`validation: ${c.name} (${c.rule}) names ${c.path}`, () => {
    const so = seedManifest() as Loose;
    c.mutate(so);
    assert.throws(
      () => scalingRuleFrom(so),
      (e: unknown) => e instanceof UserError && e.message.startsWith(`ScaledObject ${c.path}:`),
    );
  });
}

test("YAML errors name the file; validation errors name the file and the path", () => {
  assert.throws(
    () => parseScaledObjectYaml("spec: [\n", "so.yaml"),
    (e: unknown) => e instanceof UserError && /^so\.yaml is not valid YAML/.test(e.message),
  );
  assert.throws(
    () =>
      parseScaledObjectYaml(
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec: {scaleTargetRef: {name: d}, maxReplicaCount: 0, triggers: []}\n",
        "so.yaml",
      ),
    (e: unknown) => e instanceof UserError && e.message.startsWith("so.yaml: ScaledObject .spec.maxReplicaCount:"),
  );
});

test("behavior given: kept verbatim for the HPA (KEDA passes advanced.horizontalPodAutoscalerConfig.behavior through)", () => {
  const so = seedManifest() as Loose;
  so.spec.advanced = { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { policies: [{ type: "Pods", value: 2, periodSeconds: 30 }] } } } };
  assert.deepEqual(scalingRuleFrom(so).behavior, { scaleUp: { policies: [{ type: "Pods", value: 2, periodSeconds: 30 }] }, scaleDown: undefined });
});

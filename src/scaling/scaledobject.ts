import { parseUserYamlDocuments } from "../util/user-file.js";
import { UserError } from "../errors.js";
import type { HpaBehavior, HpaScalingPolicy, HpaScalingRules, ScaledObjectManifest } from "../blueprints/types.js";

/** A KEDA ScaledObject with an azure-queue trigger, resolved to numbers with KEDA's defaults. */
export interface ScalingRule {
  name: string;
  target: string;
  pollingIntervalSeconds: number;
  cooldownPeriodSeconds: number;
  initialCooldownPeriodSeconds: number;
  minReplicas: number;
  maxReplicas: number;
  idleReplicaCount?: number;
  queueName: string;
  /** Target messages per replica (HPA AverageValue target). */
  queueLength: number;
  /** Active only when the queue length is strictly greater. */
  activationQueueLength: number;
  queueLengthStrategy: "all" | "visibleonly";
  metricType: "AverageValue" | "Value";
  /** The HPA's behavior verbatim; undefined = KEDA's default (behavior: nil, the legacy path). */
  behavior?: HpaBehavior;
}

/** KEDA/HPA defaults (scaling-semantics §1.3, §2.1, §3.1). */
export const KEDA_DEFAULTS = { pollingInterval: 30, cooldownPeriod: 300, initialCooldownPeriod: 0, minReplicaCount: 0, maxReplicaCount: 100, queueLength: 5, activationQueueLength: 0 } as const;
export const HPA_SYNC_SECONDS = 15;
export const HPA_TOLERANCE = 0.1;
export const HPA_DOWNSCALE_STABILIZATION_SECONDS = 300;

function fail(path: string, reason: string): never {
  throw new UserError(`ScaledObject ${path}: ${reason}`, "fix the ScaledObject (KEDA keda.sh/v1alpha1)");
}

function checkKeys(obj: Record<string, unknown>, allowed: string[], path: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(`${path}.${k}`, `unknown field (allowed: ${allowed.join(", ")})`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function intField(obj: Record<string, unknown>, key: string, path: string, min: number, fallback: number): number {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) fail(`${path}.${key}`, `must be a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function numericString(meta: Record<string, unknown>, key: string, path: string, fallback: number): number {
  const v = meta[key];
  if (v === undefined) return fallback;
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : typeof v === "number" ? v : NaN;
  if (!Number.isFinite(n) || n < 0) fail(`${path}.${key}`, `must be a non-negative number (KEDA metadata is a string, e.g. "5"), got ${JSON.stringify(v)}`);
  return n;
}

function parsePolicies(list: unknown, path: string): HpaScalingPolicy[] {
  if (!Array.isArray(list)) fail(path, "must be a list");
  return list.map((p, i) => {
    if (!isObject(p)) fail(`${path}[${i}]`, "must be an object");
    checkKeys(p, ["type", "value", "periodSeconds"], `${path}[${i}]`);
    if (p.type !== "Pods" && p.type !== "Percent") fail(`${path}[${i}].type`, 'must be "Pods" or "Percent"');
    const value = intField(p, "value", `${path}[${i}]`, 1, NaN);
    const periodSeconds = intField(p, "periodSeconds", `${path}[${i}]`, 1, NaN);
    if (Number.isNaN(value) || Number.isNaN(periodSeconds)) fail(`${path}[${i}]`, "value and periodSeconds are required");
    if (periodSeconds > 1800) fail(`${path}[${i}].periodSeconds`, "must be ≤ 1800");
    return { type: p.type, value, periodSeconds };
  });
}

function parseRules(v: unknown, path: string): HpaScalingRules | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) fail(path, "must be an object");
  checkKeys(v, ["stabilizationWindowSeconds", "selectPolicy", "policies", "tolerance"], path);
  const rules: HpaScalingRules = {};
  if (v.stabilizationWindowSeconds !== undefined) {
    rules.stabilizationWindowSeconds = intField(v, "stabilizationWindowSeconds", path, 0, 0);
    if (rules.stabilizationWindowSeconds > 3600) fail(`${path}.stabilizationWindowSeconds`, "must be ≤ 3600");
  }
  if (v.selectPolicy !== undefined) {
    if (!["Max", "Min", "Disabled"].includes(String(v.selectPolicy))) fail(`${path}.selectPolicy`, 'must be "Max", "Min" or "Disabled"');
    rules.selectPolicy = v.selectPolicy as HpaScalingRules["selectPolicy"];
  }
  if (v.policies !== undefined) rules.policies = parsePolicies(v.policies, `${path}.policies`);
  if (v.tolerance !== undefined) {
    const t = Number(v.tolerance);
    if (!Number.isFinite(t) || t < 0) fail(`${path}.tolerance`, "must be a non-negative number");
    rules.tolerance = t;
  }
  return rules;
}

/** Validates a ScaledObject and resolves it to a ScalingRule; errors name the path and the reason. */
export function scalingRuleFrom(so: unknown): ScalingRule {
  if (!isObject(so)) fail("", "must be a YAML mapping");
  if (so.apiVersion !== "keda.sh/v1alpha1") fail(".apiVersion", `must be keda.sh/v1alpha1, got ${JSON.stringify(so.apiVersion)}`);
  if (so.kind !== "ScaledObject") fail(".kind", `must be ScaledObject, got ${JSON.stringify(so.kind)}`);
  checkKeys(so, ["apiVersion", "kind", "metadata", "spec"], "");
  const meta = so.metadata;
  if (!isObject(meta) || typeof meta.name !== "string" || meta.name === "") fail(".metadata.name", "is required");
  const spec = so.spec;
  if (!isObject(spec)) fail(".spec", "is required");
  checkKeys(spec, ["scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "idleReplicaCount", "minReplicaCount", "maxReplicaCount", "advanced", "triggers", "fallback"], ".spec");
  const ref = spec.scaleTargetRef;
  if (!isObject(ref) || typeof ref.name !== "string" || ref.name === "") fail(".spec.scaleTargetRef.name", "is required");
  const minReplicas = intField(spec, "minReplicaCount", ".spec", 0, KEDA_DEFAULTS.minReplicaCount);
  const maxReplicas = intField(spec, "maxReplicaCount", ".spec", 1, KEDA_DEFAULTS.maxReplicaCount);
  if (maxReplicas < minReplicas) fail(".spec.maxReplicaCount", `(${maxReplicas}) must be ≥ minReplicaCount (${minReplicas})`);
  const idle = spec.idleReplicaCount === undefined ? undefined : intField(spec, "idleReplicaCount", ".spec", 0, 0);
  if (idle !== undefined && idle >= minReplicas && minReplicas > 0) fail(".spec.idleReplicaCount", "must be lower than minReplicaCount");
  const triggers = spec.triggers;
  if (!Array.isArray(triggers) || triggers.length === 0) fail(".spec.triggers", "needs at least one trigger");
  if (triggers.length > 1) fail(".spec.triggers", "only one trigger is supported locally (azure-queue)");
  const trig = triggers[0];
  if (!isObject(trig)) fail(".spec.triggers[0]", "must be an object");
  checkKeys(trig, ["type", "name", "metadata", "authenticationRef", "metricType", "useCachedMetrics"], ".spec.triggers[0]");
  if (trig.type !== "azure-queue") fail(".spec.triggers[0].type", `only azure-queue is supported, got ${JSON.stringify(trig.type)}`);
  const md = trig.metadata;
  if (!isObject(md)) fail(".spec.triggers[0].metadata", "is required");
  if (typeof md.queueName !== "string" || md.queueName === "") fail(".spec.triggers[0].metadata.queueName", "is required");
  const strategy = md.queueLengthStrategy ?? "all";
  if (strategy !== "all" && strategy !== "visibleonly") fail(".spec.triggers[0].metadata.queueLengthStrategy", 'must be "all" or "visibleonly"');
  const metricType = trig.metricType ?? "AverageValue";
  if (metricType !== "AverageValue" && metricType !== "Value") fail(".spec.triggers[0].metricType", 'must be "AverageValue" or "Value" (Utilization is not allowed for external metrics)');
  const queueLength = numericString(md, "queueLength", ".spec.triggers[0].metadata", KEDA_DEFAULTS.queueLength);
  if (queueLength <= 0) fail(".spec.triggers[0].metadata.queueLength", "must be greater than 0");
  let behavior: HpaBehavior | undefined;
  const adv = spec.advanced;
  if (adv !== undefined) {
    if (!isObject(adv)) fail(".spec.advanced", "must be an object");
    checkKeys(adv, ["horizontalPodAutoscalerConfig", "restoreToOriginalReplicaCount", "scalingModifiers"], ".spec.advanced");
    if (adv.scalingModifiers !== undefined) fail(".spec.advanced.scalingModifiers", "is not supported locally");
    const hpa = adv.horizontalPodAutoscalerConfig;
    if (hpa !== undefined) {
      if (!isObject(hpa)) fail(".spec.advanced.horizontalPodAutoscalerConfig", "must be an object");
      checkKeys(hpa, ["name", "behavior"], ".spec.advanced.horizontalPodAutoscalerConfig");
      if (hpa.behavior !== undefined) {
        if (!isObject(hpa.behavior)) fail(".spec.advanced.horizontalPodAutoscalerConfig.behavior", "must be an object");
        checkKeys(hpa.behavior, ["scaleUp", "scaleDown"], ".spec.advanced.horizontalPodAutoscalerConfig.behavior");
        behavior = {
          scaleUp: parseRules(hpa.behavior.scaleUp, ".spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp"),
          scaleDown: parseRules(hpa.behavior.scaleDown, ".spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown"),
        };
      }
    }
  }
  return {
    name: meta.name,
    target: ref.name,
    pollingIntervalSeconds: intField(spec, "pollingInterval", ".spec", 1, KEDA_DEFAULTS.pollingInterval),
    cooldownPeriodSeconds: intField(spec, "cooldownPeriod", ".spec", 0, KEDA_DEFAULTS.cooldownPeriod),
    initialCooldownPeriodSeconds: intField(spec, "initialCooldownPeriod", ".spec", 0, KEDA_DEFAULTS.initialCooldownPeriod),
    minReplicas,
    maxReplicas,
    ...(idle !== undefined ? { idleReplicaCount: idle } : {}),
    queueName: md.queueName,
    queueLength,
    activationQueueLength: numericString(md, "activationQueueLength", ".spec.triggers[0].metadata", KEDA_DEFAULTS.activationQueueLength),
    queueLengthStrategy: strategy,
    metricType,
    ...(behavior ? { behavior } : {}),
  };
}

/** Parses ScaledObject YAML (the first document that is a ScaledObject). */
export function parseScaledObjectYaml(text: string, source: string): { manifest: ScaledObjectManifest; rule: ScalingRule } {
  const docs = parseUserYamlDocuments(text, source);
  const so = docs.find((d) => isObject(d) && d.kind === "ScaledObject") ?? docs[0];
  try {
    return { manifest: so as ScaledObjectManifest, rule: scalingRuleFrom(so) };
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${source}: ${e.message}`, e.hint);
    throw e;
  }
}

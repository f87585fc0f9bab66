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
  /**
   * Trigger `useCachedMetrics`: the HPA's metric requests get the value KEDA's polling loop read last
   * instead of a fresh scaler call (scale_handler.go GetScaledObjectMetrics).
   */
  useCachedMetrics: boolean;
  /** `spec.fallback`: after more than failureThreshold consecutive scaler failures the HPA sees target × replicas (pkg/fallback/fallback.go). */
  fallback?: FallbackSpec;
}

export type FallbackBehavior = "static" | "currentReplicas" | "currentReplicasIfHigher" | "currentReplicasIfLower";

export interface FallbackSpec {
  failureThreshold: number;
  replicas: number;
  behavior: FallbackBehavior;
}

/** KEDA/HPA defaults (scaling-semantics §1.3, §2.1, §3.1). */
export const KEDA_DEFAULTS = {
  pollingInterval: 30,
  cooldownPeriod: 300,
  initialCooldownPeriod: 0,
  minReplicaCount: 0,
  maxReplicaCount: 100,
  queueLength: 5,
  activationQueueLength: 0,
} as const;
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

/**
 * An int64 trigger parameter (azure_queue_scaler.go: queueLength and activationQueueLength are int64 in
 * the typed config). A value Go's ParseInt refuses is refused with the scaler's own wording
 * (scalersconfig/typed_config.go: `unable to set param "queueLength" value "2.5"`).
 */
function intString(meta: Record<string, unknown>, key: string, path: string, fallback: number): number {
  const v = meta[key];
  if (v === undefined) return fallback;
  const text = typeof v === "number" ? String(v) : typeof v === "string" ? v : JSON.stringify(v);
  if (!/^[+-]?\d+$/.test(text))
    fail(`${path}.${key}`, `error parsing azure queue metadata: unable to set param "${key}" value "${text}": not a whole number (KEDA metadata is a string, e.g. "5")`);
  const n = Number(text);
  if (n < 0) fail(`${path}.${key}`, `must not be negative, got ${JSON.stringify(v)}`);
  return n;
}

const FALLBACK_BEHAVIORS: FallbackBehavior[] = ["static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower"];

/** `spec.fallback`, checked as KEDA's webhook does (scaledobject_types.go CheckFallbackValid). */
function parseFallback(v: unknown): FallbackSpec | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) fail(".spec.fallback", "must be an object");
  checkKeys(v, ["failureThreshold", "replicas", "behavior"], ".spec.fallback");
  const whole = (k: string) => {
    const x = v[k];
    if (x === undefined) fail(`.spec.fallback.${k}`, "is required");
    if (typeof x !== "number" || !Number.isInteger(x)) fail(`.spec.fallback.${k}`, `must be a whole number, got ${JSON.stringify(x)}`);
    return x;
  };
  const failureThreshold = whole("failureThreshold");
  const replicas = whole("replicas");
  if (failureThreshold < 0 || replicas < 0) fail(".spec.fallback", `FailureThreshold=${failureThreshold} & Replicas=${replicas} must both be greater than or equal to 0`);
  const behavior = (v.behavior ?? "static") as FallbackBehavior;
  if (!FALLBACK_BEHAVIORS.includes(behavior)) fail(".spec.fallback.behavior", `must be one of ${FALLBACK_BEHAVIORS.join(", ")}, got ${JSON.stringify(v.behavior)}`);
  return { failureThreshold, replicas, behavior };
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
  checkKeys(
    spec,
    ["scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "idleReplicaCount", "minReplicaCount", "maxReplicaCount", "advanced", "triggers", "fallback"],
    ".spec",
  );
  const ref = spec.scaleTargetRef;
  if (!isObject(ref) || typeof ref.name !== "string" || ref.name === "") fail(".spec.scaleTargetRef.name", "is required");
  const minReplicas = intField(spec, "minReplicaCount", ".spec", 0, KEDA_DEFAULTS.minReplicaCount);
  const maxReplicas = intField(spec, "maxReplicaCount", ".spec", 1, KEDA_DEFAULTS.maxReplicaCount);
  const idle = spec.idleReplicaCount === undefined ? undefined : intField(spec, "idleReplicaCount", ".spec", 0, 0);
  checkReplicaCountBounds(spec.minReplicaCount === undefined ? undefined : minReplicas, maxReplicas, idle);
  const triggers = spec.triggers;
  if (!Array.isArray(triggers) || triggers.length === 0) fail(".spec.triggers", "needs at least one trigger");
  if (triggers.length > 1) fail(".spec.triggers", "only one trigger is supported locally (azure-queue)");
  const trig = triggers[0];
  if (!isObject(trig)) fail(".spec.triggers[0]", "must be an object");
  checkKeys(trig, ["type", "name", "metadata", "authenticationRef", "metricType", "useCachedMetrics"], ".spec.triggers[0]");
  if (trig.useCachedMetrics !== undefined && typeof trig.useCachedMetrics !== "boolean")
    fail(".spec.triggers[0].useCachedMetrics", `must be true or false, got ${JSON.stringify(trig.useCachedMetrics)}`);
  if (trig.type !== "azure-queue") fail(".spec.triggers[0].type", `only azure-queue is supported, got ${JSON.stringify(trig.type)}`);
  const md = trig.metadata;
  if (!isObject(md)) fail(".spec.triggers[0].metadata", "is required");
  if (typeof md.queueName !== "string" || md.queueName === "") fail(".spec.triggers[0].metadata.queueName", "is required");
  const strategy = md.queueLengthStrategy ?? "all";
  if (strategy !== "all" && strategy !== "visibleonly") fail(".spec.triggers[0].metadata.queueLengthStrategy", 'must be "all" or "visibleonly"');
  const metricType = trig.metricType ?? "AverageValue";
  if (metricType !== "AverageValue" && metricType !== "Value")
    fail(".spec.triggers[0].metricType", 'must be "AverageValue" or "Value" (Utilization is not allowed for external metrics)');
  const queueLength = intString(md, "queueLength", ".spec.triggers[0].metadata", KEDA_DEFAULTS.queueLength);
  if (queueLength <= 0) fail(".spec.triggers[0].metadata.queueLength", "must be greater than 0");
  const fallback = parseFallback(spec.fallback);
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
    activationQueueLength: intString(md, "activationQueueLength", ".spec.triggers[0].metadata", KEDA_DEFAULTS.activationQueueLength),
    queueLengthStrategy: strategy,
    metricType,
    ...(behavior ? { behavior } : {}),
    useCachedMetrics: trig.useCachedMetrics === true,
    ...(fallback ? { fallback } : {}),
  };
}

/**
 * KEDA's admission webhook (scaledobject_types.go CheckReplicaCountBoundsAreValid), with its wording.
 * `min` is undefined when minReplicaCount is not set: the check then compares with 0; when set, with the
 * HPA's minimum, max(min, 1) (GetHPAMinReplicas).
 */
export function checkReplicaCountBounds(minSet: number | undefined, max: number, idle: number | undefined): void {
  const min = minSet === undefined ? 0 : Math.max(minSet, 1);
  if (min > max) fail(".spec.maxReplicaCount", `MinReplicaCount=${min} must be less than MaxReplicaCount=${max}`);
  if (idle !== undefined && idle >= min) fail(".spec.idleReplicaCount", `IdleReplicaCount=${idle} must be less than MinReplicaCount=${min}`);
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

import type { HpaBehavior, HpaScalingPolicy, HpaScalingRules } from "../blueprints/types.js";
import { HPA_DOWNSCALE_STABILIZATION_SECONDS, HPA_TOLERANCE, type ScalingRule } from "./scaledobject.js";
import type { ScaleDecision } from "./keda.js";

/**
 * The HorizontalPodAutoscaler's reconcile for KEDA's external metric, as a pure function
 * (kubernetes/kubernetes pkg/controller/podautoscaler/horizontal.go and replica_calculator.go).
 * Times are seconds.
 */

export interface HpaState {
  /** Pre-normalisation recommendations (for stabilization windows). */
  recommendations: { t: number; replicas: number }[];
  /** Applied changes (for behavior rate policies). */
  scaleEvents: { t: number; delta: number }[];
  /** Set by the first sync, which records the current replicas as a recommendation. */
  initialized?: boolean;
}

export function newHpaState(): HpaState {
  return { recommendations: [], scaleEvents: [] };
}

/** KEDA hands the HPA max(minReplicaCount, 1) (scaledobject_types.go GetHPAMinReplicas). */
export function hpaMinReplicas(rule: ScalingRule): number {
  return Math.max(rule.minReplicas, 1);
}

/**
 * Replicas the metric asks for (replica_calculator.go). AverageValue: ratio = metric / (target × current);
 * inside the tolerance keep current, else ceil(metric / target). Value: ceil(metric/target × ready).
 */
export function metricReplicas(
  metricType: ScalingRule["metricType"],
  metric: number,
  target: number,
  current: number,
  ready: number,
  tolerance = HPA_TOLERANCE,
): { replicas: number; ratio: number; withinTolerance: boolean } {
  if (metricType === "AverageValue") {
    const ratio = metric / (target * current);
    if (withinTolerance(ratio, tolerance)) return { replicas: current, ratio, withinTolerance: true };
    return { replicas: Math.ceil(metric / target), ratio, withinTolerance: false };
  }
  const ratio = metric / target;
  if (current === 0) return { replicas: Math.ceil(ratio), ratio, withinTolerance: false };
  if (withinTolerance(ratio, tolerance)) return { replicas: current, ratio, withinTolerance: true };
  return { replicas: Math.ceil(ratio * ready), ratio, withinTolerance: false };
}

/**
 * Tolerances.isWithin: (1 − tol) ≤ ratio ≤ (1 + tol). Written as bounds, not |1 − ratio| ≤ tol, so a
 * ratio of exactly 1.1 stays inside in floating point (|1 − 1.1| is 0.10000000000000009).
 */
function withinTolerance(ratio: number, tolerance: number): boolean {
  return 1 - tolerance <= ratio && ratio <= 1 + tolerance;
}

/** API defaulting of a non-nil behavior (autoscaling/v2 defaults.go). */
export function defaultedBehavior(
  b: HpaBehavior,
): Required<{ scaleUp: Required<Omit<HpaScalingRules, "tolerance">> & { tolerance?: number }; scaleDown: Required<Omit<HpaScalingRules, "tolerance">> & { tolerance?: number } }> {
  const up = b.scaleUp ?? {};
  const down = b.scaleDown ?? {};
  return {
    scaleUp: {
      stabilizationWindowSeconds: up.stabilizationWindowSeconds ?? 0,
      selectPolicy: up.selectPolicy ?? "Max",
      policies: up.policies ?? [
        { type: "Pods", value: 4, periodSeconds: 15 },
        { type: "Percent", value: 100, periodSeconds: 15 },
      ],
      ...(up.tolerance !== undefined ? { tolerance: Number(up.tolerance) } : {}),
    },
    scaleDown: {
      stabilizationWindowSeconds: down.stabilizationWindowSeconds ?? HPA_DOWNSCALE_STABILIZATION_SECONDS,
      selectPolicy: down.selectPolicy ?? "Max",
      policies: down.policies ?? [{ type: "Percent", value: 100, periodSeconds: 15 }],
      ...(down.tolerance !== undefined ? { tolerance: Number(down.tolerance) } : {}),
    },
  };
}

function changeInPeriod(events: HpaState["scaleEvents"], now: number, period: number, sign: 1 | -1): number {
  let n = 0;
  for (const e of events) if (e.t > now - period && Math.sign(e.delta) === sign) n += Math.abs(e.delta);
  return n;
}

function scaleUpLimit(current: number, events: HpaState["scaleEvents"], rules: { selectPolicy: string; policies: HpaScalingPolicy[] }, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  let result = rules.selectPolicy === "Min" ? Infinity : -Infinity;
  for (const p of rules.policies) {
    const start = current - changeInPeriod(events, now, p.periodSeconds, 1) + changeInPeriod(events, now, p.periodSeconds, -1);
    const limit = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = rules.selectPolicy === "Min" ? Math.min(result, limit) : Math.max(result, limit);
  }
  return result;
}

function scaleDownLimit(current: number, events: HpaState["scaleEvents"], rules: { selectPolicy: string; policies: HpaScalingPolicy[] }, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  // For scale-down, "Max" means the largest change, i.e. the smallest limit.
  let result = rules.selectPolicy === "Min" ? -Infinity : Infinity;
  for (const p of rules.policies) {
    const start = current + changeInPeriod(events, now, p.periodSeconds, -1) - changeInPeriod(events, now, p.periodSeconds, 1);
    const limit = p.type === "Pods" ? start - p.value : Math.floor(start * (1 - p.value / 100));
    result = rules.selectPolicy === "Min" ? Math.max(result, limit) : Math.min(result, limit);
  }
  return result;
}

/**
 * One HPA sync (every 15 s). `metric` is KEDA's external metric (the queue length). Returns the new
 * replica count if it changes, with the arithmetic in the message.
 */
export function hpaSync(
  rule: ScalingRule,
  state: HpaState,
  now: number,
  metric: number,
  current: number,
  ready = current,
): { state: HpaState; decision?: ScaleDecision; note: string } {
  const min = hpaMinReplicas(rule);
  const max = rule.maxReplicas;
  // horizontal.go recordInitialRecommendation: the first sync seeds the history with the current
  // replicas, so a scale-down from the starting count waits out the stabilization window too.
  if (!state.initialized) state = { ...state, initialized: true, recommendations: [{ t: now, replicas: current }, ...state.recommendations] };
  if (current === 0 && min !== 0) return { state, note: "ScalingDisabled: replicas 0 (KEDA owns activation)" };
  let desired: number;
  let why: string;
  let normalizedState = state;
  if (current > max) {
    desired = max;
    why = `current ${current} > max ${max}`;
  } else if (current < min) {
    desired = min;
    why = `current ${current} < min ${min}`;
  } else {
    const tolerance = rule.behavior ? pickTolerance(rule.behavior, metric, rule.queueLength, current) : HPA_TOLERANCE;
    const m = metricReplicas(rule.metricType, metric, rule.queueLength, current, ready, tolerance);
    const base = m.withinTolerance
      ? `ratio ${m.ratio.toFixed(2)} within tolerance ${tolerance}`
      : rule.metricType === "AverageValue"
        ? `ceil(queue ${metric} / target ${rule.queueLength}) = ${m.replicas}`
        : `ceil(${metric}/${rule.queueLength} × ${ready} ready) = ${m.replicas}`;
    const r = rule.behavior ? normalizeWithBehavior(rule, state, now, m.replicas, current) : normalizeLegacy(rule, state, now, m.replicas, current);
    desired = r.replicas;
    normalizedState = r.state;
    why = r.why ? `${base}; ${r.why}` : base;
  }
  if (desired === current) return { state: normalizedState, note: `no change at ${current} (${why})` };
  const next: HpaState = { ...normalizedState, scaleEvents: [...normalizedState.scaleEvents, { t: now, delta: desired - current }].filter((e) => e.t > now - 1800) };
  return {
    state: next,
    decision: { replicas: desired, reason: desired > current ? "HPAScaleUp" : "HPAScaleDown", message: `${current} → ${desired}: ${why}` },
    note: "scaled",
  };
}

function pickTolerance(b: HpaBehavior, metric: number, target: number, current: number): number {
  const up = metric / (target * Math.max(1, current)) > 1;
  const t = up ? b.scaleUp?.tolerance : b.scaleDown?.tolerance;
  return t === undefined ? HPA_TOLERANCE : Number(t);
}

/** behavior == nil: max over the 300 s window, then at most max(2×current, 4) per sync (horizontal.go normalizeDesiredReplicas). */
function normalizeLegacy(rule: ScalingRule, state: HpaState, now: number, proposed: number, current: number): { replicas: number; state: HpaState; why?: string } {
  const window = HPA_DOWNSCALE_STABILIZATION_SECONDS;
  const recs = [...state.recommendations.filter((r) => r.t > now - window), { t: now, replicas: proposed }];
  const stabilized = Math.max(...recs.map((r) => r.replicas));
  const notes: string[] = [];
  if (stabilized > proposed) notes.push(`scale-down stabilized at ${stabilized} (max of the last ${window} s)`);
  const upLimit = Math.max(2 * current, 4);
  const maxAllowed = Math.min(rule.maxReplicas, upLimit);
  const min = hpaMinReplicas(rule);
  let replicas = stabilized;
  if (replicas < min) {
    replicas = min;
    notes.push(`raised to min ${min}`);
  } else if (replicas > maxAllowed) {
    replicas = maxAllowed;
    notes.push(maxAllowed === upLimit && upLimit < rule.maxReplicas ? `capped at max(2×${current}, 4) = ${upLimit}` : `capped at maxReplicaCount ${rule.maxReplicas}`);
  }
  return { replicas, state: { ...state, recommendations: recs }, why: notes.join("; ") || undefined };
}

/** behavior != nil: stabilization windows per direction, then rate policies (normalizeDesiredReplicasWithBehaviors). */
function normalizeWithBehavior(rule: ScalingRule, state: HpaState, now: number, proposed: number, current: number): { replicas: number; state: HpaState; why?: string } {
  const b = defaultedBehavior(rule.behavior!);
  const upWin = b.scaleUp.stabilizationWindowSeconds;
  const downWin = b.scaleDown.stabilizationWindowSeconds;
  let upRec = proposed;
  let downRec = proposed;
  for (const r of state.recommendations) {
    if (r.t > now - upWin) upRec = Math.min(upRec, r.replicas);
    if (r.t > now - downWin) downRec = Math.max(downRec, r.replicas);
  }
  let rec = current;
  if (rec < upRec) rec = upRec;
  if (rec > downRec) rec = downRec;
  const keep = Math.max(upWin, downWin);
  const recs = [...state.recommendations.filter((r) => r.t > now - keep), { t: now, replicas: proposed }];
  const notes: string[] = [];
  if (rec !== proposed) notes.push(`stabilized to ${rec} (windows up ${upWin} s, down ${downWin} s)`);
  const min = hpaMinReplicas(rule);
  let replicas = rec;
  if (rec > current) {
    let limit = scaleUpLimit(current, state.scaleEvents, b.scaleUp, now);
    if (limit < current) limit = current;
    const maxAllowed = Math.min(rule.maxReplicas, limit);
    if (replicas > maxAllowed) {
      replicas = maxAllowed;
      notes.push(maxAllowed === limit && limit < rule.maxReplicas ? `scale-up policy limit ${limit}` : `capped at maxReplicaCount ${rule.maxReplicas}`);
    }
    if (replicas < min) replicas = min;
  } else if (rec < current) {
    let limit = scaleDownLimit(current, state.scaleEvents, b.scaleDown, now);
    if (limit > current) limit = current;
    const minAllowed = Math.max(min, limit);
    if (replicas < minAllowed) {
      replicas = minAllowed;
      notes.push(minAllowed === limit && limit > min ? `scale-down policy limit ${limit}` : `raised to min ${min}`);
    }
    if (replicas > rule.maxReplicas) replicas = rule.maxReplicas;
  }
  return { replicas, state: { ...state, recommendations: recs }, why: notes.join("; ") || undefined };
}

import type { FallbackSpec, ScalingRule } from "./scaledobject.js";

/**
 * KEDA's fallback for the HPA's metric requests (kedacore/keda pkg/fallback/fallback.go,
 * GetMetricsWithFallback), as a pure function. KEDA counts consecutive scaler failures per metric
 * (status.health[metric].numberOfFailures); a success resets the count. While the count is at or below
 * failureThreshold the error goes to the HPA, which then cannot compute the metric and changes nothing
 * (scale_handler.go: "Report error to HPA directly"). Above it, the HPA gets a synthetic value that asks
 * for the fallback replicas: target × replicas (AverageValue), or target × replicas / ready (Value).
 */

/** What one scaler call returned. */
export type ScalerRead = { value: number; error?: undefined } | { value?: undefined; error: string };

export interface MetricResult {
  /** Consecutive failures after this read. */
  failures: number;
  /** The value the HPA gets; undefined = the request failed (the HPA keeps the replicas). */
  metric?: number;
  /** Set when the value is the fallback's. */
  fallback?: string;
  error?: string;
}

/** Replicas the fallback asks for, by behavior (fallback.go getFallbackReplicas). */
export function fallbackReplicas(f: FallbackSpec, current: number): number {
  switch (f.behavior) {
    case "currentReplicas":
      return current;
    case "currentReplicasIfHigher":
      return Math.max(current, f.replicas);
    case "currentReplicasIfLower":
      return Math.min(current, f.replicas);
    default:
      return f.replicas;
  }
}

export function metricWithFallback(rule: ScalingRule, failures: number, read: ScalerRead, current: number, ready: number): MetricResult {
  if (read.error === undefined) return { failures: 0, metric: read.value };
  const n = failures + 1;
  const f = rule.fallback;
  if (!f || n <= f.failureThreshold) {
    return { failures: n, error: `${read.error} (consecutive failures ${n}${f ? `, fallback after ${f.failureThreshold}` : ", no fallback"})` };
  }
  const replicas = fallbackReplicas(f, current);
  if (rule.metricType === "Value") {
    if (ready === 0) return { failures: n, error: `${read.error}; fallback needs a ready pod for a Value metric (0 ready)` };
    const metric = (rule.queueLength * replicas) / ready;
    return {
      failures: n,
      metric,
      fallback: `fallback (${n} failures > failureThreshold ${f.failureThreshold}): target ${rule.queueLength} × ${replicas} replicas / ${ready} ready = ${round(metric)}`,
    };
  }
  const metric = rule.queueLength * replicas;
  return { failures: n, metric, fallback: `fallback (${n} failures > failureThreshold ${f.failureThreshold}): target ${rule.queueLength} × ${replicas} replicas = ${metric}` };
}

const round = (n: number) => Math.round(n * 100) / 100;

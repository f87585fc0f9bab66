import type { ScalingRule } from "./scaledobject.js";

/**
 * KEDA's scale executor for a ScaledObject (kedacore/keda pkg/scaling/executor/scale_scaledobjects.go),
 * as a pure function. KEDA owns 0↔1 (activation) and N→0 (cooldown); the HPA owns 1↔N.
 */

export interface KedaState {
  /** Seconds; when a poll last saw the trigger active. */
  lastActiveTime?: number;
  /** Seconds; the ScaledObject's creation (for initialCooldownPeriod). */
  createdAt: number;
}

export interface ScaleDecision {
  replicas: number;
  reason: string;
  message: string;
}

/** azure-queue activity: strictly greater than activationQueueLength (azure_queue_scaler.go). */
export function isActive(rule: ScalingRule, queueLength: number): boolean {
  return queueLength > rule.activationQueueLength;
}

/**
 * One polling-loop iteration (every pollingInterval). Returns the replica count KEDA sets directly, if
 * any, and the new state. `now` and state times are in seconds.
 */
export function kedaPoll(rule: ScalingRule, state: KedaState, now: number, queueLength: number, current: number): { state: KedaState; decision?: ScaleDecision; note: string } {
  const active = isActive(rule, queueLength);
  const min = rule.minReplicas;
  const idle = rule.idleReplicaCount;
  const cmp = `queue ${queueLength} ${active ? ">" : "≤"} activationQueueLength ${rule.activationQueueLength}`;
  if (active) {
    const next: KedaState = { ...state, lastActiveTime: now };
    if (current === 0 || (idle !== undefined && current < min)) {
      const to = min > 0 ? min : 1;
      return { state: next, decision: { replicas: to, reason: "KEDAScaleTargetActivated", message: `${cmp}: scaled from ${current} to ${to}` }, note: "activated" };
    }
    return { state: next, note: `active (${cmp}); the HPA scales 1↔N` };
  }
  const wantsDown = (idle !== undefined && current > idle) || (current > 0 && min === 0);
  if (wantsDown) {
    const cooled = state.lastActiveTime !== undefined ? state.lastActiveTime + rule.cooldownPeriodSeconds < now : state.createdAt + rule.initialCooldownPeriodSeconds < now;
    const to = idle ?? min;
    if (cooled) {
      const since =
        state.lastActiveTime !== undefined
          ? `inactive since ${round(now - state.lastActiveTime)} s > cooldownPeriod ${rule.cooldownPeriodSeconds} s`
          : `never active; initialCooldownPeriod ${rule.initialCooldownPeriodSeconds} s passed`;
      return { state, decision: { replicas: to, reason: "KEDAScaleTargetDeactivated", message: `${cmp}, ${since}: scaled from ${current} to ${to}` }, note: "deactivated" };
    }
    return { state, note: `cooling down (${cmp}; last active ${round(now - (state.lastActiveTime ?? state.createdAt))} s ago, cooldownPeriod ${rule.cooldownPeriodSeconds} s)` };
  }
  if (idle === undefined && current < min) {
    return { state, decision: { replicas: min, reason: "KEDAScaleTargetMin", message: `replicas ${current} < minReplicaCount ${min}` }, note: "min" };
  }
  return { state, note: `inactive (${cmp})` };
}

const round = (n: number) => Math.round(n * 10) / 10;

import type { HttpScalingSpec } from "../blueprints/types.js";
import { UserError } from "../errors.js";

/**
 * Refuses a bad HTTP scale rule, one field at a time, naming the app and the field (before anything runs).
 * KEDA's HTTP add-on allows `min` 0 (scale to zero) and needs `max` ≥ 1 and ≥ `min`.
 */
export function checkHttpScaling(app: string, s: HttpScalingSpec): void {
  const where = `app ${app}: httpScaling`;
  const int = (v: unknown, name: string, min: number, max: number) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new UserError(`${where}.${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v) ?? "nothing"}`, "fix the blueprint's httpScaling");
    }
  };
  int(s.minReplicas, "minReplicas", 0, 1000);
  int(s.maxReplicas, "maxReplicas", 1, 1000);
  if (s.maxReplicas < s.minReplicas)
    throw new UserError(`${where}.maxReplicas (${s.maxReplicas}) is below minReplicas (${s.minReplicas})`, "raise maxReplicas or lower minReplicas");
  int(s.targetPendingRequests, "targetPendingRequests", 1, 1_000_000);
  const p = s.scaledownPeriodSeconds;
  if (typeof p !== "number" || !Number.isFinite(p) || p < 0 || p > 86_400) {
    throw new UserError(`${where}.scaledownPeriodSeconds must be a number of seconds from 0 to 86400, got ${JSON.stringify(p) ?? "nothing"}`, "fix the blueprint's httpScaling");
  }
}

/** What the rule remembers between ticks. Times in cluster seconds. */
export interface HttpScalingState {
  /** The replicas last seen, and since when (a change from outside, e.g. `scale`, restarts the wait). */
  replicas: number;
  since: number;
  /** Recent recommendations, newest last, within the scale-down period. */
  recent: { at: number; want: number }[];
}

export interface HttpScalingInput {
  /** Cluster seconds. */
  now: number;
  /** Requests pending at the gateway right now: in flight to the app, or held waiting for a replica. */
  pending: number;
  /** Requests that arrived since the previous tick (short requests between two ticks still count as traffic). */
  arrived: number;
  /** The Deployment's replicas now. */
  replicas: number;
}

export interface HttpScalingDecision {
  replicas: number;
  state: HttpScalingState;
  /** Why, when `replicas` differs from the input's. */
  reason: string;
}

export function initialHttpScalingState(replicas: number, now: number): HttpScalingState {
  return { replicas, since: now, recent: [] };
}

/**
 * The rule, pure: replicas follow the pending requests (one per `targetPendingRequests`, at least one
 * while there is any traffic), within [min, max]. Up at once; down only to the highest recommendation of
 * the last `scaledownPeriodSeconds`, and not before the replicas have stood that long — so after that long
 * without a request, to `minReplicas` (zero). Bringing an app back from zero on its first request is the
 * gateway's (it asks for a replica and holds the request); this rule then keeps it while traffic lasts.
 */
export function httpScalingDecision(spec: HttpScalingSpec, prev: HttpScalingState, i: HttpScalingInput): HttpScalingDecision {
  const active = i.pending > 0 || i.arrived > 0;
  const raw = active ? Math.max(1, Math.ceil(i.pending / spec.targetPendingRequests)) : 0;
  const want = Math.min(spec.maxReplicas, Math.max(spec.minReplicas, raw));
  const horizon = i.now - spec.scaledownPeriodSeconds;
  const recent = [...prev.recent.filter((r) => r.at > horizon), { at: i.now, want }];
  const since = i.replicas === prev.replicas ? prev.since : i.now;
  const pendingWhy = `${i.pending} request(s) pending, ${i.arrived} arrived since the last check (target ${spec.targetPendingRequests} per replica)`;
  let replicas = i.replicas;
  let reason = "";
  if (want > i.replicas || i.replicas > spec.maxReplicas) {
    replicas = want;
    reason = want > i.replicas ? `http scaling: ${pendingWhy}` : `http scaling: above maxReplicas ${spec.maxReplicas}`;
  } else if (want < i.replicas && i.now - since >= spec.scaledownPeriodSeconds) {
    const floor = Math.max(...recent.map((r) => r.want));
    if (floor < i.replicas) {
      replicas = floor;
      reason =
        floor === 0
          ? `http scaling: no request for ${spec.scaledownPeriodSeconds} s (scaledownPeriod): scale to zero`
          : `http scaling: at most ${floor} replica(s) wanted over the last ${spec.scaledownPeriodSeconds} s (${pendingWhy})`;
    }
  }
  return { replicas, reason, state: { replicas, since: replicas === i.replicas ? since : i.now, recent } };
}

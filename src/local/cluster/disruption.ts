import type { Pod } from "./pod.js";

/** A PodDisruptionBudget: at most `maxUnavailable`, or at least `minAvailable`, of the selected pods. */
export interface DisruptionBudget {
  maxUnavailable?: number | string;
  minAvailable?: number | string;
}

function resolve(v: number | string, total: number, roundUp: boolean): number {
  if (typeof v === "number") return v;
  const pct = /^(\d+)%$/.exec(v.trim());
  if (!pct) return Number(v) || 0;
  const x = (Number(pct[1]) / 100) * total;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/**
 * Voluntary disruptions the budget allows now (the disruption controller's `disruptionsAllowed`):
 * healthy pods minus the pods that must stay healthy. Percentages of maxUnavailable and minAvailable
 * round up, as Kubernetes rounds them.
 */
export function disruptionsAllowed(budget: DisruptionBudget, desired: number, pods: Pod[]): number {
  const healthy = pods.filter((p) => p.phase === "Running" && p.ready).length;
  const expected = Math.max(desired, pods.filter((p) => p.active).length);
  let mustStay: number;
  if (budget.minAvailable !== undefined) mustStay = resolve(budget.minAvailable, expected, true);
  else if (budget.maxUnavailable !== undefined) mustStay = expected - resolve(budget.maxUnavailable, expected, true);
  else mustStay = 0;
  return Math.max(0, healthy - mustStay);
}

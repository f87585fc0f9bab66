import type { Resources } from "./quantity.js";
import { fits, type Room } from "./packing.js";

/**
 * kube-scheduler's decision for one pod, as a pure function: filter the nodes (taints, cordon, room,
 * hard topology spread), score the rest (soft topology spread, then LeastAllocated), and when nothing
 * fits say why in the scheduler's own words: `0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had
 * untolerated taint {CriticalAddonsOnly: true}.`
 */

export interface SchedTaint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface SchedToleration {
  key?: string;
  operator?: "Equal" | "Exists";
  value?: string;
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  tolerationSeconds?: number;
}

export interface SchedSpread {
  topologyKey: string;
  maxSkew: number;
  whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway";
}

export interface SchedNode {
  name: string;
  labels: Record<string, string>;
  taints: SchedTaint[];
  unschedulable: boolean;
  room: Room;
  capacity: Room;
  /** Label sets of the pods bound to it (topology spread counts those matching the pod's selector). */
  podLabels: Record<string, string>[];
}

export interface SchedPod {
  requests: Resources;
  tolerations: SchedToleration[];
  labels: Record<string, string>;
  /** The labels that select the pod's siblings (its Deployment's selector). */
  selector: Record<string, string>;
  topologySpread?: SchedSpread[];
}

export type SchedResult = { node: string; reason?: undefined } | { node?: undefined; reason: string };

/** Whether one toleration tolerates one taint (Kubernetes' ToleratesTaint). */
export function toleratesTaint(tol: SchedToleration, t: SchedTaint): boolean {
  if (tol.effect && tol.effect !== t.effect) return false;
  if (tol.operator === "Exists") return !tol.key || tol.key === t.key;
  return tol.key === t.key && (tol.value ?? "") === (t.value ?? "");
}

/** Whether the tolerations allow scheduling onto a node with these taints (NoSchedule and NoExecute block). */
export function tolerates(tolerations: SchedToleration[], taints: SchedTaint[]): boolean {
  return taints.every((t) => t.effect === "PreferNoSchedule" || tolerations.some((tol) => toleratesTaint(tol, t)));
}

function matches(labels: Record<string, string>, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Matching pods per topology domain, over the nodes that have the key (and that the pod could use). */
function domainCounts(pod: SchedPod, nodes: SchedNode[], key: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of nodes) {
    const domain = n.labels[key];
    if (domain === undefined) continue;
    counts.set(domain, (counts.get(domain) ?? 0) + n.podLabels.filter((l) => matches(l, pod.selector)).length);
  }
  return counts;
}

function taintText(t: SchedTaint): string {
  return `{${t.key}: ${t.value ?? ""}}`;
}

/** Places one pod, or says why it cannot be placed. */
export function schedulePod(pod: SchedPod, nodes: SchedNode[]): SchedResult {
  const reasons = new Map<string, number>();
  const fail = (r: string) => reasons.set(r, (reasons.get(r) ?? 0) + 1);
  // Domains are counted over nodes the pod tolerates (nodeTaintsPolicy: Honor would say otherwise; Ignore is the default).
  const spreads = pod.topologySpread ?? [];
  const counts = new Map(spreads.map((s) => [s.topologyKey, domainCounts(pod, nodes, s.topologyKey)]));
  const feasible: SchedNode[] = [];
  for (const n of nodes) {
    if (n.unschedulable) {
      fail("node(s) were unschedulable");
      continue;
    }
    const untolerated = n.taints.find((t) => t.effect !== "PreferNoSchedule" && !pod.tolerations.some((tol) => toleratesTaint(tol, t)));
    if (untolerated) {
      fail(`node(s) had untolerated taint ${taintText(untolerated)}`);
      continue;
    }
    const short: string[] = [];
    if (pod.requests.cpuMillis > n.room.cpuMillis) short.push("Insufficient cpu");
    if (pod.requests.memoryBytes > n.room.memoryBytes) short.push("Insufficient memory");
    if (n.room.pods < 1) short.push("Too many pods");
    if (short.length > 0 || !fits(pod.requests, n.room)) {
      for (const r of short) fail(r);
      continue;
    }
    const hard = spreads.filter((s) => s.whenUnsatisfiable === "DoNotSchedule");
    const violates = hard.some((s) => {
      const c = counts.get(s.topologyKey)!;
      const domain = n.labels[s.topologyKey];
      if (domain === undefined || c.size === 0) return domain === undefined;
      const min = Math.min(...c.values());
      return (c.get(domain) ?? 0) + 1 - min > s.maxSkew;
    });
    if (violates) {
      fail("node(s) didn't match pod topology spread constraints");
      continue;
    }
    feasible.push(n);
  }
  if (feasible.length === 0) {
    // FitError.Error(): "<count> <reason>" entries in plain string order (Go's sort.Strings).
    const parts = [...reasons.entries()].map(([r, k]) => `${k} ${r}`).sort();
    return { reason: `0/${nodes.length} nodes are available${parts.length ? `: ${parts.join(", ")}` : ""}.` } as SchedResult;
  }
  let best: SchedNode | undefined;
  let bestKey: [number, number] = [Infinity, Infinity];
  for (const n of feasible) {
    // Soft spread first (fewest siblings in the node's domains), then LeastAllocated.
    const spreadScore = spreads.reduce((sum, s) => sum + (counts.get(s.topologyKey)!.get(n.labels[s.topologyKey] ?? "") ?? 0), 0);
    const cpu = (n.capacity.cpuMillis - n.room.cpuMillis + pod.requests.cpuMillis) / n.capacity.cpuMillis;
    const mem = (n.capacity.memoryBytes - n.room.memoryBytes + pod.requests.memoryBytes) / n.capacity.memoryBytes;
    const key: [number, number] = [spreadScore, (cpu + mem) / 2];
    if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
      best = n;
      bestKey = key;
    }
  }
  return { node: best!.name };
}

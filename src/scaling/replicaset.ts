/**
 * The ReplicaSet controller's choice of pods to delete on scale-in, as a pure function
 * (kubernetes/kubernetes pkg/controller/controller_utils.go ActivePodsWithRanks.Less, with the ranks of
 * pkg/controller/replicaset/replica_set.go getPodsRankedByRelatedPodsOnSameNode). Feature gates as on a
 * current cluster: PodDeletionCost and LogarithmicScaleDown on (both beta and on by default since 1.22).
 * The local runtime ranks its pods with it; the simulator ranks its counted pods with it.
 */

export interface RankedPod {
  /** A stable unique id (the API's UID; the tie-break inside a logarithmic bucket). */
  uid: string;
  /** spec.nodeName; undefined = unassigned. */
  node?: string;
  phase: "Pending" | "Unknown" | "Running";
  ready: boolean;
  /** controller.kubernetes.io/pod-deletion-cost when the annotation is set; unset counts as 0. */
  deletionCost?: number;
  /** When the pod last turned Ready (any time unit, the same as `now`). */
  readySince?: number;
  /** The highest container restart count. */
  restarts: number;
  createdAt: number;
}

const PHASE: Record<RankedPod["phase"], number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * base-2 logarithmic rank of a time's age, as logarithmicRankDiff computes it on nanosecond durations.
 * `unitNs`: nanoseconds per unit of the times given (1e6 for milliseconds, 1e9 for seconds).
 */
function logRank(t: number, now: number, unitNs: number): number {
  const d = (now - t) * unitNs;
  return d > 0 ? Math.floor(Math.log2(d)) : -1;
}

/** Deletion order: the first pods are the first to go. `now` and the pods' times share one unit. */
export function scaleInOrder<P extends RankedPod>(pods: P[], now: number, unitNs = 1e6): P[] {
  // getPodsRankedByRelatedPodsOnSameNode: how many of the set's pods share each pod's node.
  const onNode = new Map<string, number>();
  for (const p of pods) onNode.set(p.node ?? "", (onNode.get(p.node ?? "") ?? 0) + 1);
  const rank = (p: RankedPod) => onNode.get(p.node ?? "") ?? 0;
  const less = (a: P, b: P): number => {
    // 1. Unassigned < assigned.
    if (a.node !== b.node && (a.node === undefined || b.node === undefined)) return a.node === undefined ? -1 : 1;
    // 2. Pending < Unknown < Running.
    if (PHASE[a.phase] !== PHASE[b.phase]) return PHASE[a.phase] - PHASE[b.phase];
    // 3. Not ready < ready.
    if (a.ready !== b.ready) return a.ready ? 1 : -1;
    // 4. Lower pod-deletion-cost first (an unset annotation is 0).
    const ca = a.deletionCost ?? 0;
    const cb = b.deletionCost ?? 0;
    if (ca !== cb) return ca - cb;
    // 5. More co-located pods of the set first.
    if (rank(a) !== rank(b)) return rank(b) - rank(a);
    // 6. Both ready: ready for less time first, by logarithmic bucket; same bucket → by UID.
    if (a.ready && b.ready && a.readySince !== b.readySince) {
      if (a.readySince === undefined || b.readySince === undefined) return a.readySince === undefined ? -1 : 1;
      const diff = logRank(a.readySince, now, unitNs) - logRank(b.readySince, now, unitNs);
      return diff === 0 ? cmp(a.uid, b.uid) : diff;
    }
    // 7. More restarts first.
    if (a.restarts !== b.restarts) return b.restarts - a.restarts;
    // 8. Newer first, by logarithmic bucket; same bucket → by UID.
    if (a.createdAt !== b.createdAt) {
      const diff = logRank(a.createdAt, now, unitNs) - logRank(b.createdAt, now, unitNs);
      return diff === 0 ? cmp(a.uid, b.uid) : diff;
    }
    return 0;
  };
  return [...pods].sort(less);
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

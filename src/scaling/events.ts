import type { Disruption } from "./karpenter.js";

/**
 * Cluster events, as `kubectl get events` shows them: every decision says why, with the numbers. The
 * local runtime and the simulator record the same type with the same reason names for the same
 * decisions, so a run and its simulation can be read (and compared) line by line. No I/O here.
 */
export interface ClusterEvent {
  /** Milliseconds: since the epoch in the runtime, since the start of the run in the simulator. */
  time: number;
  type: "Normal" | "Warning";
  /** kind/name, e.g. "pod/aqs-app-3", "node/local-d2-1", "scaledobject/aws2az-queue-scaleobj". */
  object: string;
  reason: string;
  message: string;
  /** The cluster it happened in (a runtime may run several; the simulator runs one). */
  cluster?: string;
}

/**
 * Reasons of the decisions both the runtime and the simulator make, spelled as the runtime records them
 * (and, where one exists, as Kubernetes or Karpenter does). A replica decision's reason comes from the
 * policy itself (KEDAScaleTargetActivated, HPAScaleUp, PredictiveScaleUp, … in keda.ts, hpa.ts, policy.ts).
 */
export const REASONS = {
  /** Karpenter launched a node for pods nothing else holds (object node/<name>). */
  launched: "Launched",
  /** The node registered and became Ready (object node/<name>). */
  ready: "Ready",
  /** The Deployment's replicas changed (object deployment/<name>), as kube-controller-manager names it. */
  scalingReplicaSet: "ScalingReplicaSet",
  /** Pods fit no instance type within the NodePool's limits (object nodepool/<name>). */
  failedScheduling: "FailedScheduling",
  /** A node's pods are evicted before it goes (object node/<name>). */
  draining: "Draining",
  /** The node is gone (object node/<name>). */
  deleted: "Deleted",
} as const;

/** A validated consolidation decision about to run: DisruptingEmpty or DisruptingUnderutilized. */
export function disruptingReason(reason: Disruption["reason"]): string {
  return `Disrupting${reason}`;
}

/** Keeps the latest events and tells subscribers about new ones. */
export class EventRecorder {
  private readonly buffer: ClusterEvent[] = [];
  private readonly listeners = new Set<(e: ClusterEvent) => void>();

  /** `capacity`: events kept (the oldest are dropped); the simulator keeps all of them with Infinity. */
  constructor(
    private readonly capacity = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  /** `time` defaults to the recorder's clock; the simulator passes its simulated time. */
  record(type: ClusterEvent["type"], object: string, reason: string, message: string, time = this.now(), cluster?: string): ClusterEvent {
    const e: ClusterEvent = { time, type, object, reason, message, ...(cluster ? { cluster } : {}) };
    this.buffer.push(e);
    if (this.buffer.length > this.capacity) this.buffer.splice(0, this.buffer.length - this.capacity);
    for (const l of this.listeners) l(e);
    return e;
  }

  normal(object: string, reason: string, message: string, time?: number): ClusterEvent {
    return this.record("Normal", object, reason, message, time);
  }

  warning(object: string, reason: string, message: string, time?: number): ClusterEvent {
    return this.record("Warning", object, reason, message, time);
  }

  list(since = 0): ClusterEvent[] {
    return this.buffer.filter((e) => e.time >= since);
  }

  subscribe(fn: (e: ClusterEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

export function formatEvent(e: ClusterEvent): string {
  const t = new Date(e.time).toISOString().slice(11, 23);
  return `${t}  ${e.type.padEnd(7)}  ${e.object.padEnd(34)}  ${e.reason.padEnd(22)}  ${e.message}`;
}

import type { InstanceType } from "../../scaling/catalog.js";

export type NodePhase = "Provisioning" | "Ready" | "Draining" | "NotReady" | "Deleted";

/** A virtual node: a capacity with a lifecycle. Pods are bound to it by name. */
export class VirtualNode {
  phase: NodePhase = "Provisioning";
  readonly createdAt: number;
  readyAt?: number;
  deletedAt?: number;
  /** Set when the node is cordoned (no new pods), e.g. while Karpenter drains it. */
  unschedulable = false;
  /** When the node last had no pods of workloads (for consolidateAfter). */
  emptySince?: number;

  constructor(
    readonly name: string,
    readonly type: InstanceType,
    /** NodePool that launched it; undefined for the static initial node. */
    readonly nodePool: string | undefined,
    now: number,
  ) {
    this.createdAt = now;
  }

  get schedulable(): boolean {
    return this.phase === "Ready" && !this.unschedulable;
  }

  /** Accumulated seconds this node existed (provisioning counts: it is billed). */
  secondsAlive(now: number): number {
    return ((this.deletedAt ?? now) - this.createdAt) / 1000;
  }
}

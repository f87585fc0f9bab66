import type { InstanceType } from "../../scaling/catalog.js";

export interface Taint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export type NodePhase = "Provisioning" | "Ready" | "Draining" | "NotReady" | "Deleted";

/** A virtual node: a capacity with a lifecycle. Pods are bound to it by name. */
export class VirtualNode {
  phase: NodePhase = "Provisioning";
  readonly createdAt: number;
  readyAt?: number;
  deletedAt?: number;
  /** Set when the node is cordoned (no new pods), e.g. while Karpenter drains it. */
  unschedulable = false;
  /** Last pod bind or removal, ms (Karpenter's consolidateAfter counts from here). */
  lastPodEventAt: number;
  /** Set on a node being disrupted or replaced. */
  readonly taints: Taint[];

  constructor(
    readonly name: string,
    readonly type: InstanceType,
    /** NodePool that launched it; undefined for the static initial node. */
    readonly nodePool: string | undefined,
    now: number,
    taints: Taint[] = [],
  ) {
    this.createdAt = now;
    this.lastPodEventAt = now;
    this.taints = taints;
  }

  get schedulable(): boolean {
    return this.phase === "Ready" && !this.unschedulable;
  }

  /** Accumulated seconds this node existed (provisioning counts: it is billed). */
  secondsAlive(now: number): number {
    return ((this.deletedAt ?? now) - this.createdAt) / 1000;
  }
}

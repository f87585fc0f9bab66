import type { InstanceType } from "../../scaling/catalog.js";

export interface Taint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  /** When a NoExecute taint was added (the taint manager counts tolerationSeconds from here). */
  addedAt?: number;
}

/**
 * Provisioning → Ready ⇄ NotReady (VM off, once the node controller notices) → Draining → Deleted.
 * `NotReady` here is Kubernetes' Ready=Unknown: the kubelet stopped posting status.
 */
export type NodePhase = "Provisioning" | "Ready" | "Draining" | "NotReady" | "Deleted";

/** Where a node came from: a static AKS agent pool, or a Karpenter NodePool. */
export type NodeOrigin = { kind: "agentPool"; pool: string; mode: "System" | "User" } | { kind: "nodePool"; pool: string };

/** A virtual node: a VM's capacity with a lifecycle, labels and taints. Pods are bound to it by name. */
export class VirtualNode {
  phase: NodePhase = "Provisioning";
  readonly createdAt: number;
  readyAt?: number;
  /** When a Provisioning node is expected Ready (launch + its startup time). */
  expectedReadyAt?: number;
  /** Why it was launched (the Launched event's reason). */
  launchReason?: string;
  deletedAt?: number;
  /** Cordoned (no new pods): by `node drain`, or while Karpenter disrupts it. */
  unschedulable = false;
  /** The VM is running (false after `node stop`): the kubelet posts no status and pods freeze. */
  powered = true;
  /** Last status the kubelet posted (the node controller's grace period counts from here). */
  lastHeartbeat: number;
  /** Last pod bind or removal, ms (Karpenter's consolidateAfter counts from here). */
  lastPodEventAt: number;
  readonly taints: Taint[];
  /** Apps whose image is on the node, and when its pull finishes (clock ms). */
  readonly images = new Map<string, number>();
  readonly labels: Record<string, string>;

  constructor(
    readonly name: string,
    readonly type: InstanceType,
    readonly origin: NodeOrigin,
    readonly cluster: string,
    now: number,
    taints: Taint[] = [],
    labels: Record<string, string> = {},
  ) {
    this.createdAt = now;
    this.lastPodEventAt = now;
    this.lastHeartbeat = now;
    this.taints = taints.map((t) => ({ ...t }));
    this.labels = {
      "kubernetes.io/hostname": name,
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
      "node.kubernetes.io/instance-type": type.name,
      ...(origin.kind === "agentPool" ? { agentpool: origin.pool, "kubernetes.azure.com/mode": origin.mode.toLowerCase() } : { "karpenter.sh/nodepool": origin.pool }),
      ...labels,
    };
  }

  /** The Karpenter NodePool that launched it; undefined for nodes of static agent pools. */
  get nodePool(): string | undefined {
    return this.origin.kind === "nodePool" ? this.origin.pool : undefined;
  }

  /** The pool it belongs to, of either kind. */
  get pool(): string {
    return this.origin.pool;
  }

  get zone(): string | undefined {
    return this.labels["topology.kubernetes.io/zone"];
  }

  get schedulable(): boolean {
    return this.phase === "Ready" && !this.unschedulable && !this.taints.some((t) => t.key === "node.kubernetes.io/unreachable");
  }

  /** Accumulated seconds this node existed (provisioning counts: it is billed). */
  secondsAlive(now: number): number {
    return ((this.deletedAt ?? now) - this.createdAt) / 1000;
  }
}

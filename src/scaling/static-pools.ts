import type { AgentPoolSpec, ClusterSpec } from "../blueprints/types.js";
import { nodeTypesFor, type InstanceType } from "./catalog.js";
import type { SchedTaint } from "./scheduling.js";

/**
 * A cluster's starting nodes: `count` VMs of each static agent pool, as AKS creates them. The local runtime
 * adds them to its cluster and `simulate` starts from them, so both begin from the same node shapes,
 * taints and labels. No autoscaler removes them: Karpenter only disrupts the nodes it launched.
 */

/** The node label that carries the node's Kubernetes version (a cluster's nodes all run its version). */
export const KUBERNETES_VERSION_LABEL = "akspilot.dev/kubernetes-version";

export interface StaticNode {
  pool: string;
  mode: AgentPoolSpec["mode"];
  /** Its place in the pool (0-based). */
  index: number;
  type: InstanceType;
  taints: SchedTaint[];
  /** The pool's labels, the cluster's version and the node's zone (the node adds its own well-known ones). */
  labels: Record<string, string>;
  /** Why it exists (its Launched event says so). */
  reason: string;
}

/** AKS labels nodes of non-zonal pools with zone "0"; zonal pools spread their VMs over the zones. */
export function zoneOf(zones: string[] | undefined, i: number): string {
  return zones?.length ? `local-${zones[i % zones.length]}` : "0";
}

/** A static pool's node size, with the allocatable the cluster's DaemonSets leave. */
export function agentPoolType(cluster: Pick<ClusterSpec, "addOns">, pool: AgentPoolSpec): InstanceType {
  return nodeTypesFor(cluster.addOns).typeFor(pool.vmSize);
}

/** Every static node of the cluster, pool by pool, in the order AKS numbers them. */
export function staticPoolNodes(cluster: Pick<ClusterSpec, "agentPools" | "addOns" | "kubernetesVersion">): StaticNode[] {
  const version: Record<string, string> = cluster.kubernetesVersion ? { [KUBERNETES_VERSION_LABEL]: cluster.kubernetesVersion } : {};
  return cluster.agentPools.flatMap((pool) => {
    const type = agentPoolType(cluster, pool);
    return Array.from({ length: pool.count }, (_, index) => ({
      pool: pool.name,
      mode: pool.mode,
      index,
      type,
      taints: (pool.taints ?? []).map((t) => ({ ...t })),
      labels: { ...pool.labels, ...version, "topology.kubernetes.io/zone": zoneOf(pool.zones, index) },
      reason: `${pool.mode.toLowerCase()} agent pool ${pool.name} (${pool.count} × ${pool.vmSize})`,
    }));
  });
}

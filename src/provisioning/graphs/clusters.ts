import type { AgentPoolSpec, Blueprint, ClusterSpec, NodeTaint } from "../../blueprints/types.js";
import type { AgentPool, GraphContext, Value } from "../types.js";

/**
 * A blueprint's cluster as the graphs provision it: the agent pools and Kubernetes version come from
 * the blueprint (src/blueprints), the same data the local runtime and the manifests read.
 */

/** The blueprint's cluster named `name`, or its only cluster. A blueprint without it is a programming error. */
export function clusterSpec(bp: Blueprint, name?: string): ClusterSpec {
  const found = name === undefined ? (bp.clusters.length === 1 ? bp.clusters[0] : undefined) : bp.clusters.find((c) => c.name === name);
  if (!found) {
    throw new Error(
      `blueprint ${bp.name}: ${name === undefined ? `expected one cluster, has ${bp.clusters.length}` : `no cluster "${name}"`} (clusters: ${bp.clusters.map((c) => c.name).join(", ")})`,
    );
  }
  return found;
}

/** `--node-taints` spelling: key=value:Effect (key:Effect without a value). */
export function taintArg(t: NodeTaint): string {
  return `${t.key}${t.value === undefined ? "" : `=${t.value}`}:${t.effect}`;
}

function pool(p: AgentPoolSpec, subnetId: Value | undefined): AgentPool {
  return {
    name: p.name,
    mode: p.mode,
    count: p.count,
    vmSize: p.vmSize,
    taints: (p.taints ?? []).map(taintArg),
    ...(p.labels && Object.keys(p.labels).length > 0 ? { labels: { ...p.labels } } : {}),
    ...(p.zones ? { zones: [...p.zones] } : {}),
    ...(subnetId !== undefined ? { subnetId } : {}),
  };
}

/** The cluster's agent pools; with Azure CNI in a custom VNet, every pool sits in `subnetId`. */
export function agentPools(c: ClusterSpec, subnetId?: Value): AgentPool[] {
  return c.agentPools.map((p) => pool(p, subnetId));
}

/**
 * The oldest minor version the graphs ask Azure for. The seeds ran 1.18–1.20 years ago; AKS no longer
 * creates clusters on those, so a seed version below this is a label for the local runtime only.
 */
const OLDEST_PROVISIONED_MINOR = 30;

/** `--kubernetes-version` wins; else the blueprint's version if AKS can still create it; else (undefined) the region's default. */
export function kubernetesVersion(ctx: GraphContext, c: ClusterSpec): string | undefined {
  if (ctx.kubernetesVersion) return ctx.kubernetesVersion;
  const minor = Number(/^1\.(\d+)/.exec(c.kubernetesVersion ?? "")?.[1] ?? NaN);
  return Number.isFinite(minor) && minor >= OLDEST_PROVISIONED_MINOR ? c.kubernetesVersion : undefined;
}

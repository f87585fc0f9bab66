import YAML from "yaml";
import { seedNodePool, seedScaledObject } from "../blueprints/edw.js";
import { readUserFile } from "../util/user-file.js";
import { clip } from "../util/text.js";
import { nodeTypesFor } from "../scaling/catalog.js";
import type { SchedToleration } from "../scaling/scheduling.js";
import type { ClusterSpec } from "../blueprints/types.js";
import { parseNodePoolYaml, type PoolSettings } from "../scaling/karpenter.js";
import { parseScaledObjectYaml, type ScalingRule } from "../scaling/scaledobject.js";
import { parseTraceCsv, type Trace } from "./trace.js";
import { ruleForKubernetesVersion } from "../scaling/compat.js";
import { getBlueprint } from "../blueprints/index.js";

export interface SimInputFiles {
  /** ScaledObject YAML file; the seed's when absent. */
  scaledObject?: string;
  /** NodePool YAML file; the seed's when absent. */
  nodePool?: string;
  trace: string;
  /** The cluster version the ScaledObject's HPA would run on (default: the seed blueprint's cluster). */
  kubernetesVersion?: string;
}

export interface SimInputs {
  rule: ScalingRule;
  pool: PoolSettings;
  trace: Trace;
  /** The seed blueprint's cluster: its static agent pools and add-ons, as `up edw` runs it. */
  cluster: Pick<ClusterSpec, "agentPools" | "addOns" | "kubernetesVersion">;
  /** The tolerations of the seed's app the ScaledObject targets (none if it targets another). */
  podTolerations: SchedToleration[];
  warnings: string[];
}

/** Reads and validates the simulator's inputs. The seed's objects go through the same YAML path as a user's. */
export function loadSimInputs(f: SimInputFiles): SimInputs {
  const soText = f.scaledObject ? readUserFile(f.scaledObject, "ScaledObject") : YAML.stringify(seedScaledObject());
  const npText = f.nodePool ? readUserFile(f.nodePool, "NodePool") : YAML.stringify(seedNodePool());
  const { rule: parsed } = parseScaledObjectYaml(soText, f.scaledObject ? clip(f.scaledObject) : "the seed's ScaledObject");
  const cluster = seedSimCluster();
  // Karpenter picks among sizes whose allocatable the cluster's DaemonSets leave, as `up` does.
  const { settings } = parseNodePoolYaml(npText, f.nodePool ? clip(f.nodePool) : "the seed's NodePool", nodeTypesFor(cluster.addOns).catalog);
  const trace = parseTraceCsv(readUserFile(f.trace, "trace"), clip(f.trace));
  // Settings the target cluster's API would drop are dropped here too, with a warning that says so.
  const { rule, warnings } = ruleForKubernetesVersion(parsed, f.kubernetesVersion ?? seedKubernetesVersion());
  return { rule, pool: settings, trace, cluster, podTolerations: seedPodTolerations(rule.target), warnings };
}

/** The seed blueprint's cluster as the simulator takes it: its static agent pools, add-ons and version (what `up edw` runs). */
export function seedSimCluster(): SimInputs["cluster"] {
  const spec = getBlueprint("edw").clusters[0]!;
  return { agentPools: spec.agentPools, addOns: spec.addOns, kubernetesVersion: spec.kubernetesVersion };
}

/** The tolerations of the seed's app named `target` (none if the seed has no such app). */
export function seedPodTolerations(target: string): SchedToleration[] {
  return getBlueprint("edw").apps.find((a) => a.name === target)?.tolerations ?? [];
}

/** The seed blueprint's cluster version (the cluster `up edw` previews). */
export function seedKubernetesVersion(): string | undefined {
  return getBlueprint("edw").clusters[0]?.kubernetesVersion;
}

import YAML from "yaml";
import { seedNodePool, seedScaledObject } from "../blueprints/edw.js";
import { readUserFile } from "../util/user-file.js";
import { clip } from "../util/text.js";
import { DEFAULT_CATALOG } from "../scaling/catalog.js";
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

/** Reads and validates the simulator's inputs. The seed's objects go through the same YAML path as a user's. */
export function loadSimInputs(f: SimInputFiles): { rule: ScalingRule; pool: PoolSettings; trace: Trace; warnings: string[] } {
  const soText = f.scaledObject ? readUserFile(f.scaledObject, "ScaledObject") : YAML.stringify(seedScaledObject());
  const npText = f.nodePool ? readUserFile(f.nodePool, "NodePool") : YAML.stringify(seedNodePool());
  const { rule: parsed } = parseScaledObjectYaml(soText, f.scaledObject ? clip(f.scaledObject) : "the seed's ScaledObject");
  const { settings } = parseNodePoolYaml(npText, f.nodePool ? clip(f.nodePool) : "the seed's NodePool", DEFAULT_CATALOG);
  const trace = parseTraceCsv(readUserFile(f.trace, "trace"), clip(f.trace));
  // Settings the target cluster's API would drop are dropped here too, with a warning that says so.
  const { rule, warnings } = ruleForKubernetesVersion(parsed, f.kubernetesVersion ?? seedKubernetesVersion());
  return { rule, pool: settings, trace, warnings };
}

/** The seed blueprint's cluster version (the cluster `up edw` previews). */
export function seedKubernetesVersion(): string | undefined {
  return getBlueprint("edw").clusters[0]?.kubernetesVersion;
}

import { readFileSync } from "node:fs";
import YAML from "yaml";
import { seedNodePool, seedScaledObject } from "../blueprints/edw.js";
import { UserError } from "../errors.js";
import { DEFAULT_CATALOG } from "../scaling/catalog.js";
import { parseNodePoolYaml, type PoolSettings } from "../scaling/karpenter.js";
import { parseScaledObjectYaml, type ScalingRule } from "../scaling/scaledobject.js";
import { parseTraceCsv, type Trace } from "./trace.js";

export interface SimInputFiles {
  /** ScaledObject YAML file; the seed's when absent. */
  scaledObject?: string;
  /** NodePool YAML file; the seed's when absent. */
  nodePool?: string;
  trace: string;
}

function read(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code ?? String(e);
    throw new UserError(`cannot read ${what} ${path}: ${why}`, "check the path");
  }
}

/** Reads and validates the simulator's inputs. The seed's objects go through the same YAML path as a user's. */
export function loadSimInputs(f: SimInputFiles): { rule: ScalingRule; pool: PoolSettings; trace: Trace } {
  const soText = f.scaledObject ? read(f.scaledObject, "ScaledObject") : YAML.stringify(seedScaledObject());
  const npText = f.nodePool ? read(f.nodePool, "NodePool") : YAML.stringify(seedNodePool());
  const { rule } = parseScaledObjectYaml(soText, f.scaledObject ?? "the seed's ScaledObject");
  const { settings } = parseNodePoolYaml(npText, f.nodePool ?? "the seed's NodePool", DEFAULT_CATALOG);
  const trace = parseTraceCsv(read(f.trace, "trace"), f.trace);
  return { rule, pool: settings, trace };
}

import { UserError } from "../../errors.js";
import type { BlueprintGraphDefinition } from "../types.js";
import { edwGraph } from "./edw.js";
import { airflowInfraGraph } from "./airflow-infra.js";
import { resilientWebGraph } from "./resilient-web.js";
import { bluegreenGraph } from "./bluegreen.js";

const GRAPHS: Record<string, BlueprintGraphDefinition> = {
  edw: edwGraph,
  "airflow-infra": airflowInfraGraph,
  "resilient-web": resilientWebGraph,
  bluegreen: bluegreenGraph,
};

export function graphNames(): string[] {
  return Object.keys(GRAPHS).sort();
}

export function getGraphDefinition(blueprint: string): BlueprintGraphDefinition {
  const def = GRAPHS[blueprint];
  if (!def) throw new UserError(`no Azure resources are defined for blueprint "${blueprint}"`, `choose one of: ${graphNames().join(", ")}`);
  return def;
}

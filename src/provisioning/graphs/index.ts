import { getBlueprint, type BlueprintName } from "../../blueprints/index.js";
import type { Blueprint } from "../../blueprints/types.js";
import { UserError } from "../../errors.js";
import type { BlueprintGraphDefinition, GraphContext, ResourceGraph } from "../types.js";
import { edwGraph } from "./edw.js";
import { airflowInfraGraph } from "./airflow-infra.js";
import { resilientWebGraph } from "./resilient-web.js";
import { bluegreenGraph } from "./bluegreen.js";

/**
 * The Azure resources of every blueprint, keyed by the blueprint registry's names: a blueprint added
 * there without a graph here does not compile. What a graph provisions for its clusters and workloads
 * comes from the blueprint itself.
 */
const GRAPHS: Record<BlueprintName, BlueprintGraphDefinition> = {
  edw: edwGraph,
  airflow: airflowInfraGraph,
  "resilient-web": resilientWebGraph,
  bluegreen: bluegreenGraph,
};

/** Provisioning names (state files, `akspilot deploy <name>`). */
export function graphNames(): string[] {
  return Object.values(GRAPHS)
    .map((g) => g.name)
    .sort();
}

/** By provisioning name (`airflow-infra`) or blueprint name (`airflow`). */
export function getGraphDefinition(name: string): BlueprintGraphDefinition {
  const def = Object.values(GRAPHS).find((g) => g.name === name) ?? Object.values(GRAPHS).find((g) => g.blueprint === name);
  if (!def) throw new UserError(`no Azure resources are defined for blueprint "${name}"`, `choose one of: ${graphNames().join(", ")}`);
  return def;
}

/** The graph of `def` from its blueprint (a changed copy of the blueprint may be passed instead). */
export function buildGraph(def: BlueprintGraphDefinition, ctx: GraphContext, bp: Blueprint = getBlueprint(def.blueprint)): ResourceGraph {
  return def.build(ctx, bp);
}

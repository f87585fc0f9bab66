import { UserError } from "../errors.js";
import { clip } from "../util/text.js";
import type { Blueprint } from "./types.js";
import { edwBlueprint } from "./edw.js";
import { resilientWebBlueprint } from "./resilient-web.js";
import { blueGreenBlueprint } from "./bluegreen.js";
import { airflowBlueprint } from "./airflow.js";

export type { Blueprint } from "./types.js";

/**
 * Every blueprint akspilot knows, by name: the one list. Each factory returns a fresh copy (callers may
 * mutate). Targets that need something per blueprint key it by BlueprintName, so a blueprint added here
 * without it does not compile.
 */
const registry = {
  edw: edwBlueprint,
  "resilient-web": resilientWebBlueprint,
  bluegreen: blueGreenBlueprint,
  airflow: airflowBlueprint,
} satisfies Record<string, () => Blueprint>;

export type BlueprintName = keyof typeof registry;

export function isBlueprintName(name: string): name is BlueprintName {
  return Object.hasOwn(registry, name);
}

export function blueprintNames(): BlueprintName[] {
  return (Object.keys(registry) as BlueprintName[]).sort();
}

export function getBlueprint(name: string): Blueprint {
  const factory = isBlueprintName(name) ? registry[name] : undefined;
  if (!factory) {
    throw new UserError(`unknown blueprint "${clip(name)}"`, `choose one of: ${blueprintNames().join(", ")}`);
  }
  return factory();
}

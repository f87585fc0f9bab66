import { UserError } from "../errors.js";
import { clip } from "../util/text.js";
import type { Blueprint } from "./types.js";
import { edwBlueprint } from "./edw.js";
import { resilientWebBlueprint } from "./resilient-web.js";
import { blueGreenBlueprint } from "./bluegreen.js";
import { airflowBlueprint } from "./airflow.js";

export type { Blueprint } from "./types.js";

/** Every blueprint akspilot knows, by name. Each factory returns a fresh copy (callers may mutate). */
const registry: Record<string, () => Blueprint> = {
  edw: edwBlueprint,
  "resilient-web": resilientWebBlueprint,
  bluegreen: blueGreenBlueprint,
  airflow: airflowBlueprint,
};

export function blueprintNames(): string[] {
  return Object.keys(registry).sort();
}

export function getBlueprint(name: string): Blueprint {
  const factory = registry[name];
  if (!factory) {
    throw new UserError(`unknown blueprint "${clip(name)}"`, `choose one of: ${blueprintNames().join(", ")}`);
  }
  return factory();
}

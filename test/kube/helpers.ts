import { resolve } from "node:path";
import { getBlueprint } from "../../src/blueprints/index.js";
import { resolveConfig } from "../../src/kube/config.js";
import { renderBlueprint, type Rendered } from "../../src/kube/render.js";
import { loadValuesFile, type KubeValues } from "../../src/kube/values.js";
import type { CloudName } from "../../src/kube/cloud.js";

/** Non-TypeScript test files are read from the source tree (tsc does not copy them to dist/). */
export function sourcePath(...parts: string[]): string {
  return resolve(process.cwd(), "test", "kube", ...parts);
}

export function fixtureValues(): KubeValues {
  return loadValuesFile(sourcePath("fixtures", "values.yaml"));
}

export function render(name: string, values: KubeValues = fixtureValues(), cloud?: CloudName, cluster?: string): Rendered {
  return renderBlueprint(getBlueprint(name), resolveConfig(values, cloud), cluster ? { cluster } : {});
}

export const ALL_BLUEPRINTS = ["edw", "resilient-web", "bluegreen", "airflow"];

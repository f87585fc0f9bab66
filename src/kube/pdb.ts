import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import type { AppSpec } from "../blueprints/types.js";
import { labelsFor, type BuildContext } from "./context.js";
import { selectorOf } from "./deployment.js";

export function disruptionBudgetFor(ctx: BuildContext, app: AppSpec, budget: NonNullable<AppSpec["disruptionBudget"]>): PodDisruptionBudget {
  return new PodDisruptionBudget({
    metadata: { name: `${app.name}-pdb`, namespace: ctx.bp.namespace, labels: labelsFor(ctx, app.labels, app.name) },
    spec: { ...budget, selector: { matchLabels: selectorOf(app) } },
  });
}

import type { Blueprint } from "../blueprints/types.js";
import type { Settings } from "./config.js";
import { commonLabels } from "./object.js";

/** What each object builder needs: the blueprint, the user's settings, and the labels every object carries. */
export interface BuildContext {
  bp: Blueprint;
  s: Settings;
  /** Cluster the objects are for, when a blueprint spans several (blue-green). */
  cluster?: string;
}

/**
 * Labels of every object: `extra`, then the recommended `app.kubernetes.io/name` (the app, or the blueprint
 * for what its apps share), `part-of` and `managed-by`.
 */
export function labelsFor(ctx: BuildContext, extra: Record<string, string> = {}, name = ctx.bp.name): Record<string, string> {
  return { ...extra, "app.kubernetes.io/name": name, ...commonLabels(ctx.bp.name), ...(ctx.cluster ? { "akspilot.io/cluster": ctx.cluster } : {}) };
}

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

export function labelsFor(ctx: BuildContext, extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, ...commonLabels(ctx.bp.name), ...(ctx.cluster ? { "akspilot.io/cluster": ctx.cluster } : {}) };
}

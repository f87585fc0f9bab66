import { Namespace } from "kubernetes-models/v1";
import { labelsFor, type BuildContext } from "./context.js";

/** The blueprint's namespace, enforcing the `restricted` Pod Security Standard on everything in it. */
export function namespaceFor(ctx: BuildContext, opts: { enforceRestricted: boolean }): Namespace {
  const pss: Record<string, string> = opts.enforceRestricted
    ? { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted" }
    : { "pod-security.kubernetes.io/warn": "restricted" };
  return new Namespace({ metadata: { name: ctx.bp.namespace, labels: labelsFor(ctx, pss) } });
}

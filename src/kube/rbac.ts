import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { labelsFor, type BuildContext } from "./context.js";

/** Lets an app's pods patch pods in their own namespace, nothing else (for the deletion-cost annotation). */
export function podPatcherRbac(ctx: BuildContext, appName: string, serviceAccount: string): [Role, RoleBinding] {
  const name = `${appName}-pod-deletion-cost`;
  const metadata = { name, namespace: ctx.bp.namespace, labels: labelsFor(ctx) };
  const role = new Role({ metadata, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["patch"] }] });
  const binding = new RoleBinding({
    metadata,
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: [{ kind: "ServiceAccount", name: serviceAccount, namespace: ctx.bp.namespace }],
  });
  return [role, binding];
}

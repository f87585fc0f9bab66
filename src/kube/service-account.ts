import { ServiceAccount } from "kubernetes-models/v1";
import { labelsFor, type BuildContext } from "./context.js";

/**
 * A workload-identity ServiceAccount: pods labelled `azure.workload.identity/use: "true"` that run as it
 * get a federated token for this client id instead of any stored secret.
 */
export function workloadIdentityServiceAccount(ctx: BuildContext, name: string, clientId: string): ServiceAccount {
  const annotations: Record<string, string> = { "azure.workload.identity/client-id": clientId };
  const tenant = ctx.s.config.values.tenantId;
  if (tenant) annotations["azure.workload.identity/tenant-id"] = tenant;
  return new ServiceAccount({
    metadata: { name, namespace: ctx.bp.namespace, labels: labelsFor(ctx), annotations },
    // The workload-identity webhook mounts its own projected token; the API token is opted into per pod.
    automountServiceAccountToken: false,
  });
}

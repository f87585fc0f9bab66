import type { QueueClient } from "@azure/storage-queue";
import type { WorkloadIdentityWiring } from "./workload.js";
import { workloadQueueClient } from "./workload-queue.js";

/** Where KEDA's operator runs on AKS (the add-on): its service account is the subject of the federated credential. */
export const KEDA_NAMESPACE = "kube-system";
export const KEDA_SERVICE_ACCOUNT = "keda-operator";

/**
 * The queue as KEDA's azure-queue scaler reads it with a TriggerAuthentication whose
 * `podIdentity.provider` is `azure-workload` and `identityId` the given client id: the operator's own
 * projected token (`system:serviceaccount:kube-system:keda-operator`) exchanged at the local token service,
 * then the enforcing storage front — so a missing federated credential or role fails the scaler as on AKS.
 */
export function kedaQueueClient(wiring: WorkloadIdentityWiring, clientId: string, account: string, queueName: string): Promise<QueueClient> {
  // One try: the scaler's next poll is its retry, and its error is what the autoscaler reports.
  return workloadQueueClient(wiring, { namespace: KEDA_NAMESPACE, serviceAccount: KEDA_SERVICE_ACCOUNT, clientId }, account, queueName, { maxTries: 1 });
}

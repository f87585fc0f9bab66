import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { newPipeline, QueueClient, type RequestPolicy, type WebResource } from "@azure/storage-queue";
import { WorkloadIdentityCredential } from "@azure/identity";
import { trustingClient } from "./external-secrets.js";
import type { WorkloadIdentityWiring } from "./workload.js";

/** Where KEDA's operator runs on AKS (the add-on): its service account is the subject of the federated credential. */
export const KEDA_NAMESPACE = "kube-system";
export const KEDA_SERVICE_ACCOUNT = "keda-operator";

/**
 * The queue as KEDA's azure-queue scaler reads it with a TriggerAuthentication whose
 * `podIdentity.provider` is `azure-workload` and `identityId` the given client id: the operator's own
 * projected token (`system:serviceaccount:kube-system:keda-operator`) exchanged at the local token service,
 * then the enforcing storage front — so a missing federated credential or role fails the scaler as on AKS.
 */
export async function kedaQueueClient(wiring: WorkloadIdentityWiring, clientId: string, account: string, queueName: string): Promise<QueueClient> {
  const services = wiring.services;
  const env = await services.workloadEnv(wiring.cluster, KEDA_NAMESPACE, KEDA_SERVICE_ACCOUNT, clientId);
  const endpoint = services.storageEndpoint("queue", account);
  if (!endpoint) throw new Error("the storage front is not serving queues");
  const httpClient = trustingClient(env.NODE_EXTRA_CA_CERTS!);
  const credential = new WorkloadIdentityCredential({
    clientId,
    tenantId: env.AZURE_TENANT_ID,
    tokenFilePath: env.AZURE_FEDERATED_TOKEN_FILE,
    authorityHost: env.AZURE_AUTHORITY_HOST,
    disableInstanceDiscovery: true,
    httpClient,
  });
  // The storage SDK's own pipeline, with one policy that makes its requests trust the local CA (the
  // operator's pod would have it as NODE_EXTRA_CA_CERTS).
  const agent = new Agent({ keepAlive: true, ca: readFileSync(env.NODE_EXTRA_CA_CERTS!) });
  const pipeline = newPipeline(credential, { retryOptions: { maxTries: 1 } });
  pipeline.factories.unshift({
    create: (next: RequestPolicy) => ({
      sendRequest: (wr: WebResource) => {
        wr.agent = agent;
        return next.sendRequest(wr);
      },
    }),
  });
  return new QueueClient(`${endpoint}/${queueName}`, pipeline);
}

import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { newPipeline, QueueClient, type RequestPolicy, type WebResource } from "@azure/storage-queue";
import { WorkloadIdentityCredential } from "@azure/identity";
import { trustingClient } from "./external-secrets.js";
import type { WorkloadIdentityWiring } from "./workload.js";

/** A Kubernetes service account whose annotation names a client id (what the webhook reads). */
export interface ServiceAccountIdentity {
  namespace: string;
  serviceAccount: string;
  clientId: string;
}

/**
 * A queue reached as a service account's workload identity by a process of the runtime itself (KEDA's
 * scaler, a load burst asked for as the producer): that service account's projected token, the one its pods
 * read, exchanged at the local token service (so its federated credential must match), then the enforcing
 * storage front (so its role assignment must allow each call). The SDK caches the access token: one exchange
 * per client, not one per request.
 */
export async function workloadQueueClient(
  wiring: WorkloadIdentityWiring,
  who: ServiceAccountIdentity,
  account: string,
  queueName: string,
  o: { maxTries?: number } = {},
): Promise<QueueClient> {
  const services = wiring.services;
  const env = await services.workloadEnv(wiring.cluster, who.namespace, who.serviceAccount, who.clientId);
  const endpoint = services.storageEndpoint("queue", account);
  if (!endpoint) throw new Error("the storage front is not serving queues");
  const httpClient = trustingClient(env.NODE_EXTRA_CA_CERTS!);
  const credential = new WorkloadIdentityCredential({
    clientId: who.clientId,
    tenantId: env.AZURE_TENANT_ID,
    tokenFilePath: env.AZURE_FEDERATED_TOKEN_FILE,
    authorityHost: env.AZURE_AUTHORITY_HOST,
    disableInstanceDiscovery: true,
    httpClient,
  });
  // The storage SDK's own pipeline, with one policy that makes its requests trust the local CA (a pod
  // would have it as NODE_EXTRA_CA_CERTS).
  const agent = new Agent({ keepAlive: true, ca: readFileSync(env.NODE_EXTRA_CA_CERTS!) });
  const pipeline = newPipeline(credential, o.maxTries === undefined ? {} : { retryOptions: { maxTries: o.maxTries } });
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

import type { Blueprint } from "../../blueprints/types.js";
import { ref } from "../refs.js";
import type { BlueprintGraphDefinition, GraphContext, ResourceGraph, ResourceNode } from "../types.js";
import { agentPools, clusterSpec, kubernetesVersion } from "./clusters.js";

/** The KEDA-scaled consumer and the names it works with, as the blueprint declares them. */
function consumerOf(bp: Blueprint): { queue: string; table: string; serviceAccount: string } {
  const target = bp.scaledObject?.spec.scaleTargetRef.name;
  const app = bp.apps.find((a) => a.name === target);
  const queue = app?.env.AZURE_QUEUE_NAME;
  const table = app?.env.AZURE_TABLE_NAME;
  if (!app || !queue || !table || !app.serviceAccountName) {
    throw new Error(`blueprint ${bp.name}: the ScaledObject's target needs AZURE_QUEUE_NAME, AZURE_TABLE_NAME and a service account`);
  }
  return { queue, table, serviceAccount: app.serviceAccountName };
}

/** The producer's service account, as the blueprint declares it. */
function producerAccount(bp: Blueprint): string {
  const sa = bp.apps.find((a) => a.program === "producer")?.serviceAccountName;
  if (!sa) throw new Error(`blueprint ${bp.name}: the producer needs a service account`);
  return sa;
}

/** Seed 000 (deployment/infra/deploy.sh): names and settings as the seed, with its bugs fixed (seeds-spec §1.10). */
export const edwGraph: BlueprintGraphDefinition = {
  name: "edw",
  blueprint: "edw",
  title: "Event-driven workflow: Storage Queue → KEDA-scaled consumer → Storage Table on AKS with node auto-provisioning",
  defaultCloud: "AzurePublicCloud",
  defaultLocation: { AzurePublicCloud: "westus3", AzureChinaCloud: "chinanorth3" },
  build(ctx: GraphContext, bp: Blueprint): ResourceGraph {
    const s = ctx.suffix;
    const { queue, table, serviceAccount } = consumerOf(bp);
    const aks = clusterSpec(bp);
    const local = "aksdemo";
    const tags = { owner: local, "managed-by": "akspilot" };
    const location = ctx.location;
    const rg = ref("resourceGroup");
    const nodes: ResourceNode[] = [
      { id: "resourceGroup", kind: "resourceGroup", name: `rg-${local}-${s}`, location, tags },
      {
        id: "storageAccount",
        kind: "storageAccount",
        name: `stor${local}${s}`,
        resourceGroup: rg,
        location,
        sku: "Standard_LRS",
        // The seed denies by default and allows the deployer's IP; without an IP the account stays open
        // (a deny-all account would lock the producer on the workstation out).
        defaultAction: ctx.clientIp ? "Deny" : "Allow",
        ipRules: ctx.clientIp ? [ctx.clientIp] : [],
        tags,
      },
      { id: "queue", kind: "storageQueue", name: queue, account: ref("storageAccount"), resourceGroup: rg },
      { id: "table", kind: "storageTable", name: table, account: ref("storageAccount"), resourceGroup: rg },
      { id: "registry", kind: "containerRegistry", name: `acr${local}${s}`, resourceGroup: rg, location, sku: "Basic", adminUserEnabled: false, tags },
      { id: "clusterIdentity", kind: "userAssignedIdentity", name: `mi-${local}-${s}`, resourceGroup: rg, location, tags },
      { id: "monitoring", kind: "logAnalyticsWorkspace", name: `log-${local}-${s}`, resourceGroup: rg, location, retentionInDays: 30, tags },
      {
        id: "cluster",
        kind: "managedCluster",
        name: `${aks.name}-${s}`,
        resourceGroup: rg,
        location,
        kubernetesVersion: kubernetesVersion(ctx, aks),
        tier: "Free",
        dnsPrefix: `${aks.name}-${s}`,
        identity: ref("clusterIdentity", "id"),
        // The blueprint's pools: a tainted system pool (application pods land on auto-provisioned nodes,
        // seed step 13) and the static pool the consumer's toleration deployment=aqs-app-pool:NoSchedule matches.
        pools: agentPools(aks),
        network: { plugin: "azure", pluginMode: "overlay", dataplane: "cilium" },
        oidcIssuer: true,
        workloadIdentity: true,
        // The add-ons the blueprint's objects need: KEDA for its ScaledObject, NAP (Karpenter) for its NodePools.
        keda: bp.scaledObject !== undefined,
        nodeAutoProvisioning: (aks.nodePools?.length ?? 0) > 0,
        blobCsiDriver: false,
        monitoring: ref("monitoring", "id"),
        tags,
      },
      {
        // `--attach-acr`: images are pulled by the kubelet identity, so that is the one that needs AcrPull
        // (the seed granted it to the control-plane identity, which never pulls).
        id: "acrPull",
        kind: "roleAssignment",
        name: "AcrPull@registry (kubelet)",
        scope: ref("registry", "id"),
        role: "AcrPull",
        principalId: ref("cluster", "kubeletObjectId"),
        principalType: "ServicePrincipal",
      },
      // Only with a deny-by-default account: the pods then need the subnet rule the seed adds last.
      ...(ctx.clientIp
        ? [
            {
              id: "storageSubnetRule",
              kind: "storageSubnetRule" as const,
              name: "aks-node-subnet",
              account: ref("storageAccount"),
              resourceGroup: rg,
              nodeResourceGroup: ref("cluster", "nodeResourceGroup"),
            },
          ]
        : []),
      { id: "workloadIdentity", kind: "userAssignedIdentity", name: `mi-aks-workload-identity-${s}`, resourceGroup: rg, location, tags },
      {
        id: "workloadFederation",
        kind: "federatedCredential",
        name: `federated-credential-${s}`,
        identity: ref("workloadIdentity"),
        resourceGroup: rg,
        issuer: ref("cluster", "oidcIssuerUrl"),
        subject: `system:serviceaccount:${bp.namespace}:${serviceAccount}`,
        audiences: ["api://AzureADTokenExchange"],
      },
      {
        id: "kedaFederation",
        kind: "federatedCredential",
        name: `fed-cred-${local}-kedasvc-${s}`,
        identity: ref("workloadIdentity"),
        resourceGroup: rg,
        issuer: ref("cluster", "oidcIssuerUrl"),
        subject: "system:serviceaccount:kube-system:keda-operator",
        audiences: ["api://AzureADTokenExchange"],
        // Azure rejects concurrent writes of federated credentials on one identity.
        dependsOn: ["workloadFederation"],
      },
      // The producer's own identity: it may only add messages to the queue (the seed's producer shares
      // the consumer's, which may also read, delete and write the table).
      { id: "producerIdentity", kind: "userAssignedIdentity", name: `mi-aks-producer-identity-${s}`, resourceGroup: rg, location, tags },
      {
        id: "producerFederation",
        kind: "federatedCredential",
        name: `federated-credential-producer-${s}`,
        identity: ref("producerIdentity"),
        resourceGroup: rg,
        issuer: ref("cluster", "oidcIssuerUrl"),
        subject: `system:serviceaccount:${bp.namespace}:${producerAccount(bp)}`,
        audiences: ["api://AzureADTokenExchange"],
      },
      {
        id: "queueMessageSender",
        kind: "roleAssignment",
        name: "Storage Queue Data Message Sender@queue (producer)",
        scope: ref("queue", "id"),
        role: "Storage Queue Data Message Sender",
        principalId: ref("producerIdentity", "principalId"),
        principalType: "ServicePrincipal",
      },
      {
        id: "queueDataContributor",
        kind: "roleAssignment",
        name: "Storage Queue Data Contributor@queue",
        scope: ref("queue", "id"),
        role: "Storage Queue Data Contributor",
        principalId: ref("workloadIdentity", "principalId"),
        principalType: "ServicePrincipal",
      },
      {
        id: "tableDataContributor",
        kind: "roleAssignment",
        name: "Storage Table Data Contributor@table",
        scope: ref("table", "id"),
        role: "Storage Table Data Contributor",
        principalId: ref("workloadIdentity", "principalId"),
        principalType: "ServicePrincipal",
      },
    ];
    return {
      blueprint: "edw",
      cloud: ctx.cloud,
      location,
      suffix: s,
      nodes,
      exports: [
        ["SUFFIX", s],
        ["RESOURCE_GROUP", ref("resourceGroup")],
        ["AZURE_STORAGE_ACCOUNT_NAME", ref("storageAccount")],
        ["AZURE_QUEUE_NAME", ref("queue")],
        ["AZURE_TABLE_NAME", ref("table")],
        ["AZURE_CONTAINER_REGISTRY_NAME", ref("registry")],
        ["AKS_MANAGED_IDENTITY_NAME", ref("clusterIdentity")],
        ["AKS_CLUSTER_NAME", ref("cluster")],
        ["WORKLOAD_MANAGED_IDENTITY_NAME", ref("workloadIdentity")],
        ["SERVICE_ACCOUNT", serviceAccount],
        ["FEDERATED_IDENTITY_CREDENTIAL_NAME", ref("workloadFederation")],
        ["KEDA_SERVICE_ACCT_CRED_NAME", ref("kedaFederation")],
      ],
    };
  },
};

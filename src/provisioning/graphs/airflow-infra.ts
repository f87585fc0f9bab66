import type { AirflowSpec, Blueprint } from "../../blueprints/types.js";
import { ref, secretFrom } from "../refs.js";
import type { BlueprintGraphDefinition, GraphContext, ResourceGraph, ResourceNode } from "../types.js";
import { agentPools, clusterSpec, kubernetesVersion } from "./clusters.js";

/** The images the blueprint runs, as registry imports: [source registry, source image, target repository:tag]. */
export function airflowImports(af: AirflowSpec): Array<[string, string, string]> {
  return Object.values(af.images).map((i) => {
    const slash = i.source.indexOf("/");
    return [i.source.slice(0, slash), i.source.slice(slash + 1), `${i.repository}:${i.tag}`];
  });
}

function airflowOf(bp: Blueprint): AirflowSpec {
  if (!bp.airflow) throw new Error(`blueprint ${bp.name} has no Airflow settings`);
  return bp.airflow;
}

/** Seed 002 (airflow-create-infrastructure.md): the infrastructure the Airflow chart then runs on. */
export const airflowInfraGraph: BlueprintGraphDefinition = {
  name: "airflow-infra",
  blueprint: "airflow",
  title: "Apache Airflow on AKS: identity, Key Vault, Premium registry with imported images, ZRS log storage, zonal cluster",
  defaultCloud: "AzurePublicCloud",
  defaultLocation: { AzurePublicCloud: "canadacentral", AzureChinaCloud: "chinanorth3" },
  build(ctx: GraphContext, bp: Blueprint): ResourceGraph {
    const s = ctx.suffix;
    const location = ctx.location;
    const af = airflowOf(bp);
    const aks = clusterSpec(bp);
    const tags = { app: bp.name, "managed-by": "akspilot" };
    const rg = ref("resourceGroup");
    const imports: ResourceNode[] = airflowImports(af).map(([registryUri, image, target], i) => ({
      id: `import${i + 1}`,
      kind: "registryImport" as const,
      name: target,
      registry: ref("registry"),
      resourceGroup: rg,
      sourceRegistry: registryUri,
      sourceImage: image,
      targetTag: target,
      // ACR throttles parallel imports into one registry; one at a time keeps errors readable.
      dependsOn: i === 0 ? [] : [`import${i}`],
    }));
    const nodes: ResourceNode[] = [
      { id: "resourceGroup", kind: "resourceGroup", name: `apache-airflow-rg-${s}`, location, tags },
      { id: "identity", kind: "userAssignedIdentity", name: `airflow-identity-${s}`, resourceGroup: rg, location, tags },
      {
        id: "keyVault",
        kind: "keyVault",
        name: `airflow-vault-${s}-kv`,
        resourceGroup: rg,
        location,
        // The External Secrets Operator reads the two storage secrets with this identity (airflow-deploy.md step 6).
        accessPolicies: [{ objectId: ref("identity", "principalId"), secrets: ["get"] }],
        softDeleteRetentionInDays: 90,
        tags,
      },
      { id: "registry", kind: "containerRegistry", name: `airflowacr${s}`, resourceGroup: rg, location, sku: "Premium", adminUserEnabled: true, tags },
      ...imports,
      {
        id: "logsStorage",
        kind: "storageAccount",
        name: `airflowsasa${s}`,
        resourceGroup: rg,
        location,
        sku: "Standard_ZRS",
        defaultAction: "Allow",
        ipRules: [],
        tags,
      },
      { id: "logsContainer", kind: "blobContainer", name: af.logs.container, account: ref("logsStorage"), resourceGroup: rg },
      {
        id: "secretAccountName",
        kind: "keyVaultSecret",
        name: af.keyVaultSecrets.accountName,
        vault: ref("keyVault"),
        resourceGroup: rg,
        value: ref("logsStorage"),
      },
      {
        id: "secretAccountKey",
        kind: "keyVaultSecret",
        name: af.keyVaultSecrets.accountKey,
        vault: ref("keyVault"),
        resourceGroup: rg,
        value: secretFrom("logsStorage", "primaryKey"),
      },
      {
        id: "cluster",
        kind: "managedCluster",
        name: `cluster-${aks.name}-${s}`,
        resourceGroup: rg,
        location,
        kubernetesVersion: kubernetesVersion(ctx, aks),
        tier: "Standard",
        dnsPrefix: `airflow-${s}`,
        pools: agentPools(aks),
        network: { plugin: "azure" },
        oidcIssuer: true,
        workloadIdentity: true,
        keda: false,
        nodeAutoProvisioning: false,
        blobCsiDriver: true,
        autoUpgradeChannel: "stable",
        nodeOsUpgradeChannel: "NodeImage",
        tags,
      },
      {
        id: "kubeletAcrPull",
        kind: "roleAssignment",
        name: "AcrPull@registry (kubelet)",
        scope: ref("registry", "id"),
        role: "AcrPull",
        principalId: ref("cluster", "kubeletObjectId"),
        principalType: "ServicePrincipal",
      },
    ];
    return {
      blueprint: "airflow-infra",
      cloud: ctx.cloud,
      location,
      suffix: s,
      nodes,
      exports: [
        ["SUFFIX", s],
        ["MY_LOCATION", location],
        ["MY_RESOURCE_GROUP_NAME", ref("resourceGroup")],
        ["MY_IDENTITY_NAME", ref("identity")],
        ["MY_IDENTITY_NAME_ID", ref("identity", "id")],
        ["MY_IDENTITY_NAME_PRINCIPAL_ID", ref("identity", "principalId")],
        ["MY_IDENTITY_NAME_CLIENT_ID", ref("identity", "clientId")],
        ["MY_KEYVAULT_NAME", ref("keyVault")],
        ["KEYVAULTID", ref("keyVault", "id")],
        ["KEYVAULTURL", ref("keyVault", "vaultUri")],
        ["MY_ACR_REGISTRY", ref("registry")],
        ["MY_ACR_REGISTRY_ID", ref("registry", "id")],
        ["AKS_AIRFLOW_LOGS_STORAGE_ACCOUNT_NAME", ref("logsStorage")],
        ["AKS_AIRFLOW_LOGS_STORAGE_CONTAINER_NAME", ref("logsContainer")],
        ["AKS_AIRFLOW_LOGS_STORAGE_SECRET_NAME", af.storageSecret],
        ["MY_CLUSTER_NAME", ref("cluster")],
        ["OIDC_URL", ref("cluster", "oidcIssuerUrl")],
        ["SERVICE_ACCOUNT_NAME", af.serviceAccount],
        ["SERVICE_ACCOUNT_NAMESPACE", bp.namespace],
      ],
    };
  },
};

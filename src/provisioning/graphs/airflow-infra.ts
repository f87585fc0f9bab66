import { ref, secretFrom } from "../refs.js";
import type { BlueprintGraphDefinition, GraphContext, ResourceGraph, ResourceNode } from "../types.js";

/** The six images seed 002 imports into the registry: [source registry, source image, target tag]. */
export const AIRFLOW_IMAGES: ReadonlyArray<readonly [string, string, string]> = [
  ["docker.io", "apache/airflow:airflow-pgbouncer-2024.01.19-1.21.0", "airflow:airflow-pgbouncer-2024.01.19-1.21.0"],
  ["docker.io", "apache/airflow:airflow-pgbouncer-exporter-2024.06.18-0.17.0", "airflow:airflow-pgbouncer-exporter-2024.06.18-0.17.0"],
  ["docker.io", "bitnamilegacy/postgresql:16.1.0-debian-11-r15", "postgresql:16.1.0-debian-11-r15"],
  ["quay.io", "prometheus/statsd-exporter:v0.26.1", "statsd-exporter:v0.26.1"],
  ["docker.io", "apache/airflow:2.9.3", "airflow:2.9.3"],
  ["registry.k8s.io", "git-sync/git-sync:v4.1.0", "git-sync:v4.1.0"],
];

export const AIRFLOW_SECRET_NAMES = {
  accountName: "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME",
  accountKey: "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY",
} as const;

/** Seed 002 (airflow-create-infrastructure.md): the infrastructure the Airflow chart then runs on. */
export const airflowInfraGraph: BlueprintGraphDefinition = {
  name: "airflow-infra",
  title: "Apache Airflow on AKS: identity, Key Vault, Premium registry with imported images, ZRS log storage, zonal cluster",
  seed: "002",
  defaultCloud: "AzurePublicCloud",
  defaultLocation: { AzurePublicCloud: "canadacentral", AzureChinaCloud: "chinanorth3" },
  build(ctx: GraphContext): ResourceGraph {
    const s = ctx.suffix;
    const location = ctx.location;
    const tags = { app: "airflow", "managed-by": "akspilot" };
    const rg = ref("resourceGroup");
    const imports: ResourceNode[] = AIRFLOW_IMAGES.map(([registryUri, image, target], i) => ({
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
        id: "keyVault", kind: "keyVault", name: `airflow-vault-${s}-kv`, resourceGroup: rg, location,
        // The External Secrets Operator reads the two storage secrets with this identity (airflow-deploy.md step 6).
        accessPolicies: [{ objectId: ref("identity", "principalId"), secrets: ["get"] }],
        softDeleteRetentionInDays: 90,
        tags,
      },
      { id: "registry", kind: "containerRegistry", name: `airflowacr${s}`, resourceGroup: rg, location, sku: "Premium", adminUserEnabled: true, tags },
      ...imports,
      {
        id: "logsStorage", kind: "storageAccount", name: `airflowsasa${s}`, resourceGroup: rg, location,
        sku: "Standard_ZRS", defaultAction: "Allow", ipRules: [], tags,
      },
      { id: "logsContainer", kind: "blobContainer", name: "airflow-logs", account: ref("logsStorage"), resourceGroup: rg },
      {
        id: "secretAccountName", kind: "keyVaultSecret", name: AIRFLOW_SECRET_NAMES.accountName,
        vault: ref("keyVault"), resourceGroup: rg, value: ref("logsStorage"),
      },
      {
        id: "secretAccountKey", kind: "keyVaultSecret", name: AIRFLOW_SECRET_NAMES.accountKey,
        vault: ref("keyVault"), resourceGroup: rg, value: secretFrom("logsStorage", "primaryKey"),
      },
      {
        id: "cluster", kind: "managedCluster", name: `cluster-aks-airflow-${s}`, resourceGroup: rg, location,
        kubernetesVersion: ctx.kubernetesVersion,
        tier: "Standard",
        dnsPrefix: `airflow-${s}`,
        pools: [{ name: "systempool", mode: "System", count: 3, vmSize: "Standard_DS4_v2", taints: [], zones: ["1", "2", "3"] }],
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
        id: "kubeletAcrPull", kind: "roleAssignment", name: "AcrPull@registry (kubelet)",
        scope: ref("registry", "id"), role: "AcrPull", principalId: ref("cluster", "kubeletObjectId"), principalType: "ServicePrincipal",
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
        ["AKS_AIRFLOW_LOGS_STORAGE_SECRET_NAME", "storage-account-credentials"],
        ["MY_CLUSTER_NAME", ref("cluster")],
        ["OIDC_URL", ref("cluster", "oidcIssuerUrl")],
        ["SERVICE_ACCOUNT_NAME", "airflow"],
        ["SERVICE_ACCOUNT_NAMESPACE", "airflow"],
      ],
    };
  },
};

import type { Blueprint } from "./types.js";

/** Seed 002 (Apache Airflow on AKS) and its deploy step (airflow-deploy.md). */
export function airflowBlueprint(): Blueprint {
  return {
    name: "airflow",
    title: "Apache Airflow on AKS: KubernetesExecutor, Key Vault secrets, Blob-backed logs",
    seed: "002",
    namespace: "airflow",
    // Airflow's own pods come from its Helm chart, configured through the values below.
    apps: [],
    // Seed 002: `--node-vm-size Standard_DS4_v2 --node-count 3 --zones 1 2 3`, Kubernetes version left to the region.
    clusters: [
      {
        name: "aks-airflow",
        agentPools: [{ name: "systempool", mode: "System", vmSize: "Standard_DS4_v2", count: 3, zones: ["1", "2", "3"] }],
        // The seed's az aks create: --enable-oidc-issuer --enable-blob-driver --enable-workload-identity.
        addOns: ["oidc-issuer", "blob-driver", "workload-identity"],
      },
    ],
    airflow: {
      serviceAccount: "airflow",
      chart: "apache-airflow/airflow",
      chartVersion: "1.15.0",
      releaseName: "airflow",
      secretStore: "azure-store",
      externalSecret: "airflow-aks-azure-logs-secrets",
      storageSecret: "storage-account-credentials",
      refreshInterval: "1h",
      // The logs account's name reaches the pods from the synced Secret: as a variable (fixed when the
      // container starts) and as a mounted file (the kubelet updates it when the Secret changes). Only that
      // key is mounted: the account key stays with the blob CSI driver (nodeStageSecretRef).
      podSecrets: {
        env: [{ name: "AZURE_STORAGE_ACCOUNT_NAME", secretName: "storage-account-credentials", key: "azurestorageaccountname" }],
        volumes: [
          {
            name: "storage-account-credentials",
            secretName: "storage-account-credentials",
            mountPath: "/opt/airflow/secrets/storage-account-credentials",
            items: ["azurestorageaccountname"],
            pathEnv: "AIRFLOW_STORAGE_CREDENTIALS_DIR",
          },
        ],
      },
      keyVaultSecrets: {
        accountName: "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME",
        accountKey: "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY",
      },
      logs: {
        volume: "pv-airflow-logs",
        claim: "pvc-airflow-logs",
        size: "5Gi",
        storageClass: "azureblob-fuse-premium",
        container: "airflow-logs",
        volumeHandle: "airflow-logs-1",
        fileCacheTimeoutSeconds: 120,
      },
      // In the order seed 002 imports them (airflow-create-infrastructure.md); the provisioning steps import1…6 follow it.
      images: {
        pgbouncer: { repository: "airflow", tag: "airflow-pgbouncer-2024.01.19-1.21.0", source: "docker.io/apache/airflow:airflow-pgbouncer-2024.01.19-1.21.0" },
        pgbouncerExporter: {
          repository: "airflow",
          tag: "airflow-pgbouncer-exporter-2024.06.18-0.17.0",
          source: "docker.io/apache/airflow:airflow-pgbouncer-exporter-2024.06.18-0.17.0",
        },
        postgresql: { repository: "postgresql", tag: "16.1.0-debian-11-r15", source: "docker.io/bitnamilegacy/postgresql:16.1.0-debian-11-r15" },
        statsd: { repository: "statsd-exporter", tag: "v0.26.1", source: "quay.io/prometheus/statsd-exporter:v0.26.1" },
        airflow: { repository: "airflow", tag: "2.9.3", source: "docker.io/apache/airflow:2.9.3" },
        gitSync: { repository: "git-sync", tag: "v4.1.0", source: "registry.k8s.io/git-sync/git-sync:v4.1.0" },
      },
      dags: { repo: "https://github.com/donhighmsft/airflowexamples.git", branch: "main", rev: "HEAD", depth: 1, maxFailures: 0, subPath: "dags" },
      timezone: "America/New_York",
    },
  };
}

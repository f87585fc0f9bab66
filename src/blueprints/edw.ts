import type { Blueprint, NodePoolManifest, ScaledObjectManifest } from "./types.js";
import { AKSPILOT_VERSION } from "../version.js";

/** Seed 000 defaults (deployment/environmentVariables.sh). */
export const EDW_DEFAULTS = {
  queueName: "aws2azmsgs",
  tableName: "aws2azpmts",
  namespace: "aqs-demo",
  deployment: "aqs-app",
  serviceAccount: "aqs-app-service-account",
  /** The producer's own account and identity: it only sends (the seed shares the consumer's). */
  producerServiceAccount: "aqs-producer-service-account",
  scaledObject: "aws2az-queue-scaleobj",
  triggerAuthentication: "keda-az-credentials",
  /** Consumer health endpoint port inside the pod. */
  healthPort: 8080,
  /** Seed consumer's receive visibility timeout. */
  visibilityTimeoutSeconds: 60,
} as const;

/** The seed's ScaledObject (keda-scaleobject-workload-id.sh), unchanged. `accountName` is filled in per target. */
export function seedScaledObject(accountName = "<storage-account>", cloud = "AzurePublicCloud"): ScaledObjectManifest {
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: EDW_DEFAULTS.scaledObject, namespace: EDW_DEFAULTS.namespace },
    spec: {
      scaleTargetRef: { name: EDW_DEFAULTS.deployment },
      pollingInterval: 30,
      cooldownPeriod: 10,
      minReplicaCount: 0,
      maxReplicaCount: 15,
      triggers: [
        {
          type: "azure-queue",
          authenticationRef: { name: EDW_DEFAULTS.triggerAuthentication },
          metadata: {
            queueName: EDW_DEFAULTS.queueName,
            accountName,
            queueLength: "5",
            activationQueueLength: "20",
            cloud,
          },
        },
      ],
    },
  };
}

/** The seed's Karpenter NodePool (deployment/infra/default-pool.yaml) in karpenter.sh/v1 spelling:
 *  v1beta1's `WhenUnderutilized` is v1's `WhenEmptyOrUnderutilized`. */
export function seedNodePool(): NodePoolManifest {
  return {
    apiVersion: "karpenter.sh/v1",
    kind: "NodePool",
    metadata: { name: "default" },
    spec: {
      template: {
        spec: {
          nodeClassRef: { group: "karpenter.azure.com", kind: "AKSNodeClass", name: "default" },
          requirements: [
            { key: "kubernetes.io/arch", operator: "In", values: ["amd64"] },
            { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
            { key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] },
            { key: "karpenter.azure.com/sku-family", operator: "In", values: ["D"] },
          ],
          expireAfter: "Never",
        },
      },
      disruption: {
        consolidationPolicy: "WhenEmptyOrUnderutilized",
        consolidateAfter: "0s",
        budgets: [{ nodes: "100%" }],
      },
    },
  };
}

export function edwBlueprint(): Blueprint {
  const d = EDW_DEFAULTS;
  return {
    name: "edw",
    title: "Event-driven workflow: Storage Queue → KEDA-scaled consumers → Storage Table",
    seed: "000",
    namespace: d.namespace,
    apps: [
      {
        name: d.deployment,
        program: "consumer",
        container: "keda-queue-reader",
        // A fixed tag (the seed: latest): a rollout or a new node pulls the image that was tested.
        image: { repository: "aws2azure/aqs-consumer", tag: AKSPILOT_VERSION },
        replicas: 1,
        labels: { app: "aqs-reader", "azure.workload.identity/use": "true" },
        env: {
          AZURE_QUEUE_NAME: d.queueName,
          AZURE_TABLE_NAME: d.tableName,
          AZURE_STORAGE_ACCOUNT_NAME: "<storage-account>",
        },
        resources: { requests: { cpu: "250m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
        tolerations: [{ key: "deployment", operator: "Equal", value: "aqs-app-pool", effect: "NoSchedule" }],
        ports: [{ name: "health", containerPort: d.healthPort }],
        liveness: { path: "/healthz", port: d.healthPort, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
        readiness: { path: "/readyz", port: d.healthPort, initialDelaySeconds: 1, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
        serviceAccountName: d.serviceAccount,
        // Longer than the visibility timeout, so a pod being stopped can always finish or release its batch.
        terminationGracePeriodSeconds: d.visibilityTimeoutSeconds + 30,
        // Node drains and Karpenter consolidation take consumers one at a time.
        disruptionBudget: { maxUnavailable: 1 },
      },
      {
        name: "aqs-producer",
        program: "producer",
        container: "aqs-producer",
        image: { repository: "aws2azure/aqs-producer", tag: AKSPILOT_VERSION },
        replicas: 1,
        labels: { app: "aqs-producer", "azure.workload.identity/use": "true" },
        env: { AZURE_QUEUE_NAME: d.queueName, AZURE_STORAGE_ACCOUNT_NAME: "<storage-account>" },
        resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "250m", memory: "128Mi" } },
        tolerations: [{ key: "deployment", operator: "Equal", value: "aqs-app-pool", effect: "NoSchedule" }],
        ports: [],
        serviceAccountName: d.producerServiceAccount,
        terminationGracePeriodSeconds: 30,
        kind: "Job",
      },
    ],
    // The seed's cluster (deploy.sh and the article's "application and system node pools"): a system pool
    // tainted CriticalAddonsOnly, a static application pool the consumer tolerates, and NAP for the rest.
    clusters: [
      {
        name: "aks-aksdemo",
        kubernetesVersion: "1.30",
        agentPools: [
          { name: "systempool", mode: "System", vmSize: "Standard_D2s_v5", count: 3, taints: [{ key: "CriticalAddonsOnly", value: "true", effect: "NoSchedule" }] },
          { name: "apppool", mode: "User", vmSize: "Standard_D2s_v5", count: 1, taints: [{ key: "deployment", value: "aqs-app-pool", effect: "NoSchedule" }] },
        ],
        nodePools: [seedNodePool()],
        // deploy.sh's az aks create: --enable-keda --enable-workload-identity --enable-oidc-issuer
        // --node-provisioning-mode Auto --network-dataplane cilium --enable-addons monitoring.
        addOns: ["keda", "workload-identity", "oidc-issuer", "node-auto-provisioning", "cilium-dataplane", "monitoring"],
      },
    ],
    scaledObject: seedScaledObject(),
  };
}

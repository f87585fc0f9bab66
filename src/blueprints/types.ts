/**
 * Blueprints are data: typed specs of the workloads of one seed system. Targets (the local runtime,
 * the Kubernetes manifests, the provisioning graphs) interpret them; nothing here does I/O.
 */

export interface ResourceList {
  cpu: string;
  memory: string;
}

export interface ResourceRequirements {
  requests: ResourceList;
  limits: ResourceList;
}

export interface Toleration {
  key: string;
  operator: "Equal" | "Exists";
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  tolerationSeconds?: number;
}

export interface HttpProbe {
  path: string;
  /** Container port the probe targets. */
  port: number;
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  successThreshold?: number;
}

/** Which akspilot program runs this app when the blueprint is run locally. */
export type AppProgram = "consumer" | "producer" | "hello" | "external";

export interface ContainerImage {
  /** Repository path inside the registry, e.g. `aws2azure/aqs-consumer`. */
  repository: string;
  tag: string;
}

export interface AppSpec {
  /** Deployment name. */
  name: string;
  program: AppProgram;
  /** Container name in the pod. */
  container: string;
  image: ContainerImage;
  replicas: number;
  /** Pod labels; the first entry is the selector. */
  labels: Record<string, string>;
  env: Record<string, string>;
  resources: ResourceRequirements;
  tolerations: Toleration[];
  ports: { name: string; containerPort: number }[];
  liveness?: HttpProbe;
  readiness?: HttpProbe;
  serviceAccountName?: string;
  terminationGracePeriodSeconds: number;
  /** A Job (runs to completion) rather than a long-running Deployment. */
  kind?: "Deployment" | "Job";
}

/** KEDA ScaledObject, as the CRD spells it (keda.sh/v1alpha1). Kept as data so that the object the
 *  local autoscaler obeys is byte-for-byte the one deployed to a cluster. */
export interface ScaledObjectManifest {
  apiVersion: "keda.sh/v1alpha1";
  kind: "ScaledObject";
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    scaleTargetRef: { name: string; kind?: string; apiVersion?: string };
    pollingInterval?: number;
    cooldownPeriod?: number;
    initialCooldownPeriod?: number;
    idleReplicaCount?: number;
    minReplicaCount?: number;
    maxReplicaCount?: number;
    advanced?: {
      restoreToOriginalReplicaCount?: boolean;
      horizontalPodAutoscalerConfig?: {
        name?: string;
        behavior?: HpaBehavior;
      };
    };
    triggers: Array<{
      type: string;
      name?: string;
      metricType?: "AverageValue" | "Value";
      metadata: Record<string, string>;
      authenticationRef?: { name: string; kind?: string };
    }>;
  };
}

export interface HpaScalingPolicy {
  type: "Pods" | "Percent";
  value: number;
  periodSeconds: number;
}

export interface HpaScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: "Max" | "Min" | "Disabled";
  policies?: HpaScalingPolicy[];
  tolerance?: string | number;
}

export interface HpaBehavior {
  scaleUp?: HpaScalingRules;
  scaleDown?: HpaScalingRules;
}

/** Karpenter NodePool (karpenter.sh/v1), as the CRD spells it. */
export interface NodePoolManifest {
  apiVersion: "karpenter.sh/v1";
  kind: "NodePool";
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    template: {
      metadata?: { labels?: Record<string, string> };
      spec: {
        nodeClassRef: { group: string; kind: string; name: string };
        requirements: Array<{ key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt"; values?: string[] }>;
        taints?: Array<{ key: string; value?: string; effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }>;
        expireAfter?: string;
      };
    };
    disruption?: {
      consolidationPolicy?: "WhenEmpty" | "WhenEmptyOrUnderutilized";
      consolidateAfter?: string;
      budgets?: Array<{ nodes: string; reasons?: string[]; schedule?: string; duration?: string }>;
    };
    limits?: { cpu?: string; memory?: string };
    weight?: number;
  };
}

export interface Blueprint {
  name: string;
  title: string;
  /** Seed article this blueprint reproduces. */
  seed: string;
  namespace: string;
  apps: AppSpec[];
  scaledObject?: ScaledObjectManifest;
  nodePool?: NodePoolManifest;
}

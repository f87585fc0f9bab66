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
  /** Gates liveness and readiness until the app has started (slow starters). */
  startup?: HttpProbe;
  serviceAccountName?: string;
  terminationGracePeriodSeconds: number;
  /** A Job (runs to completion) rather than a long-running Deployment. */
  kind?: "Deployment" | "Job";
  /** Full image reference outside the configured registry (e.g. a public sample image). */
  externalImage?: string;
  /** Spread replicas over these topology domains (e.g. nodes, zones). */
  topologySpread?: TopologySpread[];
  /** Voluntary-disruption budget for the replicas. */
  disruptionBudget?: { maxUnavailable?: number | string; minAvailable?: number | string };
  /** Expose the app in the cluster (and beyond, for LoadBalancer). */
  service?: ServiceSpec;
  /** Route external HTTP traffic to the service through an ingress controller. */
  ingress?: IngressSpec;
  /** Seconds a terminating pod keeps serving while load balancers drop it. */
  preStopSleepSeconds?: number;
  /** Keep `controller.kubernetes.io/pod-deletion-cost` equal to the in-flight work (consumers only). */
  podDeletionCost?: boolean;
  /** Extra writable directories (emptyDir) for a read-only root filesystem. */
  writablePaths?: string[];
  /** Scale on the HTTP requests at the gateway, down to zero when idle (KEDA HTTP add-on style). */
  httpScaling?: HttpScalingSpec;
}

/**
 * A scale rule on HTTP traffic, shaped after the KEDA HTTP add-on's HTTPScaledObject (`replicas.min/max`,
 * `targetPendingRequests`, `scaledownPeriod`): replicas follow the requests pending at the gateway (in
 * flight or held), one per `targetPendingRequests`; with `minReplicas: 0` the app goes to zero after
 * `scaledownPeriodSeconds` without a request, and the first request brings a replica back (held meanwhile).
 */
export interface HttpScalingSpec {
  minReplicas: number;
  maxReplicas: number;
  targetPendingRequests: number;
  scaledownPeriodSeconds: number;
}

export interface TopologySpread {
  topologyKey: string;
  maxSkew: number;
  whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway";
}

export interface ServiceSpec {
  type: "ClusterIP" | "LoadBalancer";
  port: number;
  /** Named container port (or number) the service forwards to. */
  targetPort: string | number;
  annotations?: Record<string, string>;
}

export interface IngressSpec {
  className: string;
  path: string;
  annotations?: Record<string, string>;
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
    /** KEDA's fallback: after more than failureThreshold scaler failures the HPA sees target × replicas. */
    fallback?: { failureThreshold: number; replicas: number; behavior?: "static" | "currentReplicas" | "currentReplicasIfHigher" | "currentReplicasIfLower" };
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
      useCachedMetrics?: boolean;
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

/** A node taint, as `--node-taints key=value:Effect` spells it. */
export interface NodeTaint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/**
 * A static AKS agent pool, as `az aks create` / `az aks nodepool add` makes it: a fixed count of VMs that
 * no autoscaler removes (Karpenter never touches them).
 */
export interface AgentPoolSpec {
  name: string;
  mode: "System" | "User";
  vmSize: string;
  count: number;
  labels?: Record<string, string>;
  taints?: NodeTaint[];
  /** Availability zones the pool's VMs are spread over (`--zones`). */
  zones?: string[];
}

/**
 * An AKS add-on or cluster feature a blueprint's cluster enables, as the seed's `az aks create` flags do.
 * Some run a DaemonSet on every node and so take room from each node's allocatable (src/scaling/daemonsets.ts
 * lists which, with their requests); the others run Deployments or live in the control plane.
 */
export type ClusterAddOn =
  /** `--enable-addons monitoring`: Container insights, the ama-logs DaemonSet on every node. */
  | "monitoring"
  /** `--network-dataplane cilium` (Azure CNI powered by Cilium): the cilium agent and azure-cns on every node, and no kube-proxy. */
  | "cilium-dataplane"
  /** `--enable-blob-driver`: the Azure Blob CSI node plugin on every node. */
  | "blob-driver"
  /** aad-pod-identity installed by its Helm chart (seed 003): the NMI DaemonSet on every node. */
  | "aad-pod-identity"
  /** `--enable-keda`: the KEDA operator and metrics server (Deployments). */
  | "keda"
  /** `--enable-workload-identity`: the mutating webhook (a Deployment). */
  | "workload-identity"
  /** `--enable-oidc-issuer`: control plane only. */
  | "oidc-issuer"
  /** `--node-provisioning-mode Auto`: Karpenter runs in the managed control plane. */
  | "node-auto-provisioning";

/** One AKS cluster of a blueprint: its Kubernetes version, static pools and, with NAP, Karpenter NodePools. */
export interface ClusterSpec {
  name: string;
  /** Kubernetes version label (`--kubernetes-version`); undefined = the region's default. */
  kubernetesVersion?: string;
  agentPools: AgentPoolSpec[];
  /** Add-ons and features the cluster enables (their DaemonSets count against every node's allocatable). */
  addOns: ClusterAddOn[];
  /** Karpenter NodePools (AKS node auto-provisioning, `--node-provisioning-mode Auto`). */
  nodePools?: NodePoolManifest[];
}

export interface Blueprint {
  name: string;
  title: string;
  /** Seed article this blueprint reproduces. */
  seed: string;
  namespace: string;
  apps: AppSpec[];
  /** The clusters the apps run on (several only for blue-green); local, kube and provisioning all read these. */
  clusters: ClusterSpec[];
  scaledObject?: ScaledObjectManifest;
  /** Seed 003: the same apps run on several clusters behind one Application Gateway. */
  blueGreen?: BlueGreenSpec;
  /** Seed 002: Airflow installed by its Helm chart, with secrets and logs wired to Azure. */
  airflow?: AirflowSpec;
}

export interface BlueGreenSpec {
  /** The blueprint's cluster that is live at the start (the other is the one switched to). */
  activeCluster: string;
  /** Helm chart the gateway's ingress controller (AGIC) is installed from. */
  agicChart: string;
  agicChartVersion: string;
  agicReleaseName: string;
  agicNamespace: string;
  verbosityLevel: number;
  /** Kubernetes versions an upgrade may go to, besides the clusters' own (`akspilot upgrade --to`). */
  kubernetesVersions?: string[];
}

/** `env[].valueFrom.secretKeyRef`: one variable from one key of a Secret. */
export interface SecretEnvRef {
  name: string;
  secretName: string;
  key: string;
  optional?: boolean;
}

/** A `secret` volume and its read-only mount (`items` selects keys; every key without it). */
export interface SecretVolumeRef {
  name: string;
  secretName: string;
  mountPath: string;
  items?: string[];
  optional?: boolean;
  /** A variable naming the mount path, for the programs that read the files there. */
  pathEnv?: string;
}

export interface AirflowSpec {
  serviceAccount: string;
  chart: string;
  chartVersion: string;
  releaseName: string;
  secretStore: string;
  externalSecret: string;
  /** Kubernetes Secret the ExternalSecret writes (used by the blob CSI driver). */
  storageSecret: string;
  refreshInterval: string;
  /**
   * How Airflow's pods read the synced Secret: variables from secretKeyRef (the chart's `secret` value) and
   * secret volumes (`volumes`/`volumeMounts`), in every Airflow pod the chart makes and in the local task pod.
   */
  podSecrets: { env: SecretEnvRef[]; volumes: SecretVolumeRef[] };
  keyVaultSecrets: { accountName: string; accountKey: string };
  logs: { volume: string; claim: string; size: string; storageClass: string; container: string; volumeHandle: string; fileCacheTimeoutSeconds: number };
  /** Images imported into the registry: repository in the registry → tag. */
  images: Record<string, { repository: string; tag: string; source: string }>;
  dags: { repo: string; branch: string; rev: string; depth: number; maxFailures: number; subPath: string };
  timezone: string;
}

import type { Blueprint } from "./types.js";

/** Seed 003 (blue-green AKS cluster upgrade behind one Application Gateway driven by AGIC). */
export const BLUEGREEN_DEFAULTS = {
  namespace: "bluegreen",
  name: "webapp",
  replicas: 3,
  containerPort: 8080,
  /** AGIC's removal of a pod from the gateway lags its termination; its docs pair a 90 s preStop with draining. */
  preStopSleepSeconds: 90,
  drainTimeoutSeconds: 30,
} as const;

export function blueGreenBlueprint(): Blueprint {
  const d = BLUEGREEN_DEFAULTS;
  return {
    name: "bluegreen",
    title: "Blue-green cluster upgrade: two AKS clusters, one Application Gateway, switch by AGIC ownership",
    seed: "003",
    namespace: d.namespace,
    apps: [
      {
        name: d.name,
        // The page names the pod that answered, which is how the seed watches the switch.
        program: "hello",
        container: "webapp",
        image: { repository: "helloworld", tag: "1.0" },
        replicas: d.replicas,
        labels: { app: "webapp" },
        env: { HOST: "0.0.0.0", PORT: String(d.containerPort) },
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "250m", memory: "128Mi" } },
        tolerations: [],
        ports: [{ name: "http", containerPort: d.containerPort }],
        liveness: { path: "/healthz", port: d.containerPort, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
        // AGIC turns this probe into the gateway's backend health probe.
        readiness: { path: "/healthz", port: d.containerPort, initialDelaySeconds: 1, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
        // Longer than the preStop sleep so the process still gets SIGTERM and exits cleanly (AGIC's example: 101).
        terminationGracePeriodSeconds: d.preStopSleepSeconds + 11,
        topologySpread: [{ topologyKey: "topology.kubernetes.io/zone", maxSkew: 1, whenUnsatisfiable: "ScheduleAnyway" }],
        disruptionBudget: { maxUnavailable: 1 },
        service: { type: "ClusterIP", port: 80, targetPort: "http" },
        ingress: {
          className: "azure-application-gateway",
          path: "/",
          annotations: {
            "appgw.ingress.kubernetes.io/connection-draining": "true",
            "appgw.ingress.kubernetes.io/connection-draining-timeout": String(d.drainTimeoutSeconds),
          },
        },
        preStopSleepSeconds: d.preStopSleepSeconds,
      },
    ],
    // Blue is the running cluster (1.19.11, the default then); green is built beside it on 1.20.7. Both get
    // aad-pod-identity from its Helm chart (the seed's `aad-pod-identity-nmi-*` ×3, one per node).
    clusters: [
      { name: "blue", kubernetesVersion: "1.19.11", agentPools: [{ name: "nodepool1", mode: "System", vmSize: "Standard_D2s_v5", count: 3 }], addOns: ["aad-pod-identity"] },
      { name: "green", kubernetesVersion: "1.20.7", agentPools: [{ name: "nodepool1", mode: "System", vmSize: "Standard_D2s_v5", count: 3 }], addOns: ["aad-pod-identity"] },
    ],
    blueGreen: {
      activeCluster: "blue",
      agicChart: "oci://mcr.microsoft.com/azure-application-gateway/charts/ingress-azure",
      agicChartVersion: "1.9.5",
      agicReleaseName: "agic",
      agicNamespace: "kube-system",
      verbosityLevel: 3,
      // AKS versions of the seed's time (2021): what `akspilot upgrade --to` accepts for this blueprint.
      kubernetesVersions: ["1.19.11", "1.20.7", "1.21.2"],
    },
  };
}

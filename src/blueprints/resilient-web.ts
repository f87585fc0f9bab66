import type { Blueprint } from "./types.js";

/** Seed 001 (resilient hello-world on AKS). */
export const RESILIENT_WEB_DEFAULTS = {
  namespace: "helloworld",
  name: "helloworld",
  replicas: 4,
  /** Unprivileged port inside the pod; the Service still listens on the seed's port 80. */
  containerPort: 8080,
  servicePort: 80,
} as const;

export function resilientWebBlueprint(): Blueprint {
  const d = RESILIENT_WEB_DEFAULTS;
  return {
    name: "resilient-web",
    title: "Resilient web app: 4 replicas that fail over within a minute when a node dies",
    seed: "001",
    namespace: d.namespace,
    apps: [
      {
        name: d.name,
        program: "hello",
        container: "helloworld",
        image: { repository: "helloworld", tag: "1.0" },
        replicas: d.replicas,
        labels: { app: "helloworld" },
        env: { HOST: "0.0.0.0", PORT: String(d.containerPort) },
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "250m", memory: "128Mi" } },
        // The seed's failover trick: leave a dead node 1 s after it is tainted instead of the default 300 s.
        tolerations: [
          { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 1 },
          { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 1 },
        ],
        ports: [{ name: "http", containerPort: d.containerPort }],
        // The seed's liveness probe, unchanged (GET / every second, 10 s initial delay, 3 s timeout).
        liveness: { path: "/", port: d.containerPort, initialDelaySeconds: 10, periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 3 },
        readiness: { path: "/healthz", port: d.containerPort, initialDelaySeconds: 1, periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 2 },
        terminationGracePeriodSeconds: 30,
        // ScheduleAnyway: with DoNotSchedule a dead node would still count as an empty domain and block
        // rescheduling onto the survivor, which is exactly the failover the seed demonstrates.
        topologySpread: [
          { topologyKey: "kubernetes.io/hostname", maxSkew: 1, whenUnsatisfiable: "ScheduleAnyway" },
          { topologyKey: "topology.kubernetes.io/zone", maxSkew: 1, whenUnsatisfiable: "ScheduleAnyway" },
        ],
        // The seed's PDB (minAvailable 4 of 4) blocks every node drain and so every AKS upgrade; one at a time instead.
        disruptionBudget: { maxUnavailable: 1 },
        service: {
          type: "LoadBalancer",
          port: d.servicePort,
          targetPort: "http",
          annotations: {
            "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/healthz",
            "service.beta.kubernetes.io/azure-load-balancer-health-probe-interval": "5",
            "service.beta.kubernetes.io/azure-load-balancer-health-probe-num-of-probe": "2",
          },
        },
        // kube-proxy and the Azure LB need a moment to stop sending new connections to a terminating pod.
        preStopSleepSeconds: 5,
      },
    ],
    // `az aks create --node-count 2` (K8s 1.18.14 in the article's output): one pool, two VMs, no autoscaling.
    clusters: [
      {
        name: "aksResilience",
        kubernetesVersion: "1.18.14",
        agentPools: [{ name: "nodepool1", mode: "System", vmSize: "Standard_D2s_v5", count: 2, zones: ["1", "2"] }],
        // The seed's az aks create --enable-addons monitoring.
        addOns: ["monitoring"],
      },
    ],
  };
}

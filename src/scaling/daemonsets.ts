import type { ClusterAddOn } from "../blueprints/types.js";

/**
 * The DaemonSets an AKS cluster runs on every Linux node, and what each takes from the node: its pod's
 * effective requests (the sum of its containers', or its largest init container's if larger — Kubernetes'
 * resource model for pods) and one pod slot. A node's allocatable for user pods is its capacity less AKS's
 * reservations (catalog.ts) less these: the scheduler, Karpenter's instance selection and the simulator all
 * read the same figure through `daemonSetOverhead`.
 */

const MiB = 1024 ** 2;

/** Requests of the DaemonSets on every node, taken from each node's allocatable. */
export interface DaemonSetOverhead {
  cpuMillis: number;
  memoryBytes: number;
  pods: number;
}

/** One DaemonSet's pod on a node, with where its requests come from. */
export interface NodeDaemonSet {
  name: string;
  cpuMillis: number;
  memoryBytes: number;
  /** The manifest its requests are read from. */
  source: string;
}

/** What every AKS Linux node runs whatever the cluster enables (kube-proxy unless Cilium replaces it). */
export const BASE_DAEMONSETS: readonly NodeDaemonSet[] = [
  { name: "kube-proxy", cpuMillis: 100, memoryBytes: 0, source: "AKS kube-proxy DaemonSet (100m)" },
  { name: "cloud-node-manager", cpuMillis: 50, memoryBytes: 50 * MiB, source: "kubernetes-sigs/cloud-provider-azure, cloud-node-manager manifest (50m, 50Mi)" },
  // Three containers (liveness-probe, node-driver-registrar, the driver) of 10m/20Mi each.
  { name: "csi-azuredisk-node", cpuMillis: 30, memoryBytes: 60 * MiB, source: "kubernetes-sigs/azuredisk-csi-driver, deploy/csi-azuredisk-node.yaml (3 × 10m/20Mi)" },
  { name: "csi-azurefile-node", cpuMillis: 30, memoryBytes: 60 * MiB, source: "kubernetes-sigs/azurefile-csi-driver, deploy/csi-azurefile-node.yaml (3 × 10m/20Mi)" },
];

/**
 * The DaemonSets each add-on adds to every node. Add-ons absent here (KEDA, workload identity, the OIDC
 * issuer, node auto-provisioning) run Deployments or live in the control plane: no per-node cost.
 */
export const ADD_ON_DAEMONSETS: Readonly<Record<ClusterAddOn, readonly NodeDaemonSet[]>> = {
  // Container insights on AKS (singleSize, AAD auth, Prometheus sidecar scraping on: the add-on's defaults):
  // addon-token-adapter 20m/50Mi + ama-logs 75m/325Mi + ama-logs-prometheus 75m/225Mi.
  monitoring: [
    {
      name: "ama-logs",
      cpuMillis: 20 + 75 + 75,
      memoryBytes: (50 + 325 + 225) * MiB,
      source: "microsoft/Docker-Provider, charts/azuremonitor-containerinsights values.yaml OmsAgent.daemonSetSizingValues.singleSize and templates/ama-logs-daemonset-aks.yaml",
    },
  ],
  // Azure CNI powered by Cilium: the agent's containers request nothing, its clean-cilium-state init container
  // 100m/100Mi, so the pod's effective request is 100m/100Mi; azure-cns requests nothing but takes a pod slot.
  // Cilium runs with kube-proxy-replacement, so kube-proxy is not deployed (see REPLACED below).
  "cilium-dataplane": [
    {
      name: "cilium",
      cpuMillis: 100,
      memoryBytes: 100 * MiB,
      source: "Azure/azure-container-networking, test/integration/manifests/cilium/v1.17/cilium-agent/templates/daemonset.yaml (init container clean-cilium-state 100m/100Mi)",
    },
    { name: "azure-cns", cpuMillis: 0, memoryBytes: 0, source: "Azure/azure-container-networking, test/integration/manifests/cns/daemonset-linux.yaml (no requests)" },
  ],
  // liveness-probe, node-driver-registrar and blob: 10m/20Mi each.
  "blob-driver": [{ name: "csi-blob-node", cpuMillis: 30, memoryBytes: 60 * MiB, source: "kubernetes-sigs/blob-csi-driver, deploy/csi-blob-node.yaml (3 × 10m/20Mi)" }],
  "aad-pod-identity": [
    { name: "nmi", cpuMillis: 100, memoryBytes: 256 * MiB, source: "Azure/aad-pod-identity, charts/aad-pod-identity/values.yaml nmi.resources.requests (100m, 256Mi)" },
  ],
  keda: [],
  "workload-identity": [],
  "oidc-issuer": [],
  "node-auto-provisioning": [],
};

/** Base DaemonSets an add-on makes AKS leave out. */
const REPLACED: Partial<Record<ClusterAddOn, readonly string[]>> = {
  // cilium-config `kube-proxy-replacement: "true"` (Azure/azure-container-networking, cilium-config.yaml).
  "cilium-dataplane": ["kube-proxy"],
};

/** The DaemonSets on every node of a cluster with these add-ons. */
export function nodeDaemonSets(addOns: readonly ClusterAddOn[]): NodeDaemonSet[] {
  const dropped = new Set(addOns.flatMap((a) => REPLACED[a] ?? []));
  const added = [...new Set(addOns)].flatMap((a) => ADD_ON_DAEMONSETS[a]);
  return [...BASE_DAEMONSETS.filter((d) => !dropped.has(d.name)), ...added];
}

/** What the DaemonSets of a cluster with these add-ons take from each node. */
export function daemonSetOverhead(addOns: readonly ClusterAddOn[]): DaemonSetOverhead {
  const ds = nodeDaemonSets(addOns);
  return {
    cpuMillis: ds.reduce((a, d) => a + d.cpuMillis, 0),
    memoryBytes: ds.reduce((a, d) => a + d.memoryBytes, 0),
    pods: ds.length,
  };
}

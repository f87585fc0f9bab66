/** A node size Karpenter may launch: allocatable capacity and on-demand price. */
export interface InstanceType {
  name: string;
  cpuMillis: number;
  memoryBytes: number;
  maxPods: number;
  pricePerHour: number;
}

const GiB = 1024 ** 3;

/**
 * D-family sizes (the seed's NodePool asks for sku-family D). Allocatable is capacity less the AKS
 * kube/system reservations (approximate); prices are list prices in USD for East US, for ranking only.
 */
export const DEFAULT_CATALOG: InstanceType[] = [
  { name: "Standard_D2s_v5", cpuMillis: 1900, memoryBytes: 5.5 * GiB, maxPods: 30, pricePerHour: 0.096 },
  { name: "Standard_D4s_v5", cpuMillis: 3860, memoryBytes: 12.5 * GiB, maxPods: 30, pricePerHour: 0.192 },
  { name: "Standard_D8s_v5", cpuMillis: 7820, memoryBytes: 27 * GiB, maxPods: 30, pricePerHour: 0.384 },
  { name: "Standard_D16s_v5", cpuMillis: 15740, memoryBytes: 57 * GiB, maxPods: 30, pricePerHour: 0.768 },
];

/**
 * The allocatable capacity of a VM size named by a blueprint's agent pool. Sizes outside the catalog are
 * estimated from the vCPU count in the name (D<n>: n vCPU, 4 GiB each), less the same reservations.
 */
export function instanceTypeFor(vmSize: string, catalog: InstanceType[] = DEFAULT_CATALOG): InstanceType {
  const known = catalog.find((t) => t.name.toLowerCase() === vmSize.toLowerCase());
  if (known) return known;
  const vcpu = Number(/^Standard_[A-Z]+?(\d+)/i.exec(vmSize)?.[1] ?? 2) || 2;
  return { name: vmSize, cpuMillis: vcpu * 1000 - 100 - 40 * Math.max(0, vcpu - 2), memoryBytes: (vcpu * 4 - 2.5) * GiB, maxPods: 30, pricePerHour: 0.048 * vcpu };
}

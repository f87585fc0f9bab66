import type { ClusterAddOn } from "../blueprints/types.js";
import { daemonSetOverhead, type DaemonSetOverhead } from "./daemonsets.js";

export type { DaemonSetOverhead } from "./daemonsets.js";

/** A node size Karpenter may launch: allocatable capacity and on-demand price. */
export interface InstanceType {
  name: string;
  cpuMillis: number;
  memoryBytes: number;
  maxPods: number;
  pricePerHour: number;
}

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/**
 * AKS node resource reservations (learn.microsoft.com/azure/aks/node-resource-reservations).
 * CPU (kube-reserved): 60m for the first core, +40m for the second, +20m each for the third and fourth,
 * +10m per core above four (the documented table: 1→60, 2→100, 4→140, 8→180, 16→260, 32→420, 64→740).
 */
export function reservedCpuMillis(vcpu: number): number {
  return 60 + 40 * Math.max(0, Math.min(vcpu, 2) - 1) + 20 * Math.max(0, Math.min(vcpu, 4) - 2) + 10 * Math.max(0, vcpu - 4);
}

/**
 * Memory, AKS 1.29 and later: kube-reserved = min(20 MiB × maxPods + 50 MiB, 25 % of the VM's memory),
 * plus the kubelet's hard eviction threshold of 100 Mi. (Before 1.29 a regressive 25/20/10/6/2 % rate
 * plus 750 Mi eviction applied; AKS's supported versions are past it.)
 */
export function reservedMemoryBytes(memoryBytes: number, maxPods: number): number {
  return Math.min((20 * maxPods + 50) * MiB, 0.25 * memoryBytes) + 100 * MiB;
}

/**
 * DaemonSets AKS runs on every Linux node of a cluster with no add-on (src/scaling/daemonsets.ts: kube-proxy
 * 100m, cloud-node-manager 50m/50Mi, the Azure Disk and Azure File CSI node plugins 30m/60Mi each). A
 * cluster's add-ons change it: use `nodeTypesFor(cluster.addOns)`.
 */
export const AKS_DAEMONSETS: DaemonSetOverhead = daemonSetOverhead([]);

/** Azure CNI Overlay's default pods per node (AKS node auto-provisioning uses it). */
export const DEFAULT_MAX_PODS = 250;

/** A SKU as the price snapshot lists it. */
export interface Sku {
  name: string;
  vcpu: number;
  memoryGiB: number;
  pricePerHour: number;
}

/**
 * D-family SKUs (amd64; the NAP default pool's requirement is sku-family D) and their list prices.
 * PRICE SNAPSHOT — on-demand Linux, region eastus, USD per hour. Source: the initial on-demand price table of
 * Karpenter's Azure provider (github.com/Azure/karpenter-provider-azure, pkg/providers/pricing/zz_generated.pricing.go,
 * "generated at 2023-12-18T14:34:50Z" from the Azure Retail Prices API), which is what Karpenter on AKS ranks by
 * until it has fetched live prices. Every Dsv5 and Ddsv5 size there is linear in vCPUs (0.048 and 0.0565 per
 * vCPU-hour: D2s_v5 0.096, D2ds_v5 0.113); Dasv5 is 0.043 per vCPU-hour where that table lists the Linux meter
 * (D4as_v5 0.172, D48as_v5 2.064, D96as_v5 4.128) — its D2, D8, D16, D32 and D64 rows carry another meter's price
 * (D2as_v5 0.178, above D2s_v5), so the linear list price is kept here. Prices change; they serve to rank SKUs as
 * Karpenter does (cheapest compatible first). Refresh from https://prices.azure.com/api/retail/prices.
 */
export const D_FAMILY_SKUS: Sku[] = [
  ...[2, 4, 8, 16, 32, 48, 64, 96].map((v) => ({ name: `Standard_D${v}s_v5`, vcpu: v, memoryGiB: 4 * v, pricePerHour: round4(0.048 * v) })),
  ...[2, 4, 8, 16, 32, 48, 64, 96].map((v) => ({ name: `Standard_D${v}as_v5`, vcpu: v, memoryGiB: 4 * v, pricePerHour: round4(0.043 * v) })),
  ...[2, 4, 8, 16, 32, 48, 64, 96].map((v) => ({ name: `Standard_D${v}ds_v5`, vcpu: v, memoryGiB: 4 * v, pricePerHour: round4(0.0565 * v) })),
];

function round4(n: number): number {
  return Math.round(n * 10000) / 10000;
}

export interface CatalogOptions {
  maxPods?: number;
  daemonSets?: DaemonSetOverhead;
}

/** Allocatable for the pods a user schedules: capacity less AKS's reservations and the DaemonSets' requests. */
export function instanceTypeOf(sku: Sku, o: CatalogOptions = {}): InstanceType {
  const maxPods = o.maxPods ?? DEFAULT_MAX_PODS;
  const ds = o.daemonSets ?? AKS_DAEMONSETS;
  const mem = sku.memoryGiB * GiB;
  return {
    name: sku.name,
    cpuMillis: sku.vcpu * 1000 - reservedCpuMillis(sku.vcpu) - ds.cpuMillis,
    memoryBytes: Math.floor(mem - reservedMemoryBytes(mem, maxPods) - ds.memoryBytes),
    maxPods: maxPods - ds.pods,
    pricePerHour: sku.pricePerHour,
  };
}

export function catalogOf(skus: Sku[], o: CatalogOptions = {}): InstanceType[] {
  return skus.map((s) => instanceTypeOf(s, o));
}

/** The D family as Karpenter on AKS sees it: every SKU of the snapshot, allocatable by AKS's rules. */
export const DEFAULT_CATALOG: InstanceType[] = catalogOf(D_FAMILY_SKUS);

/**
 * The allocatable capacity of a VM size named by a blueprint's agent pool. Sizes outside the catalog are
 * estimated from the vCPU count in the name (D<n>: n vCPU, 4 GiB each), with the same reservations and
 * DaemonSets (`o`, as the catalog was built with).
 */
export function instanceTypeFor(vmSize: string, catalog: InstanceType[] = DEFAULT_CATALOG, o: CatalogOptions = {}): InstanceType {
  const known = catalog.find((t) => t.name.toLowerCase() === vmSize.toLowerCase());
  if (known) return known;
  const vcpu = Number(/^Standard_[A-Z]+?(\d+)/i.exec(vmSize)?.[1] ?? 2) || 2;
  return instanceTypeOf({ name: vmSize, vcpu, memoryGiB: 4 * vcpu, pricePerHour: round4(0.048 * vcpu) }, o);
}

/** Node sizes as a cluster with given add-ons sees them: every node's allocatable less their DaemonSets. */
export interface ClusterNodeTypes {
  /** What the cluster's DaemonSets take from every node. */
  daemonSets: DaemonSetOverhead;
  /** The D family, for Karpenter's choice. */
  catalog: InstanceType[];
  /** A static pool's VM size. */
  typeFor(vmSize: string): InstanceType;
}

const byAddOns = new Map<string, ClusterNodeTypes>();

/**
 * The one place a node's allocatable is computed for a cluster: the local runtime's static pools and
 * Karpenter NodePools, `simulate` and Karpenter's instance selection all take their node types from here.
 */
export function nodeTypesFor(addOns: readonly ClusterAddOn[] = []): ClusterNodeTypes {
  const key = [...new Set(addOns)].sort().join(",");
  let types = byAddOns.get(key);
  if (!types) {
    const daemonSets = daemonSetOverhead(addOns);
    const catalog = key === "" ? DEFAULT_CATALOG : catalogOf(D_FAMILY_SKUS, { daemonSets });
    types = { daemonSets, catalog, typeFor: (vmSize) => instanceTypeFor(vmSize, catalog, { daemonSets }) };
    byAddOns.set(key, types);
  }
  return types;
}

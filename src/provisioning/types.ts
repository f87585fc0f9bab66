/**
 * The resource graph of a blueprint: typed nodes that reference each other's outputs.
 * A graph is data; the engine walks it and a provider (Azure or local) interprets each node.
 */
import type { Blueprint } from "../blueprints/types.js";
import type { BlueprintName } from "../blueprints/index.js";
import type { CloudName } from "./clouds.js";
import type { RoleName } from "./roles.js";

/** A value produced by another node once it exists (its `name`, `id`, `principalId`, …). */
export interface Ref {
  ref: string;
  output: string;
}

/** A secret produced by another node (a storage account key). Resolved at apply time, never stored. */
export interface SecretRef {
  secretFrom: string;
  key: string;
}

export type Value = string | Ref;

interface NodeBase<K extends string> {
  /** Stable key of the step in the graph and in the state file. */
  id: string;
  kind: K;
  /** Azure resource name (with the suffix). */
  name: string;
  /** Extra ordering beyond the references in the properties. */
  dependsOn?: string[];
}

export interface ResourceGroupNode extends NodeBase<"resourceGroup"> {
  location: string;
  tags: Record<string, string>;
}

export interface StorageAccountNode extends NodeBase<"storageAccount"> {
  resourceGroup: Ref;
  location: string;
  sku: "Standard_LRS" | "Standard_ZRS" | "Standard_GRS";
  /** Deny-by-default with the listed client IPs allowed (the seed's network rules). */
  defaultAction: "Allow" | "Deny";
  ipRules: string[];
  tags: Record<string, string>;
}

export interface StorageChildNode<K extends "storageQueue" | "storageTable" | "blobContainer"> extends NodeBase<K> {
  account: Ref;
  resourceGroup: Ref;
}

/**
 * Seed 000 step 22: the cluster's node subnet gets the Microsoft.Storage service endpoint and the storage
 * account a virtual-network rule for it, so pods reach a deny-by-default account.
 */
export interface StorageSubnetRuleNode extends NodeBase<"storageSubnetRule"> {
  account: Ref;
  resourceGroup: Ref;
  /** The cluster's node resource group (where AKS puts its virtual network). */
  nodeResourceGroup: Ref;
}

export interface ContainerRegistryNode extends NodeBase<"containerRegistry"> {
  resourceGroup: Ref;
  location: string;
  sku: "Basic" | "Standard" | "Premium";
  adminUserEnabled: boolean;
  tags: Record<string, string>;
}

/** `az acr import`: copies a public image into the registry under the target tag. */
export interface RegistryImportNode extends NodeBase<"registryImport"> {
  registry: Ref;
  resourceGroup: Ref;
  sourceRegistry: string;
  sourceImage: string;
  targetTag: string;
}

export interface IdentityNode extends NodeBase<"userAssignedIdentity"> {
  resourceGroup: Ref;
  location: string;
  tags: Record<string, string>;
}

export interface FederatedCredentialNode extends NodeBase<"federatedCredential"> {
  identity: Ref;
  resourceGroup: Ref;
  issuer: Value;
  subject: string;
  audiences: string[];
}

/** A built-in role granted to a principal, scoped to one resource (never the subscription). */
export interface RoleAssignmentNode extends NodeBase<"roleAssignment"> {
  /** The resource the role applies to: its `id` output. */
  scope: Ref;
  role: RoleName;
  principalId: Value;
  principalType: "ServicePrincipal" | "User" | "Group";
}

export interface KeyVaultNode extends NodeBase<"keyVault"> {
  resourceGroup: Ref;
  location: string;
  /** Access-policy model (the seed's `--enable-rbac-authorization false`). */
  accessPolicies: Array<{ objectId: Value; secrets: Array<"get" | "list" | "set" | "delete"> }>;
  softDeleteRetentionInDays: number;
  tags: Record<string, string>;
}

export interface KeyVaultSecretNode extends NodeBase<"keyVaultSecret"> {
  vault: Ref;
  resourceGroup: Ref;
  value: Value | SecretRef;
}

export interface AgentPool {
  name: string;
  mode: "System" | "User";
  count: number;
  vmSize: string;
  taints: string[];
  /** Kubernetes labels on the pool's nodes (`--labels`). */
  labels?: Record<string, string>;
  zones?: string[];
  /** Subnet for Azure CNI (non-overlay) clusters. */
  subnetId?: Value;
}

export interface ManagedClusterNode extends NodeBase<"managedCluster"> {
  resourceGroup: Ref;
  location: string;
  kubernetesVersion?: string;
  tier: "Free" | "Standard";
  dnsPrefix: string;
  /** User-assigned control-plane identity; system-assigned when omitted. */
  identity?: Ref;
  pools: AgentPool[];
  network: { plugin: "azure" | "kubenet"; pluginMode?: "overlay"; dataplane?: "cilium" };
  oidcIssuer: boolean;
  workloadIdentity: boolean;
  keda: boolean;
  nodeAutoProvisioning: boolean;
  blobCsiDriver: boolean;
  /** Container insights add-on, sending to this Log Analytics workspace (its `id`). */
  monitoring?: Ref;
  autoUpgradeChannel?: "stable" | "patch" | "rapid" | "node-image" | "none";
  nodeOsUpgradeChannel?: "NodeImage" | "Unmanaged" | "SecurityPatch" | "None";
  tags: Record<string, string>;
}

/** Log Analytics workspace for the monitoring add-on (what `az aks create --enable-addons monitoring` makes implicitly). */
export interface LogAnalyticsWorkspaceNode extends NodeBase<"logAnalyticsWorkspace"> {
  resourceGroup: Ref;
  location: string;
  retentionInDays: number;
  tags: Record<string, string>;
}

export interface VirtualNetworkNode extends NodeBase<"virtualNetwork"> {
  resourceGroup: Ref;
  location: string;
  addressPrefixes: string[];
  subnets: Array<{ name: string; addressPrefix: string }>;
  tags: Record<string, string>;
}

export interface PublicIpNode extends NodeBase<"publicIp"> {
  resourceGroup: Ref;
  location: string;
  sku: "Standard";
  allocation: "Static";
  tags: Record<string, string>;
}

export interface ApplicationGatewayNode extends NodeBase<"applicationGateway"> {
  resourceGroup: Ref;
  location: string;
  sku: "Standard_v2";
  capacity: number;
  /** Subnet id (the `subnet:<name>` output of the virtual network). */
  subnetId: Ref;
  publicIpId: Ref;
  tags: Record<string, string>;
}

/**
 * The blue-green switch (seed 003 part 2): the AGIC add-on on the active cluster owns the gateway;
 * it is enabled on the target first and then disabled on the other, so traffic is never unowned.
 */
export interface AgicSwitchNode extends NodeBase<"agicSwitch"> {
  resourceGroup: Ref;
  active: "blue" | "green";
  clusters: { blue: Ref; green: Ref };
  applicationGatewayId: Ref;
}

export type ResourceNode =
  | ResourceGroupNode
  | StorageAccountNode
  | StorageChildNode<"storageQueue">
  | StorageChildNode<"storageTable">
  | StorageChildNode<"blobContainer">
  | StorageSubnetRuleNode
  | ContainerRegistryNode
  | RegistryImportNode
  | IdentityNode
  | FederatedCredentialNode
  | RoleAssignmentNode
  | KeyVaultNode
  | KeyVaultSecretNode
  | ManagedClusterNode
  | LogAnalyticsWorkspaceNode
  | VirtualNetworkNode
  | PublicIpNode
  | ApplicationGatewayNode
  | AgicSwitchNode;

export type ResourceKind = ResourceNode["kind"];
export type NodeOfKind<K extends ResourceKind> = Extract<ResourceNode, { kind: K }>;

/** The graph of one blueprint, with the deploy.state keys the seed's scripts read. */
export interface ResourceGraph {
  blueprint: string;
  cloud: CloudName;
  location: string;
  suffix: string;
  nodes: ResourceNode[];
  /** `KEY=value` lines of `--export-env`, in the seed's order. */
  exports: Array<[string, Value]>;
}

/** What a graph builder needs; every field has been validated before the builder runs. */
export interface GraphContext {
  suffix: string;
  cloud: CloudName;
  location: string;
  /** Client IP allowed through storage network rules (the seed's MY_IP_ADDRESS); none when undefined. */
  clientIp?: string;
  /** Blue-green: which cluster the gateway serves. */
  active?: "blue" | "green";
  /** Overrides the version of every cluster of the blueprint (`--kubernetes-version`). */
  kubernetesVersion?: string;
  /** Blue-green upgrade: the version of one cluster (`akspilot upgrade --target aks --to`), over the above. */
  clusterVersions?: Partial<Record<"blue" | "green", string>>;
  /** Blue-green upgrade: clusters left out of the graph (removed by `--finish` or a rollback). */
  retired?: ("blue" | "green")[];
}

/**
 * The Azure resources of one blueprint. The clusters (agent pools, Kubernetes versions) and the names the
 * workloads use (queues, tables, secrets, images, service accounts) come from the blueprint; the
 * definition adds only what is Azure's: resource names, regions, networks, identities, roles.
 */
export interface BlueprintGraphDefinition {
  /** The provisioning name: state files, `akspilot deploy <name>` (the blueprint's name is accepted too). */
  name: string;
  /** The blueprint this graph provisions for. */
  blueprint: BlueprintName;
  title: string;
  defaultCloud: CloudName;
  /** The seed's region for each cloud. */
  defaultLocation: Record<CloudName, string>;
  build(ctx: GraphContext, bp: Blueprint): ResourceGraph;
}

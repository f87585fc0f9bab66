import { createHash } from "node:crypto";
import { stableGuid } from "./names.js";
import type { ResolvedNode } from "./provider.js";
import type { NodeOfKind } from "./types.js";
import type { Resolved } from "./refs.js";

export function resourceGroupId(subscriptionId: string, rg: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${rg}`;
}

/** Role assignment names are derived from what they grant, so re-applying one never duplicates it. */
export function roleAssignmentName(node: Resolved<NodeOfKind<"roleAssignment">>): string {
  return stableGuid(node.scope, node.role, node.principalId);
}

/** The Azure resource id a node has (or will have); local resources use the same shape. */
export function resourceId(subscriptionId: string, node: ResolvedNode): string {
  const p = (rg: string, type: string, name: string) => `${resourceGroupId(subscriptionId, rg)}/providers/${type}/${name}`;
  switch (node.kind) {
    case "resourceGroup":
      return resourceGroupId(subscriptionId, node.name);
    case "storageAccount":
      return p(node.resourceGroup, "Microsoft.Storage/storageAccounts", node.name);
    case "storageQueue":
      return `${p(node.resourceGroup, "Microsoft.Storage/storageAccounts", node.account)}/queueServices/default/queues/${node.name}`;
    case "storageTable":
      return `${p(node.resourceGroup, "Microsoft.Storage/storageAccounts", node.account)}/tableServices/default/tables/${node.name}`;
    case "blobContainer":
      return `${p(node.resourceGroup, "Microsoft.Storage/storageAccounts", node.account)}/blobServices/default/containers/${node.name}`;
    case "storageSubnetRule":
      return `${p(node.resourceGroup, "Microsoft.Storage/storageAccounts", node.account)}/virtualNetworkRules/${node.nodeResourceGroup}`;
    case "containerRegistry":
      return p(node.resourceGroup, "Microsoft.ContainerRegistry/registries", node.name);
    case "registryImport":
      return `${p(node.resourceGroup, "Microsoft.ContainerRegistry/registries", node.registry)}/importedImages/${node.targetTag}`;
    case "userAssignedIdentity":
      return p(node.resourceGroup, "Microsoft.ManagedIdentity/userAssignedIdentities", node.name);
    case "federatedCredential":
      return `${p(node.resourceGroup, "Microsoft.ManagedIdentity/userAssignedIdentities", node.identity)}/federatedIdentityCredentials/${node.name}`;
    case "roleAssignment":
      return `${node.scope}/providers/Microsoft.Authorization/roleAssignments/${roleAssignmentName(node)}`;
    case "keyVault":
      return p(node.resourceGroup, "Microsoft.KeyVault/vaults", node.name);
    case "keyVaultSecret":
      return `${p(node.resourceGroup, "Microsoft.KeyVault/vaults", node.vault)}/secrets/${node.name}`;
    case "managedCluster":
      return p(node.resourceGroup, "Microsoft.ContainerService/managedClusters", node.name);
    case "logAnalyticsWorkspace":
      return p(node.resourceGroup, "Microsoft.OperationalInsights/workspaces", node.name);
    case "virtualNetwork":
      return p(node.resourceGroup, "Microsoft.Network/virtualNetworks", node.name);
    case "publicIp":
      return p(node.resourceGroup, "Microsoft.Network/publicIPAddresses", node.name);
    case "applicationGateway":
      return p(node.resourceGroup, "Microsoft.Network/applicationGateways", node.name);
    case "agicSwitch":
      return `${resourceGroupId(subscriptionId, node.resourceGroup)}/agicSwitch/${node.id}`;
  }
}

/** A short fingerprint of a secret value, so a changed secret is detected without storing or showing it. */
export function fingerprint(value: string): string {
  return `sha256:${createHash("sha256").update(`akspilot-secret:${value}`).digest("hex").slice(0, 16)}`;
}

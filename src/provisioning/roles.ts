/** Built-in Azure roles the blueprints grant, by their fixed role-definition GUIDs. */
export const BUILT_IN_ROLES = {
  AcrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
  "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
  /** Send only: what a producer needs. */
  "Storage Queue Data Message Sender": "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a",
  "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
  "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
  /** For a cluster's identity on the subnet it joins (Azure CNI with a custom VNet). */
  "Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
  /** For the AGIC add-on identity on its Application Gateway. */
  Contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
  Reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
} as const;

export type RoleName = keyof typeof BUILT_IN_ROLES;

/** Data actions each role allows, as Azure documents them (used by the local authorization check). */
export const ROLE_DATA_ACTIONS: Record<RoleName, string[]> = {
  AcrPull: ["Microsoft.ContainerRegistry/registries/pull/read"],
  "Storage Queue Data Contributor": [
    "Microsoft.Storage/storageAccounts/queueServices/queues/messages/read",
    "Microsoft.Storage/storageAccounts/queueServices/queues/messages/write",
    "Microsoft.Storage/storageAccounts/queueServices/queues/messages/delete",
    "Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action",
    "Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action",
  ],
  "Storage Queue Data Message Sender": ["Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action"],
  "Storage Table Data Contributor": [
    "Microsoft.Storage/storageAccounts/tableServices/tables/entities/read",
    "Microsoft.Storage/storageAccounts/tableServices/tables/entities/write",
    "Microsoft.Storage/storageAccounts/tableServices/tables/entities/delete",
    "Microsoft.Storage/storageAccounts/tableServices/tables/entities/add/action",
    "Microsoft.Storage/storageAccounts/tableServices/tables/entities/update/action",
  ],
  "Storage Blob Data Contributor": [
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
  ],
  "Key Vault Secrets User": ["Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
  // Control-plane roles: no data actions.
  "Network Contributor": [],
  Contributor: [],
  Reader: [],
};

export function roleDefinitionId(subscriptionId: string, role: RoleName): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${BUILT_IN_ROLES[role]}`;
}

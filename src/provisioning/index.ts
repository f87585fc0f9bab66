// Public surface of provisioning: the engine, the graphs, and what the local runtime calls.
export { plan, deploy, destroy, readDeployed, exportEnvText, orderNodes, type ProvisionOptions, type RunReport, type StepReport } from "./engine.js";
export { getGraphDefinition, graphNames } from "./graphs/index.js";
export { CLOUDS, cloudOf, parseCloud, storageEndpoint, registryLoginServer, keyVaultUri, type Cloud, type CloudName } from "./clouds.js";
export { authorizeLocal, isAuthorizedLocal, localIdentities, localRoleAssignments, DATA_ACTIONS, type LocalAccessRequest } from "./local/rbac.js";
export { LocalSecretVault, VaultError } from "./local/vault.js";
export { statePath, type ProvisioningState, type ResourceRecord } from "./state.js";
export type { ResourceGraph, ResourceNode, ResourceKind } from "./types.js";

import { storageClients, type CallCounter, type StorageClients } from "../storage/clients.js";
import { storageFromEnv, storageNamesFromEnv, type StorageEndpoint, type StorageNames } from "../storage/config.js";
import { EDW_DEFAULTS } from "../blueprints/edw.js";
import { UserError } from "../errors.js";

/** Queue and table of the EDW apps: the environment's (the seed's variables), else the seed's names. */
export function appStorageNames(env: NodeJS.ProcessEnv = process.env): StorageNames {
  return storageNamesFromEnv({ queueName: EDW_DEFAULTS.queueName, tableName: EDW_DEFAULTS.tableName }, env);
}

/**
 * Data-plane clients for an app: a connection string, or the account with DefaultAzureCredential (workload
 * identity in a pod, locally as on AKS: the local runtime enforces roles at the service, not here).
 */
export async function appStorageClients(endpoint: StorageEndpoint, counter?: CallCounter, _env: NodeJS.ProcessEnv = process.env): Promise<StorageClients> {
  return storageClients(endpoint, { counter });
}

/** Storage for an app process: only what its environment names (a container has nothing else). */
export function appStorageEndpoint(env: NodeJS.ProcessEnv = process.env): StorageEndpoint {
  const endpoint = storageFromEnv(env);
  if (!endpoint) {
    throw new UserError(
      "no storage configured: AZURE_STORAGE_CONNECTION_STRING and AZURE_STORAGE_ACCOUNT_NAME are unset",
      "set one of them (or use `akspilot consume`/`akspilot produce`, which find a running `akspilot up`)",
    );
  }
  return endpoint;
}

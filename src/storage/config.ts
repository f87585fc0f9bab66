import { UserError } from "../errors.js";
import { checkQueueName, checkTableName } from "./names.js";

/** Where the data plane is: a connection string (Azurite or Azure), or an account reached with Entra ID. */
export type StorageEndpoint =
  | { kind: "connection-string"; connectionString: string; origin: "embedded" | "env" }
  | { kind: "identity"; accountName: string; endpointSuffix: string };

export interface StorageNames {
  queueName: string;
  tableName: string;
}

/** Reads the seed's variables (AZURE_QUEUE_NAME, AZURE_TABLE_NAME); `defaults` are the caller's blueprint's. */
export function storageNamesFromEnv(defaults: StorageNames, env: NodeJS.ProcessEnv = process.env): StorageNames {
  return {
    queueName: checkQueueName(env.AZURE_QUEUE_NAME || defaults.queueName, "AZURE_QUEUE_NAME"),
    tableName: checkTableName(env.AZURE_TABLE_NAME || defaults.tableName, "AZURE_TABLE_NAME"),
  };
}

/**
 * External storage named by the environment, or undefined (then akspilot starts Azurite).
 * AZURE_STORAGE_CONNECTION_STRING wins; otherwise AZURE_STORAGE_ACCOUNT_NAME with DefaultAzureCredential
 * (az login locally, workload identity in a pod).
 */
export function storageFromEnv(env: NodeJS.ProcessEnv = process.env): StorageEndpoint | undefined {
  const cs = env.AZURE_STORAGE_CONNECTION_STRING?.trim();
  if (cs) {
    if (!/AccountName=|QueueEndpoint=|UseDevelopmentStorage=true/i.test(cs)) {
      throw new UserError(
        "AZURE_STORAGE_CONNECTION_STRING does not look like a storage connection string (no AccountName= or QueueEndpoint=)",
        "copy it from the storage account's Access keys page, or unset it to use embedded storage",
      );
    }
    return { kind: "connection-string", connectionString: cs, origin: "env" };
  }
  const account = env.AZURE_STORAGE_ACCOUNT_NAME?.trim();
  if (account && !account.startsWith("<")) {
    if (!/^[a-z0-9]{3,24}$/.test(account)) {
      throw new UserError(`AZURE_STORAGE_ACCOUNT_NAME "${account}" is not a valid storage account name`, "use 3–24 lowercase letters and digits");
    }
    return { kind: "identity", accountName: account, endpointSuffix: env.AZURE_STORAGE_ENDPOINT_SUFFIX?.trim() || "core.windows.net" };
  }
  return undefined;
}

/** A description safe to print: never contains a key or a SAS. */
export function describeStorage(s: StorageEndpoint): string {
  if (s.kind === "identity") return `account ${s.accountName} (Entra ID)`;
  const queue = /QueueEndpoint=([^;]+)/i.exec(s.connectionString)?.[1];
  const account = /AccountName=([^;]+)/i.exec(s.connectionString)?.[1];
  const where = queue ?? (account ? `account ${account}` : "connection string");
  return s.origin === "embedded" ? `embedded Azurite at ${where}` : `${where} (AZURE_STORAGE_CONNECTION_STRING)`;
}

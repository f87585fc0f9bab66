import { UserError } from "../errors.js";
import { readRuntimeFile } from "../local/runtime-file.js";
import { storageFromEnv, type StorageEndpoint } from "../storage/config.js";

/**
 * Storage for a standalone command (`produce`, `consume`, `poison`): the environment's, else the
 * embedded storage of an `akspilot up` running in this directory.
 */
export function resolveStandaloneStorage(env: NodeJS.ProcessEnv = process.env): StorageEndpoint {
  const fromEnv = storageFromEnv(env);
  if (fromEnv) return fromEnv;
  const rt = readRuntimeFile();
  if (rt?.storage) return { kind: "connection-string", connectionString: rt.storage.connectionString, origin: "embedded" };
  throw new UserError(
    "no storage to use: AZURE_STORAGE_CONNECTION_STRING and AZURE_STORAGE_ACCOUNT_NAME are unset and no `akspilot up` is running here",
    "set one of them, or start `akspilot up edw` in this directory first",
  );
}

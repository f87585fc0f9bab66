import { UserError, errorMessage } from "../errors.js";
import type { StorageClients } from "./clients.js";
import { describeStorage, type StorageEndpoint, type StorageNames } from "./config.js";
import { poisonQueueName } from "./names.js";
import { withDeadline, type DeadlineOptions } from "./deadline.js";

/**
 * Creates the queue, its poison queue and the table if missing; the first call also proves storage answers.
 * The whole check has one deadline (AKSPILOT_STORAGE_TIMEOUT_MS, default 10 s, retries included), so an
 * endpoint that accepts connections and never replies ends in one line instead of a silent wait.
 * `sendOnly`: the caller only sends (a producer whose identity holds Storage Queue Data Message Sender,
 * which may not create queues): a refusal to create is no error, as the deploy made them.
 */
export async function ensureStorage(endpoint: StorageEndpoint, clients: StorageClients, names: StorageNames, o: DeadlineOptions & { sendOnly?: boolean } = {}): Promise<void> {
  await withDeadline(
    endpoint,
    async (abortSignal) => {
      try {
        await clients.queue(names.queueName).createIfNotExists({ abortSignal });
        await clients.queue(poisonQueueName(names.queueName)).createIfNotExists({ abortSignal });
        await clients.table(names.tableName).createTable({ abortSignal });
      } catch (e) {
        if (o.sendOnly && isRefused(e)) return;
        throw e;
      }
    },
    (e) => storageError(endpoint, e),
    o,
  );
}

/** `call` under the first-answer deadline, its failures as one readable line (see withDeadline). */
export function storageCall<T>(endpoint: StorageEndpoint, call: (abortSignal: AbortSignal) => Promise<T>, o: DeadlineOptions = {}): Promise<T> {
  return withDeadline(endpoint, call, (e) => storageError(endpoint, e), o);
}

function isRefused(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return (e as { statusCode?: number }).statusCode === 403 || code === "AuthorizationPermissionMismatch" || code === "AuthorizationFailure";
}

/** One readable line for a storage failure; never includes keys. */
export function storageError(endpoint: StorageEndpoint, e: unknown): UserError {
  const where = describeStorage(endpoint);
  const status = (e as { statusCode?: number }).statusCode;
  const code = (e as { code?: string }).code;
  const msg = errorMessage(e)
    .split("\n")[0]!
    .replace(/AccountKey=[^;]+/gi, "AccountKey=***")
    .replace(/sig=[^&\s]+/gi, "sig=***");
  if (isRefused(e)) {
    return new UserError(
      `storage refused access at ${where} (${code ?? status})`,
      "grant the identity Storage Queue Data Contributor and Storage Table Data Contributor on the account",
    );
  }
  // Entra's own code and first sentence (AADSTS70021, AADSTS700024 …), wherever the credential chain put it.
  const aadsts = /AADSTS\d+: [^.]*\./.exec(errorMessage(e))?.[0];
  if (endpoint.kind === "identity" && aadsts) {
    return new UserError(`cannot get an Entra ID token for ${where}: ${aadsts}`, "see `akspilot identity explain <namespace>/<serviceaccount>`");
  }
  if (endpoint.kind === "identity" && /credential|token|authenticat/i.test(msg)) {
    return new UserError(`cannot get an Entra ID token for ${where}: ${msg}`, "run `az login`, or set AZURE_STORAGE_CONNECTION_STRING");
  }
  const hint =
    endpoint.kind === "connection-string" && endpoint.origin === "env"
      ? "check AZURE_STORAGE_CONNECTION_STRING, or unset it to use embedded storage"
      : "check the account name and network access";
  return new UserError(`cannot reach storage at ${where}: ${msg}`, hint);
}

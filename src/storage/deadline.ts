import { RestError, type HttpClient } from "@azure/core-rest-pipeline";
import { UserError } from "../errors.js";
import { describeStorage, type StorageEndpoint } from "./config.js";

/**
 * Client-side limit of one HTTP try. The queue SDK's `tryTimeoutInMs` only sets the server-side `timeout=`
 * query parameter, and the table SDK sets none: against an endpoint that accepts the connection and never
 * answers, a call would wait for good. A try past this limit is abandoned and retried by the SDK's policy.
 */
export const TRY_TIMEOUT_MS = 30_000;

/** Default limit for the first call that proves storage answers (all retries included). */
export const FIRST_ANSWER_TIMEOUT_MS = 10_000;

/** The limit of the first reachability check: AKSPILOT_STORAGE_TIMEOUT_MS, else 10 s. */
export function storageTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.AKSPILOT_STORAGE_TIMEOUT_MS?.trim();
  if (!raw) return FIRST_ANSWER_TIMEOUT_MS;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    throw new UserError(`AKSPILOT_STORAGE_TIMEOUT_MS must be a whole number of milliseconds ≥ 1, got "${raw}"`, `unset it for ${FIRST_ANSWER_TIMEOUT_MS} ms`);
  }
  return Number(raw);
}

/**
 * Wraps an HTTP client so that each try ends after `tryTimeoutMs` without an answer. The failure is a
 * RestError with code ETIMEDOUT, which both SDKs' retry policies treat as transient (an AbortError would
 * end the call at once, and would be indistinguishable from the caller's own abort).
 */
export function timedHttpClient(inner: HttpClient, tryTimeoutMs = TRY_TIMEOUT_MS): HttpClient {
  return {
    async sendRequest(req) {
      const outer = req.abortSignal;
      const ac = new AbortController();
      const forward = () => ac.abort(new Error("aborted by the caller"));
      if (outer?.aborted) forward();
      else outer?.addEventListener("abort", forward, { once: true });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ac.abort(new Error("try timed out"));
      }, tryTimeoutMs);
      req.abortSignal = ac.signal;
      try {
        return await inner.sendRequest(req);
      } catch (e) {
        if (timedOut && !outer?.aborted) {
          throw new RestError(`no answer within ${tryTimeoutMs} ms (ETIMEDOUT)`, { code: "ETIMEDOUT", request: req });
        }
        throw e;
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener("abort", forward);
        req.abortSignal = outer;
      }
    },
  };
}

export interface DeadlineOptions {
  /** Limit for the whole call, retries included; default storageTimeoutMs(). */
  timeoutMs?: number;
  /** The caller's stop (SIGINT/SIGTERM): ends the wait at once. */
  signal?: AbortSignal;
}

/** `akspilot` stopped by a signal while a storage call was pending: exit 130, as a shell reports SIGINT. */
export function interruptedError(endpoint: StorageEndpoint): UserError {
  return new UserError(`interrupted while waiting for storage at ${describeStorage(endpoint)}`, undefined, 130);
}

export function noAnswerError(endpoint: StorageEndpoint, timeoutMs: number): UserError {
  const seconds = Math.round((timeoutMs / 1000) * 10) / 10;
  return new UserError(
    `storage at ${describeStorage(endpoint)} did not answer within ${seconds} s`,
    "check that the endpoint is a storage service and reachable (AKSPILOT_STORAGE_TIMEOUT_MS sets this limit in ms)",
  );
}

/**
 * Runs storage calls under one deadline across all their retries. `call` must pass the signal to each SDK
 * call (`abortSignal`). Past the deadline: a one-line UserError; on the caller's signal: interruptedError;
 * any other failure: `onError` (the caller's readable storage error).
 */
export async function withDeadline<T>(endpoint: StorageEndpoint, call: (signal: AbortSignal) => Promise<T>, onError: (e: unknown) => Error, o: DeadlineOptions = {}): Promise<T> {
  const timeoutMs = o.timeoutMs ?? storageTimeoutMs();
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort(new Error("deadline"));
  }, timeoutMs);
  const forward = () => ac.abort(o.signal?.reason);
  if (o.signal?.aborted) forward();
  else o.signal?.addEventListener("abort", forward, { once: true });
  try {
    if (ac.signal.aborted) throw new Error("aborted before the call");
    return await call(ac.signal);
  } catch (e) {
    if (timedOut) throw noAnswerError(endpoint, timeoutMs);
    if (o.signal?.aborted) throw interruptedError(endpoint);
    throw onError(e);
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", forward);
  }
}

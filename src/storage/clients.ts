import { QueueClient, newPipeline, type StoragePipelineOptions } from "@azure/storage-queue";
import { TableClient, TableServiceClient } from "@azure/data-tables";
import type { TokenCredential } from "@azure/core-auth";
import { createDefaultHttpClient, type HttpClient, type PipelineRequest } from "@azure/core-rest-pipeline";
import type { StorageEndpoint } from "./config.js";
import { TRY_TIMEOUT_MS, timedHttpClient } from "./deadline.js";
import { proxyKeepAliveHttpClient } from "./proxy-keepalive.js";

/** Counts every HTTP request the SDK sends (retries included): the "storage calls" figure. */
export class CallCounter {
  calls = 0;
  readonly byOperation = new Map<string, number>();

  record(req: PipelineRequest): void {
    this.calls++;
    const op = `${req.method} ${operationOf(req.url)}`;
    this.byOperation.set(op, (this.byOperation.get(op) ?? 0) + 1);
  }
}

function operationOf(url: string): string {
  const u = new URL(url);
  if (u.pathname.endsWith("/messages") || /\/messages\//.test(u.pathname)) return "messages";
  if (u.pathname.endsWith("$batch")) return "table-batch";
  if (u.searchParams.has("comp")) return u.searchParams.get("comp") ?? "other";
  return u.pathname.includes("Tables") ? "tables" : "resource";
}

function countingHttpClient(counter: CallCounter): HttpClient {
  const inner = createDefaultHttpClient();
  return {
    sendRequest(req) {
      counter.record(req);
      return inner.sendRequest(req);
    },
  };
}

/**
 * The queue SDK's public httpClient option takes only its legacy client shape; its pipeline reads a
 * modern client from `_coreHttpClient` when present. That one field (pinned SDK version) is the seam.
 */
function countedQueueClient(probe: QueueClient, httpClient: HttpClient, options: StoragePipelineOptions): QueueClient {
  // `credential` is protected on the client; the probe was built only to parse the connection string.
  const credential = (probe as unknown as { credential: Parameters<typeof newPipeline>[0] }).credential;
  const pipeline = newPipeline(credential, options);
  (pipeline as unknown as { _coreHttpClient: HttpClient })._coreHttpClient = httpClient;
  return new QueueClient(probe.url, pipeline);
}

export interface StorageClients {
  counter: CallCounter;
  queue(name: string): QueueClient;
  table(name: string): TableClient;
  tableService(): TableServiceClient;
}

/**
 * Entra ID credential, loaded on first use: @azure/identity is large and a connection string never needs it.
 * Token requests go through `getToken`, so the credential is created lazily behind this small adapter.
 */
function lazyDefaultCredential(): TokenCredential {
  let real: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes, options) {
      real ??= import("@azure/identity").then((m) => new m.DefaultAzureCredential());
      return (await real).getToken(scopes, options);
    },
  };
}

export interface StorageClientOptions {
  counter?: CallCounter;
}

/** Data-plane clients for one storage endpoint, sharing one counting HTTP client (and its keep-alive pool). */
export function storageClients(endpoint: StorageEndpoint, options: StorageClientOptions = {}): StorageClients {
  const counter = options.counter ?? new CallCounter();
  // Each try has a client-side limit (see TRY_TIMEOUT_MS): a silent endpoint costs a bounded wait, then a retry.
  // Through an HTTPS_PROXY, tunnels are kept alive and shared (the SDK's proxy agent opens one per request).
  const counting = timedHttpClient(proxyKeepAliveHttpClient(countingHttpClient(counter)));
  const forTable = (_table?: string): HttpClient => counting;
  const httpClient = counting;
  // Fail fast on a dead endpoint instead of the SDK's multi-minute default backoff.
  // tryTimeoutInMs only tells the server its limit; the client-side limit of a try is timedHttpClient's.
  const retryOptions = { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2000, tryTimeoutInMs: TRY_TIMEOUT_MS };
  // The same three tries for tables (the SDK's default is four, with up to 64 s between them).
  const tableRetryOptions = { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2000 };
  if (endpoint.kind === "connection-string") {
    const cs = endpoint.connectionString;
    return {
      counter,
      queue: (name) => countedQueueClient(new QueueClient(cs, name), httpClient, { retryOptions }),
      table: (name) => TableClient.fromConnectionString(cs, name, { httpClient: forTable(name), allowInsecureConnection: true, retryOptions: tableRetryOptions }),
      tableService: () => TableServiceClient.fromConnectionString(cs, { httpClient: forTable(), allowInsecureConnection: true, retryOptions: tableRetryOptions }),
    };
  }
  const credential = lazyDefaultCredential();
  const base = (svc: "queue" | "table") => `https://${endpoint.accountName}.${svc}.${endpoint.endpointSuffix}`;
  return {
    counter,
    queue: (name) => countedQueueClient(new QueueClient(`${base("queue")}/${name}`, credential), httpClient, { retryOptions }),
    table: (name) => new TableClient(base("table"), name, credential, { httpClient: forTable(name), retryOptions: tableRetryOptions }),
    tableService: () => new TableServiceClient(base("table"), credential, { httpClient: forTable(), retryOptions: tableRetryOptions }),
  };
}

import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";

export const DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface DeletionCostReporterOptions {
  /** Messages this pod is working on right now. */
  inFlight: () => number;
  podName: string;
  namespace: string;
  /** How often the count is compared with the last value sent (default 1000 ms). */
  intervalMs?: number;
  /** API server base URL (default: from KUBERNETES_SERVICE_HOST/PORT, as inside a pod). */
  apiUrl?: string;
  /** Directory with `token` and `ca.crt` (default: the pod's service-account mount). */
  serviceAccountDir?: string;
  /** Failed updates are reported here and retried on the next tick (default: one line on stderr). */
  onError?: (e: Error) => void;
}

export interface DeletionCostReporter {
  /** Sends the current count now if it differs from the last one sent. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps this pod's `controller.kubernetes.io/pod-deletion-cost` equal to its in-flight work, so that when
 * KEDA's HPA scales the Deployment in, the ReplicaSet removes idle pods before busy ones. Only changes
 * are sent; the token is re-read on every patch because projected tokens rotate.
 */
export function startDeletionCostReporter(opts: DeletionCostReporterOptions): DeletionCostReporter {
  const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const apiUrl = opts.apiUrl ?? inClusterApiUrl();
  const onError = opts.onError ?? ((e: Error) => process.stderr.write(`pod-deletion-cost: ${e.message}\n`));
  let lastSent: number | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const check = async (): Promise<void> => {
    const value = Math.max(0, Math.round(opts.inFlight()));
    if (value === lastSent) return;
    try {
      await patchDeletionCost({ apiUrl, dir, podName: opts.podName, namespace: opts.namespace, value });
      lastSent = value;
    } catch (e) {
      onError(e instanceof Error ? e : new Error(String(e)));
    }
  };
  // One patch at a time: a slow API server must not pile up requests.
  const flush = (): Promise<void> => {
    if (!running) running = check().finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void flush();
  }, opts.intervalMs ?? 1000);
  timer.unref();

  return {
    flush,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

function inClusterApiUrl(): string {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) throw new Error("KUBERNETES_SERVICE_HOST is not set: the pod-deletion-cost reporter only works inside a pod");
  return `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

async function patchDeletionCost(p: { apiUrl: string; dir: string; podName: string; namespace: string; value: number }): Promise<void> {
  const token = (await readFile(join(p.dir, "token"), "utf8")).trim();
  const url = new URL(`/api/v1/namespaces/${encodeURIComponent(p.namespace)}/pods/${encodeURIComponent(p.podName)}`, p.apiUrl);
  const body = JSON.stringify({ metadata: { annotations: { [DELETION_COST_ANNOTATION]: String(p.value) } } });
  const headers = {
    authorization: `Bearer ${token}`,
    "content-type": "application/merge-patch+json",
    "content-length": Buffer.byteLength(body),
    accept: "application/json",
  };
  const isHttps = url.protocol === "https:";
  const ca = isHttps ? await readFile(join(p.dir, "ca.crt")) : undefined;
  await new Promise<void>((resolve, reject) => {
    const req = (isHttps ? httpsRequest : httpRequest)(url, { method: "PATCH", headers, timeout: 10_000, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve();
        const detail = Buffer.concat(chunks).toString("utf8").slice(0, 200);
        reject(
          new Error(
            `PATCH pod ${p.namespace}/${p.podName} failed: HTTP ${status}${status === 403 ? " (the pod's service account may not patch pods: is the Role bound?)" : ""} ${detail}`,
          ),
        );
      });
    });
    req.on("timeout", () => req.destroy(new Error(`PATCH pod ${p.namespace}/${p.podName} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

import type { StorageEndpoint } from "../../storage/config.js";
import { appStorageClients, appStorageNames } from "../storage.js";
import { ensureStorage } from "../../storage/ensure.js";
import { UserError } from "../../errors.js";
import { runProducer, type ProducerReport } from "./producer.js";
import type { ProducerSettings } from "./settings.js";

/** What a producer pod tells the local runtime over its IPC channel: the COUNT indexes storage accepted. */
export type ProducerToParent = { type: "sent"; indexes: number[] };

/**
 * Runs the producer until `count` is sent or SIGINT/SIGTERM; a send failure ends it with a clear error.
 * A signal ends it promptly even while a storage call hangs: the first check and every send carry the abort.
 */
export async function runProducerProcess(
  endpoint: StorageEndpoint,
  settings: ProducerSettings,
  progress?: (sent: number) => void,
  onSent?: (index: number) => void,
): Promise<ProducerReport & { storageCalls: number }> {
  const names = appStorageNames();
  const clients = await appStorageClients(endpoint);
  const abort = new AbortController();
  const stop = () => abort.abort(new Error("interrupted"));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let ticker: NodeJS.Timeout | undefined;
  let sent = 0;
  try {
    // A send-only identity may not create queues; the deploy made them.
    await ensureStorage(endpoint, clients, names, { signal: abort.signal, sendOnly: true });
    if (progress) ticker = setInterval(() => progress(sent), 1000);
    const report = await runProducer({
      queue: clients.queue(names.queueName),
      ...settings,
      signal: abort.signal,
      onSent: (i) => {
        sent++;
        onSent?.(i);
      },
    });
    if (report.firstError) {
      throw new UserError(
        `sending to queue ${names.queueName} failed after ${report.sent} messages: ${report.firstError.split("\n")[0]}`,
        "check that the storage is reachable and the identity may send (Storage Queue Data Message Sender)",
      );
    }
    return { ...report, storageCalls: clients.counter.calls };
  } finally {
    if (ticker) clearInterval(ticker);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

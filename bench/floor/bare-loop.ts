// The bare receive(32)+delete loop on the Azure SDK: the local ceiling of the consumer benchmarks, and the loop the
// SDK memory floor runs in a process of its own. It imports only the SDK's types, so that process loads nothing else.
import type { QueueClient } from "@azure/storage-queue";

export interface BareLoopResult {
  seconds: number;
  handled: number;
  /** Storage calls made (receives, the last empty one included, and deletes). */
  calls: number;
}

/** Receive 32, delete them all in parallel, repeat until the queue is empty; `afterBatch` runs after each batch. */
export async function bareLoop(q: QueueClient, afterBatch?: () => void): Promise<BareLoopResult> {
  const t0 = performance.now();
  let handled = 0;
  let calls = 0;
  for (;;) {
    const r = await q.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
    calls++;
    if (r.receivedMessageItems.length === 0) break;
    await Promise.all(r.receivedMessageItems.map((m) => q.deleteMessage(m.messageId, m.popReceipt)));
    calls += r.receivedMessageItems.length;
    handled += r.receivedMessageItems.length;
    afterBatch?.();
  }
  return { seconds: (performance.now() - t0) / 1000, handled, calls };
}

import type { ScalingRule } from "./scaledobject.js";

/**
 * KEDA's azure-queue scaler reading a queue (kedacore/keda pkg/scalers/azure_queue_scaler.go,
 * getMessageCount). `all` (the default) is the queue's approximate count (Get Queue Metadata
 * x-ms-approximate-messages-count: visible and in-flight messages). `visibleonly` peeks up to 32 visible
 * messages and returns how many it saw; at 32 or more it falls back to the approximate count, in-flight
 * included. The reads are injected: the runtime passes Azure Storage calls, the simulator its fluid queue.
 */

/** Peek Messages returns at most 32 messages (maxPeekMessages in the scaler; the REST API's limit). */
export const MAX_PEEK_MESSAGES = 32;

export interface QueueReader {
  /** Get Queue Properties: ApproximateMessagesCount. */
  approximateCount(): Promise<number>;
  /** Peek Messages with numberOfMessages = max: how many came back (≤ max). */
  peekVisible(max: number): Promise<number>;
}

export type QueueLengthStrategy = ScalingRule["queueLengthStrategy"];

/** The scaler's arithmetic, for readers that already hold both numbers (the simulator). */
export function queueLengthFrom(strategy: QueueLengthStrategy, visible: number, approximate: number): number {
  if (strategy === "all") return approximate;
  const peeked = Math.min(visible, MAX_PEEK_MESSAGES);
  return peeked < MAX_PEEK_MESSAGES ? peeked : approximate;
}

/** One scaler read, as KEDA makes it: one call for `all`, a peek (and a properties call at ≥ 32) for `visibleonly`. */
export async function readQueueLength(strategy: QueueLengthStrategy, reader: QueueReader): Promise<number> {
  if (strategy === "all") return reader.approximateCount();
  const peeked = await reader.peekVisible(MAX_PEEK_MESSAGES);
  if (peeked < MAX_PEEK_MESSAGES) return peeked;
  return reader.approximateCount();
}

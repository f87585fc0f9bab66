import type { DequeuedMessageItem } from "@azure/storage-queue";

/** The stored row: the seed's fields (data, srcStamp, dateStamp) plus end-to-end latency and provenance. */
export type ProcessedEntity = {
  partitionKey: string;
  rowKey: string;
  data: string;
  srcStamp: string;
  dateStamp: string;
  latencyMs: number;
  messageId: string;
  dequeueCount: number;
};

/**
 * Keys derived from the message alone, so every delivery of one message maps to one row (an upsert
 * overwrites): RowKey is the message id; PartitionKey the UTC hour the message was enqueued, which
 * keeps a receive batch in one partition (one transaction) and spreads a long run across partitions.
 */
export function entityKeys(item: Pick<DequeuedMessageItem, "messageId" | "insertedOn">): { partitionKey: string; rowKey: string } {
  const hour = item.insertedOn.toISOString().slice(0, 13).replace(/[-T]/g, "");
  return { partitionKey: `q${hour}`, rowKey: item.messageId };
}

import type { DequeuedMessageItem } from "@azure/storage-queue";
import { queueText } from "../../storage/message-text.js";

export interface PoisonReason {
  code: "Unparseable" | "MaxDequeueExceeded";
  detail: string;
}

/** What a poison queue message holds: the reason and the original body, verbatim. */
export interface PoisonRecord {
  reason: string;
  detail: string;
  queue: string;
  messageId: string;
  dequeueCount: number;
  insertedOn: string;
  poisonedAt: string;
  body: string;
}

export function poisonRecord(item: DequeuedMessageItem, reason: PoisonReason, queue: string): string {
  const record: PoisonRecord = {
    reason: reason.code,
    detail: reason.detail,
    queue,
    messageId: item.messageId,
    dequeueCount: item.dequeueCount,
    insertedOn: item.insertedOn.toISOString(),
    poisonedAt: new Date().toISOString(),
    body: item.messageText,
  };
  // JSON.stringify escapes C0 controls and lone surrogates but not U+FFFE/U+FFFF, which XML 1.0 forbids too.
  return queueText(JSON.stringify(record));
}

export function parsePoisonRecord(text: string): PoisonRecord | undefined {
  try {
    const r = JSON.parse(text) as PoisonRecord;
    return typeof r.body === "string" && typeof r.reason === "string" ? r : undefined;
  } catch {
    return undefined;
  }
}

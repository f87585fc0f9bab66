import type { QueueClient } from "@azure/storage-queue";
import type { TableClient } from "@azure/data-tables";
import { messageIndex, parseMessage } from "../../apps/message.js";
import { parsePoisonRecord } from "../../apps/consumer/poison.js";
import { percentile } from "../../util/time.js";

export interface AuditResult {
  /** Distinct sent messages found stored in the table. */
  stored: number;
  /** Sent messages found nowhere: not in the table, the queue or the poison queue. */
  lost: number;
  /** Extra copies: a message stored more than once, or both stored and poisoned. */
  duplicates: number;
  inQueue: number;
  poisoned: number;
  p50LatencyMs: number;
  p95LatencyMs: number;
  maxLatencyMs: number;
}

/** Reads every message of a queue without consuming it: receive, note, then make visible again. */
async function readAll(queue: QueueClient): Promise<string[]> {
  const texts: string[] = [];
  const held: { id: string; pop: string }[] = [];
  for (;;) {
    const r = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
    if (r.receivedMessageItems.length === 0) break;
    for (const m of r.receivedMessageItems) {
      texts.push(m.messageText);
      held.push({ id: m.messageId, pop: m.popReceipt });
    }
  }
  await Promise.all(held.map((h) => queue.updateMessage(h.id, h.pop, undefined, 0).catch(() => undefined)));
  return texts;
}

/**
 * Counts, from storage itself, what became of messages `1..sent` of a run: the table's rows (by the
 * COUNT index in `data`), the main queue and the poison queue. Rows stamped before `sinceStamp` belong
 * to earlier runs and are ignored.
 */
export async function auditRun(o: {
  sentIndexes: Iterable<number>;
  table: TableClient;
  queue: QueueClient;
  poisonQueue: QueueClient;
  sinceStamp?: string;
}): Promise<AuditResult> {
  const stored = new Map<number, number>();
  const latencies: number[] = [];
  const filter = o.sinceStamp ? { queryOptions: { filter: `srcStamp ge '${o.sinceStamp}'` } } : undefined;
  for await (const e of o.table.listEntities<{ data?: string; latencyMs?: number }>(filter)) {
    const i = typeof e.data === "string" ? messageIndex(e.data) : undefined;
    if (i === undefined) continue;
    stored.set(i, (stored.get(i) ?? 0) + 1);
    if (typeof e.latencyMs === "number") latencies.push(e.latencyMs);
  }
  const queued = new Set<number>();
  for (const text of await readAll(o.queue)) {
    const p = parseMessage(text);
    const i = p.ok ? messageIndex(p.message.msg) : undefined;
    if (i !== undefined) queued.add(i);
  }
  const poisoned = new Map<number, number>();
  let poisonCount = 0;
  for (const text of await readAll(o.poisonQueue)) {
    poisonCount++;
    const rec = parsePoisonRecord(text);
    const p = rec ? parseMessage(rec.body) : undefined;
    const i = p?.ok ? messageIndex(p.message.msg) : undefined;
    if (i !== undefined) poisoned.set(i, (poisoned.get(i) ?? 0) + 1);
  }
  let lost = 0;
  let duplicates = 0;
  let storedDistinct = 0;
  for (const i of o.sentIndexes) {
    const s = stored.get(i) ?? 0;
    const q = poisoned.get(i) ?? 0;
    if (s > 0) storedDistinct++;
    if (s === 0 && q === 0 && !queued.has(i)) lost++;
    duplicates += Math.max(0, s - 1) + (s > 0 ? q : Math.max(0, q - 1));
  }
  latencies.sort((a, b) => a - b);
  return {
    stored: storedDistinct,
    lost,
    duplicates,
    inQueue: queued.size,
    poisoned: poisonCount,
    p50LatencyMs: Math.round(percentile(latencies, 50)),
    p95LatencyMs: Math.round(percentile(latencies, 95)),
    maxLatencyMs: Math.round(latencies[latencies.length - 1] ?? 0),
  };
}

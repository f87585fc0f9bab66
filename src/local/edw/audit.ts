import type { QueueClient } from "@azure/storage-queue";
import type { TableClient } from "@azure/data-tables";
import { messageIndex, parseMessage } from "../../apps/message.js";
import { parsePoisonRecord } from "../../apps/consumer/poison.js";
import { percentile, sleep } from "../../util/time.js";

export interface AuditResult {
  /** Distinct sent messages found stored in the table. */
  stored: number;
  /**
   * Sent messages found nowhere that the queues' own counts cannot account for either: really gone.
   * Exact when `invisible` is 0; while messages are invisible it is a lower bound (see attribution below).
   */
  lost: number;
  /**
   * Sent messages not readable now but counted by a queue: invisible in flight, e.g. held by a consumer that
   * died (they come back when their visibility timeout ends) or by one still working. Not lost.
   */
  invisible: number;
  /** Extra copies: a message stored more than once, or both stored and poisoned. */
  duplicates: number;
  inQueue: number;
  poisoned: number;
  p50LatencyMs: number;
  p95LatencyMs: number;
  maxLatencyMs: number;
}

export interface AuditInput {
  sentIndexes: Iterable<number>;
  table: TableClient;
  queue: QueueClient;
  poisonQueue: QueueClient;
  sinceStamp?: string;
}

export interface SettleOptions {
  /**
   * Longest wait for invisible messages to become visible (or be handled). A message a dead consumer held
   * returns within its visibility timeout: pass that plus a margin (settleBoundMs).
   */
  timeoutMs: number;
  /** Ends the wait early (a second Ctrl-C); the audit then reports what it has. */
  signal?: AbortSignal;
  /** Between looks at the queues (default 500 ms). */
  pollMs?: number;
}

/** The settle bound for consumers receiving with `visibilityTimeoutSeconds`: the timeout plus 5 s. */
export function settleBoundMs(visibilityTimeoutSeconds: number): number {
  return visibilityTimeoutSeconds * 1000 + 5000;
}

/**
 * Reads a queue without consuming it. Storage can list only visible messages, so each is received and held
 * (invisible) until `release`: a later sweep then returns only messages that have become visible since,
 * each message is received once per audit, and `held` counts every message seen.
 */
class QueueSweep {
  readonly texts: string[] = [];
  private readonly held: { id: string; pop: string }[] = [];

  constructor(
    private readonly queue: QueueClient,
    private readonly holdSeconds: number,
  ) {}

  get seen(): number {
    return this.held.length;
  }

  async sweep(): Promise<void> {
    for (;;) {
      const r = await this.queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: this.holdSeconds });
      if (r.receivedMessageItems.length === 0) return;
      for (const m of r.receivedMessageItems) {
        this.texts.push(m.messageText);
        this.held.push({ id: m.messageId, pop: m.popReceipt });
      }
    }
  }

  /** Messages the queue counts (visible and invisible) that no sweep has returned. */
  async unseen(): Promise<number> {
    const count = (await this.queue.getProperties()).approximateMessagesCount ?? 0;
    return Math.max(0, count - this.seen);
  }

  /** Makes everything held visible again, at once. */
  async release(): Promise<void> {
    await Promise.all(this.held.map((h) => this.queue.updateMessage(h.id, h.pop, undefined, 0).catch(() => undefined)));
  }
}

/**
 * Counts, from storage itself, what became of messages `1..sent` of a run: the table's rows (by the
 * COUNT index in `data`), the main queue and the poison queue. Rows stamped before `sinceStamp` belong
 * to earlier runs and are ignored.
 *
 * A message can also be invisible: received by a consumer (perhaps one since killed) and not yet back.
 * Azure Storage cannot list invisible messages, but a queue's approximate message count includes them,
 * so `count − messages read` is how many are invisible. Sent messages found nowhere are attributed to that
 * number first (`invisible`), and only the rest are `lost`: lost = missing − min(missing, invisible in the
 * queues). The attribution is generous when foreign messages are invisible too (then `lost` may be too
 * low), never the reverse; so `lost` > 0 always means lost, and with `settle` the audit looks again until
 * nothing is invisible or the bound passes, after which `invisible` is 0 and `lost` exact.
 */
export async function auditRun(o: AuditInput & { settle?: SettleOptions }): Promise<AuditResult> {
  const sent = [...o.sentIndexes];
  const settle = o.settle;
  const end = settle ? performance.now() + settle.timeoutMs : 0;
  // Held longer than any settle wait, so a message is never read twice in one audit.
  const holdSeconds = Math.max(60, Math.ceil((settle?.timeoutMs ?? 0) / 1000) + 60);
  const queue = new QueueSweep(o.queue, holdSeconds);
  const poison = new QueueSweep(o.poisonQueue, holdSeconds);
  try {
    for (;;) {
      // Table first: a message a consumer stores after this look is still in a queue (it deletes after writing).
      const table = await tallyTable(o.table, o.sinceStamp);
      await queue.sweep();
      await poison.sweep();
      const unseen = (await queue.unseen()) + (await poison.unseen());
      const result = attribute(sent, table, queue.texts, poison.texts, unseen);
      const waitMore = settle && result.invisible > 0 && !settle.signal?.aborted && performance.now() < end;
      if (!waitMore) return result;
      await sleep(Math.min(settle.pollMs ?? 500, Math.max(0, end - performance.now())), settle.signal).catch(() => undefined);
    }
  } finally {
    await Promise.all([queue.release(), poison.release()]);
  }
}

interface TableTally {
  stored: Map<number, number>;
  latencies: number[];
}

async function tallyTable(table: TableClient, sinceStamp?: string): Promise<TableTally> {
  const stored = new Map<number, number>();
  const latencies: number[] = [];
  const filter = sinceStamp ? { queryOptions: { filter: `srcStamp ge '${sinceStamp}'` } } : undefined;
  for await (const e of table.listEntities<{ data?: string; latencyMs?: number }>(filter)) {
    const i = typeof e.data === "string" ? messageIndex(e.data) : undefined;
    if (i === undefined) continue;
    stored.set(i, (stored.get(i) ?? 0) + 1);
    if (typeof e.latencyMs === "number") latencies.push(e.latencyMs);
  }
  return { stored, latencies };
}

function attribute(sent: number[], t: TableTally, queueTexts: string[], poisonTexts: string[], unseen: number): AuditResult {
  const queued = new Set<number>();
  for (const text of queueTexts) {
    const p = parseMessage(text);
    const i = p.ok ? messageIndex(p.message.msg) : undefined;
    if (i !== undefined) queued.add(i);
  }
  const poisoned = new Map<number, number>();
  for (const text of poisonTexts) {
    const rec = parsePoisonRecord(text);
    const p = rec ? parseMessage(rec.body) : undefined;
    const i = p?.ok ? messageIndex(p.message.msg) : undefined;
    if (i !== undefined) poisoned.set(i, (poisoned.get(i) ?? 0) + 1);
  }
  let missing = 0;
  let duplicates = 0;
  let storedDistinct = 0;
  for (const i of sent) {
    const s = t.stored.get(i) ?? 0;
    const q = poisoned.get(i) ?? 0;
    if (s > 0) storedDistinct++;
    if (s === 0 && q === 0 && !queued.has(i)) missing++;
    duplicates += Math.max(0, s - 1) + (s > 0 ? q : Math.max(0, q - 1));
  }
  const invisible = Math.min(missing, unseen);
  const latencies = [...t.latencies].sort((a, b) => a - b);
  return {
    stored: storedDistinct,
    lost: missing - invisible,
    invisible,
    duplicates,
    inQueue: queued.size,
    poisoned: poisonTexts.length,
    p50LatencyMs: Math.round(percentile(latencies, 50)),
    p95LatencyMs: Math.round(percentile(latencies, 95)),
    maxLatencyMs: Math.round(latencies[latencies.length - 1] ?? 0),
  };
}

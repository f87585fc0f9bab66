import type { QueueClient } from "@azure/storage-queue";
import { storageClients } from "../../storage/clients.js";
import type { StorageEndpoint } from "../../storage/config.js";
import { appStorageNames } from "../../apps/storage.js";
import { storageCall, storageError } from "../../storage/ensure.js";
import type { DeadlineOptions } from "../../storage/deadline.js";
import { poisonQueueName } from "../../storage/names.js";
import { queueText, UnsendableTextError } from "../../storage/message-text.js";
import { parsePoisonRecord, type PoisonRecord } from "../../apps/consumer/poison.js";
import { UserError } from "../../errors.js";

/**
 * The poison queue, if it exists. The existence check is the first call: it runs under the first-answer
 * deadline, so a storage endpoint that never answers ends in one line.
 */
async function openPoisonQueue(endpoint: StorageEndpoint, o: DeadlineOptions): Promise<{ q: QueueClient; main: QueueClient } | undefined> {
  const names = appStorageNames();
  const clients = storageClients(endpoint);
  const q = clients.queue(poisonQueueName(names.queueName));
  const exists = await storageCall(endpoint, (abortSignal) => q.exists({ abortSignal }), o);
  return exists ? { q, main: clients.queue(names.queueName) } : undefined;
}

/** Every poison record, read without consuming (each is made visible again). */
export async function listPoison(endpoint: StorageEndpoint, o: DeadlineOptions = {}): Promise<(PoisonRecord & { poisonId: string })[]> {
  const opened = await openPoisonQueue(endpoint, o);
  if (!opened) return [];
  const { q } = opened;
  const out: (PoisonRecord & { poisonId: string })[] = [];
  const held: { id: string; pop: string }[] = [];
  try {
    for (;;) {
      const r = await q.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60, abortSignal: o.signal });
      if (r.receivedMessageItems.length === 0) break;
      for (const m of r.receivedMessageItems) {
        held.push({ id: m.messageId, pop: m.popReceipt });
        const rec = parsePoisonRecord(m.messageText);
        out.push({ ...(rec ?? unknownRecord(m.messageText)), poisonId: m.messageId });
      }
    }
  } catch (e) {
    throw storageError(endpoint, e);
  } finally {
    await Promise.all(held.map((h) => q.updateMessage(h.id, h.pop, undefined, 0).catch(() => undefined)));
  }
  return out;
}

function unknownRecord(text: string): PoisonRecord {
  return { reason: "Unknown", detail: "not written by akspilot", queue: "", messageId: "", dequeueCount: 0, insertedOn: "", poisonedAt: "", body: text };
}

export interface ReplayResult {
  replayed: number;
  /** Records left in the poison queue because their body cannot be sent as a queue message. */
  refused: { poisonId: string; reason: string }[];
}

/**
 * Re-sends original bodies to the main queue, then deletes them from the poison queue (send first: nothing
 * lost). A body with characters a queue message cannot carry is sent JSON-escaped when that keeps its value
 * (see queueText), else left in the poison queue and named in `refused` — never sent as storage would keep
 * it unreadable.
 */
export async function replayPoisonMessages(endpoint: StorageEndpoint, reason?: string, o: DeadlineOptions = {}): Promise<ReplayResult> {
  const valid = ["Unparseable", "MaxDequeueExceeded", "Unknown"];
  if (reason !== undefined && !valid.includes(reason)) throw new UserError(`--reason "${reason}" is not a poison reason`, `use one of: ${valid.join(", ")}`);
  const result: ReplayResult = { replayed: 0, refused: [] };
  const opened = await openPoisonQueue(endpoint, o);
  if (!opened) return result;
  const { q, main } = opened;
  const kept: { id: string; pop: string }[] = [];
  try {
    for (;;) {
      const r = await q.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60, abortSignal: o.signal });
      if (r.receivedMessageItems.length === 0) break;
      for (const m of r.receivedMessageItems) {
        const rec = parsePoisonRecord(m.messageText) ?? unknownRecord(m.messageText);
        if (reason && rec.reason !== reason) {
          kept.push({ id: m.messageId, pop: m.popReceipt });
          continue;
        }
        let text: string;
        try {
          text = queueText(rec.body);
        } catch (e) {
          if (!(e instanceof UnsendableTextError)) throw e;
          result.refused.push({ poisonId: m.messageId, reason: e.message });
          kept.push({ id: m.messageId, pop: m.popReceipt });
          continue;
        }
        await main.sendMessage(text, { abortSignal: o.signal });
        await q.deleteMessage(m.messageId, m.popReceipt, { abortSignal: o.signal });
        result.replayed++;
      }
    }
  } catch (e) {
    throw storageError(endpoint, e);
  } finally {
    await Promise.all(kept.map((h) => q.updateMessage(h.id, h.pop, undefined, 0).catch(() => undefined)));
  }
  return result;
}

/**
 * `akspilot poison replay`: the number replayed. Records that cannot be replayed stay in the poison queue
 * and make it a one-line error naming the first, after everything else has been replayed.
 */
export async function replayPoison(endpoint: StorageEndpoint, reason?: string, o: DeadlineOptions = {}): Promise<number> {
  const r = await replayPoisonMessages(endpoint, reason, o);
  const first = r.refused[0];
  if (first) {
    throw new UserError(
      `replayed ${r.replayed} message(s); ${r.refused.length} kept in the poison queue: ${first.poisonId}: ${first.reason}`,
      "fix or delete those records (`akspilot poison list --json` shows them)",
    );
  }
  return r.replayed;
}

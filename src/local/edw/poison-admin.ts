import { storageClients } from "../../storage/clients.js";
import type { StorageEndpoint } from "../../storage/config.js";
import { appStorageNames } from "../../apps/storage.js";
import { storageError } from "../../storage/ensure.js";
import { poisonQueueName } from "../../storage/names.js";
import { parsePoisonRecord, type PoisonRecord } from "../../apps/consumer/poison.js";
import { UserError } from "../../errors.js";

/** Every poison record, read without consuming (each is made visible again). */
export async function listPoison(endpoint: StorageEndpoint): Promise<(PoisonRecord & { poisonId: string })[]> {
  const names = appStorageNames();
  const q = storageClients(endpoint).queue(poisonQueueName(names.queueName));
  const out: (PoisonRecord & { poisonId: string })[] = [];
  const held: { id: string; pop: string }[] = [];
  try {
    if (!(await q.exists())) return [];
    for (;;) {
      const r = await q.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
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

/** Re-sends original bodies to the main queue, then deletes them from the poison queue (send first: nothing lost). */
export async function replayPoison(endpoint: StorageEndpoint, reason?: string): Promise<number> {
  const valid = ["Unparseable", "MaxDequeueExceeded", "Unknown"];
  if (reason !== undefined && !valid.includes(reason)) throw new UserError(`--reason "${reason}" is not a poison reason`, `use one of: ${valid.join(", ")}`);
  const names = appStorageNames();
  const clients = storageClients(endpoint);
  const main = clients.queue(names.queueName);
  const q = clients.queue(poisonQueueName(names.queueName));
  let n = 0;
  const skipped: { id: string; pop: string }[] = [];
  try {
    if (!(await q.exists())) return 0;
    for (;;) {
      const r = await q.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
      if (r.receivedMessageItems.length === 0) break;
      for (const m of r.receivedMessageItems) {
        const rec = parsePoisonRecord(m.messageText) ?? unknownRecord(m.messageText);
        if (reason && rec.reason !== reason) {
          skipped.push({ id: m.messageId, pop: m.popReceipt });
          continue;
        }
        await main.sendMessage(rec.body);
        await q.deleteMessage(m.messageId, m.popReceipt);
        n++;
      }
    }
  } catch (e) {
    throw storageError(endpoint, e);
  } finally {
    await Promise.all(skipped.map((h) => q.updateMessage(h.id, h.pop, undefined, 0).catch(() => undefined)));
  }
  return n;
}

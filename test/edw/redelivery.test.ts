import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import { buildMessage } from "../../src/apps/message.js";
import { entityKeys } from "../../src/apps/consumer/entity.js";
import { countByIndex, queueDepth, resetStorage, startConsumer, storageFor, tableRows, waitFor, type Storage } from "./helpers.js";

let azurite: AzuriteHandle;
let s: Storage;
before(async () => {
  azurite = await startAzurite();
  s = await storageFor(azurite.connectionString);
});
after(async () => {
  await azurite?.stop();
});

async function enqueue(from: number, to: number): Promise<void> {
  const sends: Promise<unknown>[] = [];
  for (let i = from; i <= to; i++) sends.push(s.queue.sendMessage(buildMessage(i)));
  await Promise.all(sends);
}

describe("kill -9 of a consumer mid-batch", () => {
  it("its messages come back after the visibility timeout and are stored exactly once", async (t) => {
    await resetStorage(s);
    const N = 48;
    await enqueue(1, N);
    // Long work, short visibility: it holds a full batch (renewing it) when it dies.
    const a = await startConsumer(t, azurite.connectionString, ["--work-ms", "600000", "--visibility-timeout", "2", "--concurrency", "32", "--batch-size", "32"]);
    const held = await waitFor("the first consumer to hold a batch", async () => {
      const st = await a.stats();
      return st.inFlight === 32 ? st : undefined;
    });
    assert.equal(held.processed, 0);
    a.child.kill("SIGKILL");
    const gone = await a.exited;
    assert.equal(gone.signal, "SIGKILL");
    // What it held is invisible now (renewed): nothing of it may be stored yet.
    assert.equal((await tableRows(s)).length, 0);

    const b = await startConsumer(t, azurite.connectionString, ["--idle-max-ms", "300"]);
    await waitFor("every message to be stored", async () => ((await tableRows(s)).length >= N ? true : undefined), 60_000, 200);
    await waitFor("the queue to be empty", async () => ((await queueDepth(s.queue)) === 0 ? true : undefined));

    const rows = await tableRows(s);
    const counts = countByIndex(rows);
    assert.equal(rows.length, N, "extra rows: a redelivery duplicated instead of overwriting");
    for (let i = 1; i <= N; i++) assert.equal(counts.get(i), 1, `COUNT ${i} stored ${counts.get(i) ?? 0} times`);
    // The killed consumer's batch was redelivered: those rows carry dequeueCount 2.
    const redelivered = rows.filter((r) => r.dequeueCount >= 2);
    assert.equal(redelivered.length, held.received, "rows of redelivered messages");
    assert.equal(rows.filter((r) => r.dequeueCount === 1).length, N - held.received);
    const st = await b.stats();
    assert.equal(st.processed, N);
    assert.equal(st.poisoned, 0);
    assert.equal(await queueDepth(s.poison), 0);
  });

  it("a message stored by an earlier delivery whose delete was lost is overwritten, not duplicated", async (t) => {
    await resetStorage(s);
    await enqueue(1, 5);
    // An earlier delivery: received, its rows written, but the deletes never happened.
    const first = await s.queue.receiveMessages({ numberOfMessages: 5, visibilityTimeout: 1 });
    assert.equal(first.receivedMessageItems.length, 5);
    for (const item of first.receivedMessageItems) {
      await s.table.upsertEntity({ ...entityKeys(item), data: "stale", srcStamp: "", dateStamp: "", latencyMs: -1, messageId: item.messageId, dequeueCount: 1 }, "Replace");
    }
    // The messages reappear after 1 s with dequeueCount 2; the consumer stores each into the same row.
    const c = await startConsumer(t, azurite.connectionString, ["--idle-max-ms", "300"]);
    await waitFor("the consumer to process all 5", async () => ((await c.stats()).processed === 5 ? true : undefined));
    const rows = await tableRows(s);
    assert.equal(rows.length, 5, "a redelivery added a row");
    assert.deepEqual(
      [...countByIndex(rows).keys()].sort((x, y) => x - y),
      [1, 2, 3, 4, 5],
    );
    assert.ok(
      rows.every((r) => r.dequeueCount === 2 && r.latencyMs >= 0),
      JSON.stringify(rows),
    );
    assert.equal(await queueDepth(s.queue), 0);
  });
});

// A replica does not wait on storage's round trips between batches: while one batch's table write is still
// running, the next batch is received, worked on and stored. The batch held by storage is stored too once
// storage answers, each message exactly once.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ProcessedEntity } from "../../src/apps/consumer/entity.js";
import { buildMessage, messageIndex } from "../../src/apps/message.js";
import { consumerOn, seedStorage, startStorage } from "./helpers.js";
import { waitFor } from "../edw/helpers.js";

describe("a batch being stored holds no work slot", () => {
  it("a held table write of one batch does not stop the next batch from being received and stored", async (t) => {
    const storage = await startStorage(t);
    const s = await seedStorage(storage.connectionString);
    // One full batch (concurrency 32, batch 32): before the overlap, its slots were held until it was stored.
    for (let i = 1; i <= 32; i++) await s.queue.sendMessage(buildMessage(i));
    let pauseWrites = true;
    storage.proxy.rules.pause = (req) => pauseWrites && req.method === "POST" && /\$batch/.test(req.url ?? "");
    const c = consumerOn(s, { idleMinMs: 50, idleMaxMs: 200 });
    c.start();
    t.after(() => c.stop(0));
    await waitFor("the first batch's table write held by storage", () => (storage.proxy.counts.paused >= 1 ? true : undefined), 20_000);
    // Later writes are not held: only what was paused so far waits for storage.
    pauseWrites = false;
    const held = storage.proxy.counts.paused;
    for (let i = 33; i <= 37; i++) await s.queue.sendMessage(buildMessage(i));
    await waitFor("the next 5 messages stored while the first batch waits", () => (c.snapshot().processed === 5 ? true : undefined), 20_000);
    assert.equal(storage.proxy.counts.paused, held, "the first batch's write is still held");
    assert.equal(c.snapshot().inFlight, 32, "the held batch is still held (and renewed), not given up");
    while (storage.proxy.resumeOne());
    await waitFor("all 37 stored", () => (c.snapshot().processed === 37 ? true : undefined), 20_000);
    const counts = new Map<number, number>();
    for await (const e of s.table.listEntities<ProcessedEntity>()) {
      const i = messageIndex(String(e.data))!;
      counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    assert.deepEqual(
      [...counts.entries()].sort((a, b) => a[0] - b[0]),
      Array.from({ length: 37 }, (_, k) => [k + 1, 1]),
    );
    assert.equal(c.snapshot().failed, 0);
  });
});

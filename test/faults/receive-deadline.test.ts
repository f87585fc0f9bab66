// An idle replica never goes deaf: a receive that storage never answers is abandoned at its deadline and
// the loop receives again; a replica at its longest idle backoff wakes at once when told work is waiting.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildMessage } from "../../src/apps/message.js";
import { consumerOn, seedStorage, startStorage } from "./helpers.js";
import { waitFor } from "../edw/helpers.js";

describe("an idle replica always wakes for new work", () => {
  it("a receive that storage holds without an answer ends at its deadline; the next one gets the work", async (t) => {
    const storage = await startStorage(t);
    const s = await seedStorage(storage.connectionString);
    const log: string[] = [];
    // The per-try limit of the HTTP client is 30 s with 3 tries: without the receive's own deadline, a held
    // receive would keep this replica away from the queue for about 90 s (the bound below is far shorter).
    const c = consumerOn(s, { idleMinMs: 50, idleMaxMs: 200, receiveDeadlineMs: 1000 }, log);
    let holdNext = true;
    storage.proxy.rules.hold = (req) => {
      if (holdNext && req.method === "GET" && /\/messages/.test(req.url ?? "")) {
        holdNext = false;
        return true;
      }
      return false;
    };
    c.start();
    t.after(() => c.stop(0));
    await waitFor("a receive held by storage", () => (storage.proxy.counts.held === 1 ? true : undefined), 20_000);
    for (let i = 1; i <= 5; i++) await s.queue.sendMessage(buildMessage(i));
    await waitFor("the 5 messages processed after the held receive", () => (c.snapshot().processed === 5 ? true : undefined), 20_000);
    assert.ok(c.snapshot().receiveErrors >= 1, "the held receive counts as a failed receive");
    assert.ok(
      log.some((l) => /receive got no answer within 1000 ms/.test(l)),
      log.join("\n"),
    );
  });

  it("a receive that storage executes after its deadline still hands over its messages (none hidden until the timeout)", async (t) => {
    const storage = await startStorage(t);
    const s = await seedStorage(storage.connectionString);
    for (let i = 1; i <= 5; i++) await s.queue.sendMessage(buildMessage(i));
    const log: string[] = [];
    // Storage stalls (as Azurite does while it collects deleted messages' extents) and then executes the
    // receives it was sent, whether or not the client still waits: the first one takes the 5 messages.
    let stalled = true;
    storage.proxy.rules.pause = (req) => stalled && req.method === "GET" && /\/messages/.test(req.url ?? "");
    const c = consumerOn(s, { idleMinMs: 50, idleMaxMs: 200, receiveDeadlineMs: 1000 }, log);
    c.start();
    t.after(() => c.stop(0));
    await waitFor("a receive past its deadline", () => (log.some((l) => /receive got no answer within 1000 ms/.test(l)) ? true : undefined), 20_000);
    stalled = false;
    storage.proxy.resumeOne();
    // Visibility is 60 s: had the late answer been thrown away, the 5 would only come back after it.
    await waitFor("the 5 messages taken by the late receive, stored", () => (c.snapshot().processed === 5 ? true : undefined), 20_000);
    assert.equal(c.snapshot().lateReceives, 1);
    for await (const e of s.table.listEntities<{ dequeueCount: number }>()) assert.equal(e.dequeueCount, 1, "stored from the first delivery");
  });

  it("at its longest backoff (10 min), a wake ends the wait and the new message is processed", async (t) => {
    const storage = await startStorage(t);
    const s = await seedStorage(storage.connectionString);
    const c = consumerOn(s, { idleMinMs: 600_000, idleMaxMs: 600_000 }, []);
    c.start();
    t.after(() => c.stop(0));
    await waitFor("the first (empty) receive", () => (c.snapshot().emptyReceives === 1 ? true : undefined), 20_000);
    await s.queue.sendMessage(buildMessage(1));
    c.wake();
    await waitFor("the message processed after the wake", () => (c.snapshot().processed === 1 ? true : undefined), 20_000);
    // The idle timer was 10 min: only the wake can have brought the receive that found the message.
    assert.equal(c.snapshot().received, 1);
  });
});

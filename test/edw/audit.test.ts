// The run audit against real Azurite after a real SIGKILL: messages a dead consumer holds are invisible,
// not lost, and a settling audit waits for them to come back.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import { buildMessage } from "../../src/apps/message.js";
import { auditRun, settleBoundMs } from "../../src/local/edw/audit.js";
import { queueDepth, resetStorage, startConsumer, storageFor, tableRows, waitFor, type Storage } from "./helpers.js";

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
  for (let i = from; i <= to; i++) await s.queue.sendMessage(buildMessage(i));
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

/** Starts a consumer that takes `n` messages and works on them "forever", then kills it with SIGKILL. */
async function killWhileHolding(t: { after: (fn: () => void | Promise<void>) => void }, n: number, visibilitySeconds: number): Promise<void> {
  const c = await startConsumer(t, azurite.connectionString, [
    "--work-ms", "600000", "--visibility-timeout", String(visibilitySeconds), "--batch-size", String(n), "--concurrency", String(n),
  ]);
  await waitFor(`the consumer to hold ${n} messages`, async () => ((await c.stats()).inFlight === n ? true : undefined));
  c.child.kill("SIGKILL");
  assert.equal((await c.exited).signal, "SIGKILL");
}

const audit = (sent: number[], settle?: Parameters<typeof auditRun>[0]["settle"]) =>
  auditRun({ sentIndexes: sent, table: s.table, queue: s.queue, poisonQueue: s.poison, settle });

describe("audit after a consumer is SIGKILLed while it holds messages", () => {
  it("right away: what the dead consumer held is invisible, not lost; only what is nowhere is lost", async (t) => {
    await resetStorage(s);
    await enqueue(1, 5);
    await killWhileHolding(t, 5, 300);
    await enqueue(6, 8);
    // COUNT 9 is in the sent list but was never sent: the one message that really is nowhere.
    const r = await audit(range(1, 9));
    assert.deepEqual(
      { stored: r.stored, inQueue: r.inQueue, invisible: r.invisible, lost: r.lost, poisoned: r.poisoned, duplicates: r.duplicates },
      { stored: 0, inQueue: 3, invisible: 5, lost: 1, poisoned: 0, duplicates: 0 },
    );
    assert.equal((await tableRows(s)).length, 0);
    // The audit consumed nothing: the queue still counts all eight, and a second audit agrees.
    assert.equal(await queueDepth(s.queue), 8);
    const again = await audit(range(1, 8));
    assert.deepEqual({ inQueue: again.inQueue, invisible: again.invisible, lost: again.lost }, { inQueue: 3, invisible: 5, lost: 0 });
  });

  it("settling: the audit waits until the held messages are visible again, then counts them as queued", async (t) => {
    await resetStorage(s);
    await enqueue(1, 4);
    await killWhileHolding(t, 4, 2);
    const r = await audit(range(1, 4), { timeoutMs: settleBoundMs(2) });
    assert.deepEqual({ stored: r.stored, inQueue: r.inQueue, invisible: r.invisible, lost: r.lost }, { stored: 0, inQueue: 4, invisible: 0, lost: 0 });
  });

  it("settling stops on its signal and reports the invisible ones as such", async (t) => {
    await resetStorage(s);
    await enqueue(1, 3);
    await killWhileHolding(t, 3, 300);
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(new Error("second Ctrl-C")), 1000);
    t.after(() => clearTimeout(timer));
    // The bound alone would wait five minutes; the signal ends the wait.
    const r = await audit(range(1, 3), { timeoutMs: settleBoundMs(300), signal: stop.signal });
    assert.ok(stop.signal.aborted, "returned before the signal: it did not wait");
    assert.deepEqual({ inQueue: r.inQueue, invisible: r.invisible, lost: r.lost }, { inQueue: 0, invisible: 3, lost: 0 });
  });
});

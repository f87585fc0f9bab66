import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import { buildMessage, messageIndex, parseMessage } from "../../src/apps/message.js";
import { countByIndex, receiveAll, resetStorage, startConsumer, storageFor, tableRows, waitFor, type Storage } from "./helpers.js";

let azurite: AzuriteHandle;
let s: Storage;
before(async () => {
  azurite = await startAzurite();
  s = await storageFor(azurite.connectionString);
});
after(async () => {
  await azurite?.stop();
});

const N = 20;

async function enqueue(): Promise<void> {
  await Promise.all(Array.from({ length: N }, (_, k) => s.queue.sendMessage(buildMessage(k + 1))));
}

/** Every index 1..N is stored or visible in the queue right now; none is both stored twice or missing. */
async function account(): Promise<{ stored: Set<number>; queued: Set<number> }> {
  const counts = countByIndex(await tableRows(s));
  for (const [i, n] of counts) assert.equal(n, 1, `COUNT ${i} stored ${n} times`);
  // A receive right after the exit: released messages are visible at once (visibility 0).
  const queued = new Set<number>();
  for (const m of await receiveAll(s.queue, 30)) {
    const p = parseMessage(m.text);
    assert.ok(p.ok);
    queued.add(messageIndex(p.message.msg)!);
  }
  const stored = new Set(counts.keys());
  for (let i = 1; i <= N; i++) assert.ok(stored.has(i) || queued.has(i), `COUNT ${i} is neither stored nor back in the queue`);
  return { stored, queued };
}

describe("SIGTERM", () => {
  it("work longer than the grace: in-flight messages are released, visible at once, exit 0", async (t) => {
    await resetStorage(s);
    await enqueue();
    const c = await startConsumer(t, azurite.connectionString, ["--work-ms", "600000", "--grace-ms", "2500", "--concurrency", "8", "--batch-size", "8"]);
    await waitFor("8 messages in flight", async () => ((await c.stats()).inFlight === 8 ? true : undefined));
    c.child.kill("SIGTERM");
    const exit = await c.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, c.stderr());
    const { stored, queued } = await account();
    assert.equal(stored.size, 0);
    assert.equal(queued.size, N);
    assert.match(c.stderr(), /stopped: processed 0, released 8,/);
  });

  it("work shorter than the grace: in-flight messages are finished and stored, the rest untouched, exit 0", async (t) => {
    await resetStorage(s);
    await enqueue();
    const c = await startConsumer(t, azurite.connectionString, ["--work-ms", "1500", "--grace-ms", "8000", "--concurrency", "8", "--batch-size", "8"]);
    const st = await waitFor("8 messages in flight", async () => {
      const x = await c.stats();
      return x.inFlight === 8 ? x : undefined;
    });
    c.child.kill("SIGTERM");
    const exit = await c.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, c.stderr());
    const { stored, queued } = await account();
    // What it had received it finished (no new receive after the signal); the rest stayed queued.
    assert.equal(stored.size, st.received, "stored exactly what it held when told to stop");
    assert.equal(queued.size, N - st.received);
    assert.match(c.stderr(), /released 0,/);
  });
});

// The run audit against real Azurite after a real SIGKILL: messages a dead consumer holds are invisible,
// not lost, and a settling audit waits for them to come back.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import { buildMessage } from "../../src/apps/message.js";
import { auditRun, settleBoundMs } from "../../src/local/edw/audit.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { queueConsistency } from "../../src/storage/consistency.js";
import { storageClients } from "../../src/storage/clients.js";
import type { RuntimeFile } from "../../src/local/runtime-file.js";
import {
  CONSUMER,
  QUEUE,
  descendants,
  endpointOf,
  newMarker,
  queueDepth,
  resetStorage,
  startCli,
  startConsumer,
  storageFor,
  tableRows,
  tempDir,
  waitFor,
  waitNoneMarked,
  type Storage,
} from "./helpers.js";

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
    "--work-ms",
    "600000",
    "--visibility-timeout",
    String(visibilitySeconds),
    "--batch-size",
    String(n),
    "--concurrency",
    String(n),
  ]);
  await waitFor(`the consumer to hold ${n} messages`, async () => ((await c.stats()).inFlight === n ? true : undefined));
  c.child.kill("SIGKILL");
  assert.equal((await c.exited).signal, "SIGKILL");
}

const audit = (sent: number[], settle?: Parameters<typeof auditRun>[0]["settle"]) => auditRun({ sentIndexes: sent, table: s.table, queue: s.queue, poisonQueue: s.poison, settle });

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

describe("akspilot up: a pod SIGKILLed while it holds messages, then Ctrl-C within the visibility timeout", () => {
  it("reports nothing lost and exits 0: the held messages are invisible, not gone", async (t) => {
    const cwd = tempDir(t);
    const marker = newMarker();
    const run = startCli(t, ["up", "edw", "--messages", "6", "--replicas", "1", "--work-ms", "600000", "--visibility-timeout", "300", "--json", "--quiet"], { cwd, marker });
    const rt = await waitFor("runtime.json", () => JSON.parse(readFileSync(join(cwd, ".akspilot", "runtime.json"), "utf8")) as RuntimeFile, 60_000);
    const queue = storageClients(endpointOf(rt.storage!.connectionString)).queue(QUEUE);
    // All six sent and none visible: the one pod holds them.
    await waitFor("the pod to hold all six", async () => {
      const c = await queueConsistency(queue);
      return c.approximate === 6 && c.peeked === 0 ? true : undefined;
    });
    const pods = descendants(run.child.pid!).filter((p) => p.cmdline.includes(CONSUMER));
    assert.equal(pods.length, 1, JSON.stringify(pods));
    process.kill(pods[0]!.pid, "SIGKILL");
    run.child.kill("SIGINT");
    const r = await run.exited;
    const report = JSON.parse(r.stdout.trim().split("\n").pop()!) as { sent: number; processed: number; lost: number; inQueue: number };
    assert.deepEqual({ sent: report.sent, processed: report.processed, inQueue: report.inQueue, lost: report.lost }, { sent: 6, processed: 0, inQueue: 0, lost: 0 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await waitNoneMarked(marker), [], "left running");
  });
});

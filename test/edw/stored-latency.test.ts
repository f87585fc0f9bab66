// The EDW end-to-end latency the status shows, read from the rows the consumers store, on real Azurite:
// only rows stored since the start, each row once even when a poll sees it again, a late-landing row
// caught by the overlap, and nothing older than the window.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startAzurite } from "../../src/process/azurite.js";
import { formatStamp, nowMicros } from "../../src/apps/message.js";
import { StoredLatency } from "../../src/local/edw/latency.js";
import { storageFor } from "./helpers.js";

test("recent end-to-end latency from stored rows: counted once, late rows caught, old rows left out", { timeout: 60_000 }, async (t) => {
  const az = await startAzurite();
  t.after(() => az.stop());
  const s = await storageFor(az.connectionString);
  const now = nowMicros();
  const partition = `q${new Date(now / 1000).toISOString().slice(0, 13).replace(/[-T]/g, "")}`;
  const row = (key: string, storedMicros: number, latencyMs: number) =>
    s.table.upsertEntity(
      { partitionKey: partition, rowKey: key, data: `m ${key}`, srcStamp: formatStamp(storedMicros - latencyMs * 1000), dateStamp: formatStamp(storedMicros), latencyMs },
      "Replace",
    );
  // A row stored before the watch started (an earlier run's) is not this run's.
  await row("before", now - 60_000_000, 99_999);
  const latency = new StoredLatency(s.table, now - 1_000_000, { windowSeconds: 30 });
  assert.equal(latency.recent(), null, "nothing stored yet");
  for (let i = 1; i <= 10; i++) await row(`m${i}`, now + i * 1000, i * 100);
  await latency.poll();
  assert.deepEqual(latency.recent(), { p50Ms: 500, p95Ms: 1000, samples: 10, windowSeconds: 30 });
  // Polled again (the same rows within the overlap) and a row rewritten by a second delivery: still counted once.
  await row("m3", now + 3000, 300);
  await latency.poll();
  assert.equal(latency.recent()!.samples, 10);
  // A row stamped before the newest one seen, landing only now (a slower pod): the overlap catches it.
  await row("late", now + 8000, 5000);
  await latency.poll();
  assert.deepEqual(latency.recent(), { p50Ms: 600, p95Ms: 5000, samples: 11, windowSeconds: 30 });

  // The window: on a clock 40 s later, every row has left it.
  const later = new StoredLatency(s.table, now - 1_000_000, { windowSeconds: 30, now: () => now / 1000 + 10_000 + 30_000 });
  await later.poll();
  assert.equal(later.recent(), null);
  // Bounded: with room for 4 samples, 4 are kept, whatever was stored.
  const small = new StoredLatency(s.table, now - 1_000_000, { maxSamples: 4, now: () => now / 1000 });
  await small.poll();
  assert.equal(small.recent()!.samples, 4);
});

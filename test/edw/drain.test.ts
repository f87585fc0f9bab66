import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import { countByIndex, newMarker, queueDepth, resetStorage, runCli, storageFor, tableRows, tempDir, waitNoneMarked, type Storage } from "./helpers.js";

const REPORT_FIELDS = ["sent", "processed", "poisoned", "lost", "duplicates", "drainSeconds", "maxReplicas", "storageCallsPerMessage"];

function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

// The runs with fixed replicas go at time scale 20: the simulated waits before the first receive (node
// provisioning, the image pull) shrink from seconds to a fraction, and nothing asserted here depends on them.
describe("akspilot up edw --exit-when-drained", () => {
  it("embedded storage: every message stored once, the report says so, nothing left running", async (t) => {
    const cwd = tempDir(t);
    const marker = newMarker();
    const r = await runCli(t, ["up", "edw", "--messages", "400", "--replicas", "2", "--time-scale", "20", "--exit-when-drained", "--json", "--quiet"], { cwd, marker });
    assert.equal(r.code, 0, r.stderr);
    const report = lastJsonLine(r.stdout);
    for (const f of REPORT_FIELDS) assert.ok(f in report, `report has no "${f}": ${r.stdout}`);
    assert.equal(report.sent, 400);
    assert.equal(report.processed, 400);
    assert.equal(report.lost, 0);
    assert.equal(report.duplicates, 0);
    assert.equal(report.poisoned, 0);
    assert.equal(report.maxReplicas, 2);
    assert.equal(typeof report.drainSeconds, "number");
    assert.ok((report.storageCallsPerMessage as number) > 0);
    // The pods' logs land in the working directory, as a user would find them.
    assert.ok(existsSync(join(cwd, ".akspilot", "logs")));
    // The consumer pods' V8 code cache is kept in the state directory, for the next pod of this run or the next run.
    assert.ok(readdirSync(join(cwd, ".akspilot", "compile-cache")).length > 0, "no code cache under .akspilot/compile-cache");
    assert.deepEqual(await waitNoneMarked(marker), [], "processes left after the run");
  });

  it("--exit-when-zero: stays after the drain until KEDA sets the consumer back to zero, and says when", async (t) => {
    const cwd = tempDir(t);
    const marker = newMarker();
    // Time scale 10: KEDA's 30 s poll and the seed's 10 s cooldown take a few seconds of wall time.
    const r = await runCli(
      t,
      ["up", "edw", "--messages", "40", "--work-ms", "20", "--time-scale", "10", "--exit-when-drained", "--exit-when-zero", "--json", "--quiet", "--no-dashboard"],
      {
        cwd,
        marker,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const report = lastJsonLine(r.stdout);
    assert.equal(report.processed, 40);
    assert.equal(report.drained, true);
    assert.equal(typeof report.backToZeroSeconds, "number", r.stdout);
    // Not before the seed's cooldownPeriod (10 s, 1 s of wall time at time scale 10) has passed since the queue was
    // last above activationQueueLength, which it was once the producer started sending. (Not "after the drain":
    // KEDA deactivates at or under activationQueueLength, so it may decide while the last messages are stored.)
    assert.ok((report.backToZeroSeconds as number) >= 1, r.stdout);
    assert.deepEqual(await waitNoneMarked(marker), [], "processes left after the run");
  });

  describe("against storage named by AZURE_STORAGE_CONNECTION_STRING", () => {
    let azurite: AzuriteHandle;
    let s: Storage;
    before(async () => {
      azurite = await startAzurite();
      s = await storageFor(azurite.connectionString);
    });
    after(async () => {
      await azurite?.stop();
    });

    it("the table itself holds each COUNT index exactly once, the queues are empty", async (t) => {
      await resetStorage(s);
      const cwd = tempDir(t);
      const marker = newMarker();
      const N = 300;
      const r = await runCli(t, ["up", "edw", "--messages", String(N), "--replicas", "3", "--work-ms", "5", "--time-scale", "20", "--exit-when-drained", "--json", "--quiet"], {
        cwd,
        marker,
        env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString },
      });
      assert.equal(r.code, 0, r.stderr);
      const report = lastJsonLine(r.stdout);
      assert.equal(report.sent, N);
      assert.equal(report.processed, N);
      assert.equal(report.lost, 0);
      assert.equal(report.duplicates, 0);
      assert.equal(report.maxReplicas, 3);
      assert.match(String(report.storage), /AZURE_STORAGE_CONNECTION_STRING/);

      // Independently of the report: read what the consumers wrote.
      const rows = await tableRows(s);
      const counts = countByIndex(rows);
      assert.equal(rows.length, N);
      for (let i = 1; i <= N; i++) assert.equal(counts.get(i), 1, `COUNT ${i} stored ${counts.get(i) ?? 0} times`);
      for (const row of rows) {
        // The seed's fields, plus end-to-end latency and the message id the row key comes from.
        assert.match(row.srcStamp, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
        assert.match(row.dateStamp, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
        assert.ok(row.dateStamp >= row.srcStamp, `stored before sent: ${row.dateStamp} < ${row.srcStamp}`);
        assert.equal(row.rowKey, row.messageId);
        assert.equal(typeof row.latencyMs, "number");
      }
      assert.equal(await queueDepth(s.queue), 0);
      assert.equal(await queueDepth(s.poison), 0);
      assert.deepEqual(await waitNoneMarked(marker), []);
    });
  });
});

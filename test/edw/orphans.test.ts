import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startAzurite } from "../../src/process/azurite.js";
import {
  alive,
  countByIndex,
  storageFor,
  tableRows,
  descendants,
  markedProcs,
  newMarker,
  startCli,
  stderrLines,
  tempDir,
  waitFor,
  waitNoneMarked,
  runCli,
  type Proc,
} from "./helpers.js";

/** Two replicas; cluster time 20 × faster, so the pods' image pull (5 s of cluster time) does not hold up the start. */
const UP_EDW = ["--replicas", "2", "--time-scale", "20", "--quiet"];

/** Waits until `akspilot up edw` (interactive) runs its Azurite and its two consumer pods; returns them. */
async function runningTree(pid: number): Promise<Proc[]> {
  return waitFor(
    "Azurite and two consumer pods under akspilot",
    () => {
      const tree = descendants(pid);
      const azurite = tree.filter((p) => p.cmdline.includes("azurite"));
      const pods = tree.filter((p) => /consumer\/main\.js|consumer\.mjs/.test(p.cmdline));
      return azurite.length === 1 && pods.length >= 2 ? tree : undefined;
    },
    60_000,
    100,
  );
}

describe("no process outlives akspilot", () => {
  it("SIGKILL of akspilot itself: Azurite and the pods stop on their own", async (t) => {
    const cwd = tempDir(t);
    const marker = newMarker();
    const run = startCli(t, ["up", "edw", ...UP_EDW], { cwd, marker });
    const tree = await runningTree(run.child.pid!);
    run.child.kill("SIGKILL");
    const exit = await run.exited;
    assert.equal(exit.signal, "SIGKILL");
    // A bounded wait for the orphans to notice (their IPC channel closed), not a timing assertion.
    const left = await waitFor("the orphaned processes to exit", () => (tree.some((p) => alive(p.pid, p.cmdline)) ? undefined : []), 30_000, 100).catch(() =>
      tree.filter((p) => alive(p.pid, p.cmdline)),
    );
    assert.deepEqual(left, [], "still running after akspilot was killed");
    assert.deepEqual(markedProcs(marker), []);
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal}: graceful exit 0, no descendants, no runtime file left`, async (t) => {
      const cwd = tempDir(t);
      const marker = newMarker();
      const run = startCli(t, ["up", "edw", ...UP_EDW], { cwd, marker });
      const tree = await runningTree(run.child.pid!);
      assert.ok(tree.length >= 3);
      run.child.kill(signal);
      const exit = await run.exited;
      assert.equal(exit.signal, null, exit.stderr);
      assert.equal(exit.code, 0, exit.stderr);
      assert.doesNotMatch(exit.stderr, /\n\s+at /, "stack trace on stderr");
      assert.ok(
        tree.every((p) => !alive(p.pid, p.cmdline)),
        "a descendant outlived the graceful exit",
      );
      assert.deepEqual(await waitNoneMarked(marker, 5000), []);
      assert.equal(existsSync(join(cwd, ".akspilot", "runtime.json")), false, "runtime.json left behind");
    });
  }

  it("a failed start (--data is a file): one error line, non-zero exit, no Azurite left", async (t) => {
    const cwd = tempDir(t);
    const marker = newMarker();
    const file = join(cwd, "not-a-dir");
    writeFileSync(file, "x");
    const r = await runCli(t, ["up", "edw", "--data", file, "--messages", "5", "--exit-when-drained", "--json"], { cwd, marker });
    assert.notEqual(r.code, 0);
    const lines = stderrLines(r);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /not-a-dir/);
    assert.doesNotMatch(r.stderr, / {4}at /);
    assert.equal(r.stdout, "");
    assert.deepEqual(await waitNoneMarked(marker, 5000), []);
  });

  it("--data DIR: the run's rows survive Azurite's stop, and nothing is left running", async (t) => {
    const cwd = tempDir(t);
    const marker = newMarker();
    const data = join(cwd, "data");
    const r = await runCli(t, ["up", "edw", "--data", data, "--messages", "25", "--replicas", "1", "--time-scale", "20", "--exit-when-drained", "--json", "--quiet"], {
      cwd,
      marker,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await waitNoneMarked(marker, 5000), []);
    // Reopen the same directory: the table still has the 25 rows.
    const azurite = await startAzurite({ dataDir: data });
    t.after(() => azurite.stop());
    const s = await storageFor(azurite.connectionString);
    const counts = countByIndex(await tableRows(s));
    assert.equal(counts.size, 25);
    assert.ok([...counts.values()].every((n) => n === 1));
  });
});

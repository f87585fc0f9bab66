// The tool itself killed with SIGKILL: what it leaves (its lock, its runtime file naming a dead process)
// is found by the next start in the same directory, removed, and said; the next run then works.
// (That its children stop on their own is test/edw/orphans.test.ts.)
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, startCli, tempDir, waitFor } from "../edw/helpers.js";

describe("akspilot killed with SIGKILL, then started again in the same directory", () => {
  it("the next start removes the dead run's lock and runtime file, says so in one line each, and runs", async (t) => {
    const cwd = tempDir(t);
    const first = startCli(t, ["up", "edw", "--replicas", "1", "--quiet"], { cwd });
    const rtPath = join(cwd, ".akspilot", "runtime.json");
    await waitFor("the runtime file", () => (existsSync(rtPath) ? true : undefined), 60_000);
    const deadPid = first.child.pid!;
    first.child.kill("SIGKILL");
    await first.exited;
    assert.ok(existsSync(join(cwd, ".akspilot", "run.lock")), "the killed run left its lock");
    assert.equal((JSON.parse(readFileSync(rtPath, "utf8")) as { pid: number }).pid, deadPid, "…and its runtime file");

    const next = await runCli(t, ["up", "edw", "--messages", "20", "--replicas", "1", "--exit-when-drained", "--json", "--quiet"], { cwd });
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, new RegExp(`previous run here \\(pid ${deadPid}, started [^)]+\\) ended without cleaning up: removed its lock`));
    assert.match(next.stderr, /removed the runtime file \(\.akspilot\/runtime\.json\) of a run whose process is gone/);
    assert.doesNotMatch(next.stderr, /\n\s+at /, "stack trace on stderr");
    const report = JSON.parse(next.stdout.trim().split("\n").pop()!) as { processed: number; lost: number; duplicates: number };
    assert.deepEqual([report.lost, report.duplicates], [0, 0]);
    assert.equal(existsSync(join(cwd, ".akspilot", "run.lock")), false, "the second run released its lock");
  });

  it("a clean previous exit leaves nothing to report", async (t) => {
    const cwd = tempDir(t);
    const a = await runCli(t, ["up", "edw", "--messages", "5", "--replicas", "1", "--exit-when-drained", "--json", "--quiet"], { cwd });
    assert.equal(a.code, 0, a.stderr);
    const b = await runCli(t, ["up", "edw", "--messages", "5", "--replicas", "1", "--exit-when-drained", "--json", "--quiet"], { cwd });
    assert.equal(b.code, 0, b.stderr);
    assert.doesNotMatch(b.stderr, /previous run|removed the runtime file/);
  });
});

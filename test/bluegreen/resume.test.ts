// An upgrade whose `up` is killed (SIGKILL) mid-canary resumes where it stopped when `up` starts again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, tempDir, waitFor } from "../edw/helpers.js";
import { status } from "../runtime/cli-helpers.js";
import type { ClusterEvent } from "../../src/local/cluster/events.js";
import { blueGreen, control, upBlueGreen } from "./helpers.js";

test("kill -9 of `up` during the canary: restarted, it resumes at T2 and completes the switch", { timeout: 240_000 }, async (t) => {
  const cwd = tempDir(t, "akspilot-bg-resume-");
  const first = await upBlueGreen(t, cwd);
  const r = await runCli(t, ["upgrade", "--to", "1.20.7", "--canary", "50,100", "--hold-seconds", "4"], { cwd });
  assert.equal(r.code, 0, r.stderr);
  await waitFor("stage T2", async () => (blueGreen(await status(first.rt)).stage === "T2" ? true : undefined), 60_000);
  first.up.child.kill("SIGKILL");
  await first.up.exited;
  const saved = JSON.parse(readFileSync(join(cwd, ".akspilot", "bluegreen.json"), "utf8")) as { stage: string; phase: string; green: { version: string } };
  assert.deepEqual([saved.stage, saved.phase, saved.green.version], ["T2", "canary", "1.20.7"]);

  const second = await upBlueGreen(t, cwd);
  assert.notEqual(second.rt.pid, first.rt.pid);
  // A resumed upgrade ends at standby, or at rolled-back when a gate stopped it: the wait ends at either, and
  // the assertion below says which gate, instead of waiting out the bound for a phase that will not come.
  const done = await waitFor(
    "T3 standby (or a rollback)",
    async () => {
      const s = await status(second.rt);
      return ["standby", "rolled-back"].includes(blueGreen(s).phase) ? s : undefined;
    },
    90_000,
  );
  const why = async () =>
    (await control<ClusterEvent[]>(second.rt, "GET", "/v1/events")).body
      .filter((e) => /Upgrade|Canary|Smoke|Green|Rolled|Traffic/.test(e.reason))
      .map((e) => `${e.reason}: ${e.message}`)
      .join("\n");
  assert.equal(blueGreen(done).phase, "standby", await why());
  assert.deepEqual(blueGreen(done).weights, { green: 100 });
  assert.deepEqual(done.clusters.map((c) => [c.name, c.kubernetesVersion]).sort(), [
    ["blue", "1.19.11"],
    ["green", "1.20.7"],
  ]);
  const events = (await control<ClusterEvent[]>(second.rt, "GET", "/v1/events")).body;
  const resumed = events.find((e) => e.reason === "UpgradeResumed");
  assert.match(resumed?.message ?? "", /resuming at stage T2 \(canary\)/);
  assert.ok(events.some((e) => e.reason === "CanaryPassed"));
  assert.ok(existsSync(join(cwd, ".akspilot", "bluegreen.json")));
  assert.equal((await runCli(t, ["upgrade", "--finish", "--wait"], { cwd })).code, 0);
});

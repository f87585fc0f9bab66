// A failing green is stopped by the gates and never takes production traffic: a version answering 500
// (smoke test), one never Ready (Ready gate), one slow (canary analysis rolls back by itself).
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli, tempDir } from "../edw/helpers.js";
import { status } from "../runtime/cli-helpers.js";
import { blueGreen, runs, startWatcher, upBlueGreen } from "./helpers.js";

test("the gates stop a failing green: http-500 at the smoke test, never-ready at the Ready gate, slow at the canary", { timeout: 240_000 }, async (t) => {
  const cwd = tempDir(t, "akspilot-bg-gates-");
  const { rt } = await upBlueGreen(t, cwd);
  const watcher = startWatcher(t, rt.gatewayUrl!, 100);

  const smoke = await runCli(t, ["upgrade", "--to", "1.20.7", "--fault", "http-500", "--canary", "10,100", "--wait"], { cwd });
  assert.equal(smoke.code, 1, "a rolled-back upgrade exits 1");
  assert.match(smoke.stdout, /smoke test of green failed: 30 of 30 requests wrong \(first: webapp-[a-z0-9]{5} answered 500\)/);
  assert.doesNotMatch(smoke.stdout, /CanaryStep|TrafficSwitched/);
  let s = await status(rt);
  assert.equal(blueGreen(s).phase, "rolled-back");
  assert.equal(s.gateway?.byCluster?.green, undefined, "the gateway sent green nothing");

  const never = await runCli(t, ["upgrade", "--to", "1.20.7", "--fault", "never-ready", "--ready-timeout", "3", "--wait"], { cwd });
  assert.equal(never.code, 1);
  assert.match(never.stdout, /green was not Ready within 3 s/);
  s = await status(rt);
  assert.equal(s.gateway?.byCluster?.green, undefined);

  const slow = await runCli(t, ["upgrade", "--to", "1.20.7", "--fault", "slow", "--canary", "10,100", "--hold-seconds", "2", "--wait"], { cwd });
  assert.equal(slow.code, 1);
  assert.match(slow.stdout, /SmokeTestPassed/);
  // Slow answers are green's regression either way: by p95, or as tries the gateway gave up on as stalled.
  assert.match(slow.stdout, /canary at 10% regressed: green's (p95 is slower|error rate is higher) than blue's/);
  assert.doesNotMatch(slow.stdout, /TrafficSwitched/);
  s = await status(rt);
  assert.deepEqual([blueGreen(s).stage, blueGreen(s).phase, blueGreen(s).weights], ["T0", "rolled-back", { blue: 100 }]);
  assert.ok((s.gateway?.byCluster?.green?.requests ?? 0) > 0, "the canary sent green its share");

  const samples = await watcher.stop();
  assert.equal(samples.filter((x) => x.status !== 200).length, 0);
  // Only the slow canary's 10 % ever reached green, and every one of those answered.
  assert.ok(samples.filter((x) => x.cluster === "green").every((x) => x.version === "1.20.7"));
  assert.equal(runs(samples)[0], "blue");
  assert.equal(runs(samples).at(-1), "blue");
});

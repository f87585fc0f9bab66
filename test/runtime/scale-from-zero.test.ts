// Scale from zero through the HTTP gateway, end to end: `scale 0`, then a request — held while the gateway
// asks for a replica and the pod starts, then answered in the seed's format; the events say why it waited.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli, startCli, tempDir, waitFor } from "../edw/helpers.js";
import { get, runtimeFile, status, waitReadyPods, SEED_BODY } from "./cli-helpers.js";

test("scale 0, then a request: held while the first replica starts, answered, no error", { timeout: 120_000 }, async (t) => {
  const cwd = tempDir(t, "akspilot-s0-");
  const up = startCli(t, ["up", "resilient-web", "--time-scale", "10", "--quiet"], { cwd });
  const rt = await waitFor("runtime.json", () => runtimeFile(cwd), 60_000);
  await waitReadyPods(rt, 4);
  const scaled = await runCli(t, ["scale", "0"], { cwd });
  assert.equal(scaled.code, 0, scaled.stderr);
  await waitFor("no pod left", async () => ((await status(rt)).pods.length === 0 ? true : undefined), 60_000);
  const r = await get(rt.gatewayUrl!);
  assert.equal(r.status, 200, r.body);
  assert.match(r.body, SEED_BODY);
  const s = await status(rt);
  assert.equal(s.deployments[0]!.desired, 1);
  const events = (await runCli(t, ["events", "--json"], { cwd })).stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { reason: string; object: string; message: string });
  assert.ok(
    events.some((e) => e.object === "gateway/helloworld" && e.reason === "RequestsHeld"),
    "no RequestsHeld event",
  );
  assert.ok(
    events.some((e) => e.object === "gateway/helloworld" && e.reason === "RequestsReleased"),
    "no RequestsReleased event",
  );
  assert.ok(
    events.some((e) => e.reason === "ScalingReplicaSet" && /scale from zero/.test(e.message)),
    "the scale-up does not say why",
  );
  up.child.kill("SIGINT");
  assert.equal((await up.exited).code, 0);
});

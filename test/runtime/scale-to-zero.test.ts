// `up resilient-web --scale-to-zero S`: the HTTP scale rule takes the web app to zero once it has been idle
// for S seconds, and the first request afterwards is held at the gateway and answered (no error); bad uses
// of the flag are one line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli, startCli, tempDir, waitFor } from "../edw/helpers.js";
import { get, runtimeFile, status, SEED_BODY } from "./cli-helpers.js";

interface Ev {
  reason: string;
  object: string;
  message: string;
}

test("scale to zero when idle, then the first request is held and answered, and the app goes back to zero", { timeout: 120_000 }, async (t) => {
  const cwd = tempDir(t, "akspilot-s2z-");
  // Time scale 10: a 5 s scale-down period is half a second of wall time.
  const up = startCli(t, ["up", "resilient-web", "--scale-to-zero", "5", "--time-scale", "10", "--quiet"], { cwd });
  const rt = await waitFor("runtime.json", () => runtimeFile(cwd), 60_000);
  await waitFor(
    "scaled to zero, no pod left",
    async () => {
      const s = await status(rt);
      return s.deployments[0]!.desired === 0 && s.pods.length === 0 ? true : undefined;
    },
    60_000,
  );
  const events = async () =>
    (await runCli(t, ["events", "--json"], { cwd })).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Ev);
  const before = await events();
  assert.ok(
    before.some((e) => e.reason === "ScalingReplicaSet" && e.message === "http-scaling: 4 → 0: no request for 5 s (scaledownPeriod): scale to zero"),
    `no scale-to-zero event: ${before
      .filter((e) => e.reason === "ScalingReplicaSet")
      .map((e) => e.message)
      .join(" | ")}`,
  );

  const r = await get(rt.gatewayUrl!);
  assert.equal(r.status, 200, r.body);
  assert.match(r.body, SEED_BODY);
  const after = await events();
  assert.ok(
    after.some((e) => e.object === "gateway/helloworld" && e.reason === "RequestsHeld"),
    "the first request was not held",
  );
  // Idle again: back to zero.
  await waitFor("back to zero", async () => ((await status(rt)).deployments[0]!.desired === 0 ? true : undefined), 60_000);
  const last = await events();
  assert.ok(last.filter((e) => e.reason === "ScalingReplicaSet" && /^http-scaling: 1 → 0: no request for 5 s/.test(e.message)).length >= 1, "not back to zero after the request");
  up.child.kill("SIGINT");
  assert.equal((await up.exited).code, 0);
});

test("--scale-to-zero with --gateway kube, or on a blueprint without a LoadBalancer: one line, exit 2", async (t) => {
  const cwd = tempDir(t, "akspilot-s2z-bad-");
  const a = await runCli(t, ["up", "resilient-web", "--scale-to-zero", "60", "--gateway", "kube"], { cwd });
  assert.equal(a.code, 2);
  assert.equal(
    a.stderr.trim(),
    "akspilot: --scale-to-zero needs the HTTP gateway (it counts the requests and holds the first one while a replica starts) — use --gateway akspilot",
  );
  const b = await runCli(t, ["up", "edw", "--scale-to-zero", "60"], { cwd });
  assert.equal(b.code, 2);
  assert.equal(b.stderr.trim(), "akspilot: --scale-to-zero: blueprint edw has no LoadBalancer Service to scale on — drop it for edw");
});

// `akspilot upgrade` end to end on `up bluegreen`: real pods (child processes), the real gateway on
// loopback, the CLI against the control API, and an independent client process watching who answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { runCli, tempDir } from "../edw/helpers.js";
import { status } from "../runtime/cli-helpers.js";
import type { ClusterEvent } from "../../src/local/cluster/events.js";
import { blueGreen, control, oneLine, runs, startWatcher, upBlueGreen } from "./helpers.js";

function get(url: string): Promise<{ status: number; cluster: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, cluster: res.headers["x-cluster"] as string | undefined, body }));
    })
      .on("error", reject)
      .end();
  });
}

test("upgrade T0 → T4 with canary, switch and rollback under 100 req/s from another process: 0 failed requests, the answering cluster changes", { timeout: 240_000 }, async (t) => {
  const cwd = tempDir(t, "akspilot-bg-");
  const { rt } = await upBlueGreen(t, cwd);
  let s = await status(rt);
  // T0: only the active cluster, its nodes labelled with its version, one gateway in front.
  assert.deepEqual(
    s.clusters.map((c) => [c.name, c.kubernetesVersion]),
    [["blue", "1.19.11"]],
  );
  assert.equal(s.nodes.length, 3);
  assert.ok(s.nodes.every((n) => n.kubernetesVersion === "1.19.11"));
  assert.deepEqual(blueGreen(s), {
    stage: "T0",
    phase: "serving",
    activeCluster: "blue",
    standbyCluster: null,
    targetVersion: null,
    weights: { blue: 100 },
    owner: { holder: "agic-blue", generation: 1 },
  });
  assert.equal(s.gateway?.mode, "akspilot");
  const page = await get(rt.gatewayUrl!);
  assert.equal(page.status, 200);
  assert.equal(page.cluster, "blue");
  assert.match(page.body, /^Hello world! Now is .*\nRunning on webapp-[a-z0-9]{5}\.\nCluster blue, Kubernetes 1\.19\.11\.$/);

  const watcher = startWatcher(t, rt.gatewayUrl!, 100);
  const up = await runCli(t, ["upgrade", "--to", "1.20.7", "--canary", "10,50,100", "--hold-seconds", "1", "--wait"], { cwd });
  assert.equal(up.code, 0, up.stderr + up.stdout);
  for (const reason of ["UpgradeStarted", "GreenCreated", "GreenReady", "SmokeTestPassed", "CanaryStep", "CanaryPassed", "TrafficSwitched"])
    assert.match(up.stdout, new RegExp(reason));
  const text = await runCli(t, ["status"], { cwd });
  assert.match(
    text.stdout,
    /blue-green: stage T3 \(standby\) · serving green · standby blue · target 1\.20\.7 · weights green 100% · owner agic-green \(generation 2\) · tries blue \d+ \(\d+ failed\), green \d+ \(\d+ failed\)/,
  );
  s = await status(rt);
  assert.deepEqual(blueGreen(s), {
    stage: "T3",
    phase: "standby",
    activeCluster: "green",
    standbyCluster: "blue",
    targetVersion: "1.20.7",
    weights: { green: 100 },
    owner: { holder: "agic-green", generation: 2 },
  });
  assert.ok(s.nodes.filter((n) => n.cluster === "green").every((n) => n.kubernetesVersion === "1.20.7"));
  assert.ok((s.gateway?.byCluster?.green?.requests ?? 0) > 0);

  // A second controller asking for the gateway is refused, with an event; traffic is not disturbed.
  const claim = await control<{ error: string }>(rt, "POST", "/v1/gateway/owner", { holder: "agic-blue" });
  assert.equal(claim.code, 409);
  assert.match(claim.body.error, /agic-blue asked to own the gateway's backend, which agic-green owns \(generation 2\); refused/);
  const events = (await control<ClusterEvent[]>(rt, "GET", "/v1/events")).body;
  assert.ok(events.some((e) => e.reason === "BackendOwnerRefused" && e.type === "Warning"));
  assert.deepEqual(blueGreen(await status(rt)).owner, { holder: "agic-green", generation: 2 });

  await new Promise((r) => setTimeout(r, 500));
  const back = await runCli(t, ["rollback", "--wait"], { cwd });
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stdout, /RolledBack/);
  await new Promise((r) => setTimeout(r, 500));
  const samples = await watcher.stop();
  const failed = samples.filter((x) => x.status !== 200);
  assert.equal(failed.length, 0, `failed: ${JSON.stringify(failed.slice(0, 5))}`);
  assert.ok(samples.length > 100);
  const seq = runs(samples);
  assert.equal(seq[0], "blue");
  assert.equal(seq.at(-1), "blue");
  assert.ok(seq.includes("green"), `the answering cluster changed: ${seq.join(" → ")}`);
  assert.ok(samples.filter((x) => x.cluster === "green").every((x) => x.version === "1.20.7"));
  s = await status(rt);
  assert.deepEqual([blueGreen(s).stage, blueGreen(s).phase, s.clusters.map((c) => c.name)], ["T0", "rolled-back", ["blue"]]);

  // Again without canary, then finished: blue removed.
  assert.equal((await runCli(t, ["upgrade", "--to", "1.21.2", "--wait"], { cwd })).code, 0);
  const fin = await runCli(t, ["upgrade", "--finish", "--wait"], { cwd });
  assert.equal(fin.code, 0, fin.stderr);
  s = await status(rt);
  assert.deepEqual([blueGreen(s).stage, blueGreen(s).phase, blueGreen(s).standbyCluster], ["T4", "finished", null]);
  assert.deepEqual(
    s.clusters.map((c) => [c.name, c.kubernetesVersion]),
    [["green", "1.21.2"]],
  );
  assert.equal((await get(rt.gatewayUrl!)).cluster, "green");
  oneLine(await runCli(t, ["rollback"], { cwd }), /nothing to roll back to: the upgrade to 1\.21\.2 was finished and blue removed/);
});

test("bad input → one clear line: --to the current version, an unknown version, --finish or rollback with no upgrade, malformed flags", { timeout: 120_000 }, async (t) => {
  const cwd = tempDir(t, "akspilot-bg-bad-");
  // Without a running `up` first.
  oneLine(await runCli(t, ["upgrade", "--to", "1.20.7"], { cwd }), /no running `akspilot up` found/);
  const { rt } = await upBlueGreen(t, cwd);
  oneLine(await runCli(t, ["upgrade", "--to", "1.19.11"], { cwd }), /--to 1\.19\.11 is the version cluster blue already runs — pick a newer version \(known: 1\.20\.7, 1\.21\.2\)/);
  oneLine(
    await runCli(t, ["upgrade", "--to", "1.99.1"], { cwd }),
    /--to "1\.99\.1" is not a Kubernetes version this blueprint knows — known versions: 1\.19\.11, 1\.20\.7, 1\.21\.2/,
  );
  oneLine(await runCli(t, ["upgrade", "--finish"], { cwd }), /--finish: no upgrade is in progress — start one with `akspilot upgrade --to <version>`/);
  oneLine(await runCli(t, ["rollback"], { cwd }), /nothing to roll back: no upgrade is in progress/);
  oneLine(await runCli(t, ["upgrade"], { cwd }), /say where to: --to <version>/);
  oneLine(await runCli(t, ["upgrade", "--to", "1.20.7", "--canary", "50,10"], { cwd }), /--canary weights must go up/);
  oneLine(await runCli(t, ["upgrade", "--to", "1.20.7", "--canary", "ten"], { cwd }), /--canary must be whole percentages/);
  oneLine(await runCli(t, ["upgrade", "--to", "1.20.7", "--fault", "boom"], { cwd }), /--fault/);
  // The dashboard's routes refuse the same way.
  const r = await control<{ error: string }>(rt, "POST", "/v1/upgrade", { to: 1.2 });
  assert.equal(r.code, 400);
  assert.match(r.body.error, /"to" must be a Kubernetes version/);
  const c = await control<{ error: string }>(rt, "POST", "/v1/upgrade", { to: "1.20.7", canary: [10, 5] });
  assert.equal(c.code, 400);
  // An upgrade while one is in progress is refused; nothing changed.
  assert.equal((await control(rt, "POST", "/v1/upgrade", { to: "1.20.7", holdSeconds: 30, canary: [50] })).code, 202);
  oneLine(await runCli(t, ["upgrade", "--to", "1.21.2"], { cwd }), /an upgrade to 1\.20\.7 is already in progress/);
  oneLine(await runCli(t, ["upgrade", "--finish"], { cwd }), /cannot finish yet: traffic has not been switched to green/);
  assert.equal((await runCli(t, ["rollback", "--wait"], { cwd })).code, 0);
  assert.equal(blueGreen(await status(rt)).phase, "rolled-back");
});

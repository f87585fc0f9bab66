// The local runtime end to end: KEDA-faithful replica scaling and Karpenter-style nodes on real pods
// (child processes) and real Azurite, observed through the control API as a user would.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli, startCli, tempDir, waitFor } from "../edw/helpers.js";
import { runtimeFile } from "./cli-helpers.js";
import type { RuntimeFile } from "../../src/local/runtime-file.js";

interface Status {
  queueDepth: number | null;
  deployments: { name: string; desired: number; current: number; ready: number }[];
  nodes: { name: string; phase: string; pool: string; poolKind: "agentPool" | "nodePool" }[];
  pods: { name: string; node: string | null; phase: string }[];
}

async function status(rt: RuntimeFile): Promise<Status> {
  const res = await fetch(`${rt.controlUrl}/v1/status`, { headers: { authorization: `Bearer ${rt.token}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as Status;
}

test("a backlog makes pods go 0 → many → 0 and Karpenter nodes 0 → several → 0 (static pools untouched), and nothing is lost", { timeout: 240_000 }, async (t) => {
  const cwd = tempDir(t);
  // One burst of 300 and nothing after (the next burst is a day away); timings 20× faster than the cluster's.
  const up = startCli(
    t,
    [
      "up",
      "edw",
      "--rate",
      "0",
      "--burst",
      "300",
      "--burst-every",
      "86400",
      "--work-ms",
      "100",
      "--concurrency",
      "2",
      "--time-scale",
      "20",
      "--node-startup-seconds",
      "20",
      "--quiet",
      "--json",
    ],
    { cwd },
  );
  const rt = await waitFor("runtime.json", () => runtimeFile(cwd), 60_000);
  const seen = { maxDesired: 0, maxNodes: 0, sawZeroAfterPeak: false, nodesBackToNone: false, staticNodes: new Set<number>() };
  await waitFor(
    "scale up and back down",
    async () => {
      const s = await status(rt);
      const d = s.deployments[0]!;
      // Karpenter's nodes come and go; the seed's agent pools (3 system, 1 application) stay as they are.
      const live = s.nodes.filter((n) => n.phase !== "Deleted" && n.poolKind === "nodePool").length;
      seen.staticNodes.add(s.nodes.filter((n) => n.poolKind === "agentPool").length);
      seen.maxDesired = Math.max(seen.maxDesired, d.desired);
      seen.maxNodes = Math.max(seen.maxNodes, live);
      if (seen.maxDesired > 1 && d.desired === 0 && d.current === 0) seen.sawZeroAfterPeak = true;
      if (seen.sawZeroAfterPeak && seen.maxNodes >= 1 && live === 0) seen.nodesBackToNone = true;
      return seen.nodesBackToNone && s.queueDepth === 0 ? true : undefined;
    },
    180_000,
    250,
  );
  const events = (await runCli(t, ["events", "--json"], { cwd })).stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { object: string; reason: string; message: string });
  up.child.kill("SIGINT");
  const out = await up.exited;
  assert.equal(out.code, 0, out.stderr);
  const report = JSON.parse(out.stdout.trim().split("\n").pop()!) as { sent: number; processed: number; lost: number; duplicates: number; maxReplicas: number; maxNodes: number };
  assert.equal(report.sent, 300);
  assert.equal(report.processed, 300);
  assert.equal(report.lost, 0);
  assert.equal(report.duplicates, 0);
  // KEDA's ScaledObject caps at 15; the HPA reached it through its max(2×current, 4) steps.
  assert.equal(seen.maxDesired, 15);
  // The HPA's first step from one replica is to 4 (the events say so even when the step lasts less than a poll).
  const steps = events.filter((e) => e.object === "deployment/aqs-app" && e.reason === "ScalingReplicaSet").map((e) => /: (\d+) → (\d+):/.exec(e.message)!.slice(1).join("→"));
  assert.ok(steps.includes("1→4"), `expected the HPA's step 1 → 4 in ${steps.join(", ")}`);
  // 15 pods of 250m: 7 fit the application pool's node, the rest need at least one node from Karpenter.
  assert.ok(seen.maxNodes >= 1, `Karpenter nodes grew to ${seen.maxNodes}`);
  assert.deepEqual([...seen.staticNodes], [4]);
  // The runtime file is removed on exit.
  assert.equal(runtimeFile(cwd), undefined);
});

test("the control API rejects a missing or wrong token; CLI commands use the right one", { timeout: 120_000 }, async (t) => {
  const cwd = tempDir(t);
  const up = startCli(t, ["up", "edw", "--rate", "1", "--burst", "0", "--time-scale", "10", "--quiet"], { cwd });
  const rt = await waitFor("runtime.json", () => runtimeFile(cwd), 60_000);
  assert.match(rt.controlUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  const none = await fetch(`${rt.controlUrl}/v1/status`);
  assert.equal(none.status, 401);
  const wrong = await fetch(`${rt.controlUrl}/v1/status`, { headers: { authorization: `Bearer ${rt.token}x` } });
  assert.equal(wrong.status, 401);
  const scaleNoToken = await fetch(`${rt.controlUrl}/v1/scale`, { method: "POST", body: JSON.stringify({ replicas: 5 }) });
  assert.equal(scaleNoToken.status, 401);

  const bad = await fetch(`${rt.controlUrl}/v1/scale`, { method: "POST", headers: { authorization: `Bearer ${rt.token}` }, body: JSON.stringify({ replicas: -1 }) });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /replicas/);

  const st = await runCli(t, ["status", "--json"], { cwd });
  assert.equal(st.code, 0, st.stderr);
  const s = JSON.parse(st.stdout) as Status & { policy: string };
  assert.equal(s.policy, "keda");
  assert.equal(s.deployments[0]!.name, "aqs-app");

  const scaled = await runCli(t, ["scale", "3", "--pause"], { cwd });
  assert.equal(scaled.code, 0, scaled.stderr);
  await waitFor("3 running pods", async () => ((await status(rt)).deployments[0]!.current === 3 ? true : undefined), 60_000, 200);

  const events = await runCli(t, ["events", "--json"], { cwd });
  const lines = events.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { object: string; reason: string; message: string });
  assert.ok(lines.some((e) => e.reason === "ScaledObjectPaused"));
  assert.ok(lines.some((e) => e.object === "deployment/aqs-app" && /→ 3/.test(e.message)));

  const unknownNode = await runCli(t, ["node", "stop", "no-such-node"], { cwd });
  assert.notEqual(unknownNode.code, 0);
  assert.match(unknownNode.stderr, /no node named "no-such-node"/);
  assert.doesNotMatch(unknownNode.stderr, /\n\s+at /);

  up.child.kill("SIGINT");
  assert.equal((await up.exited).code, 0);
  const after = await runCli(t, ["status"], { cwd });
  assert.notEqual(after.code, 0);
  assert.match(after.stderr, /no running `akspilot up`/);
});

test("scale from zero on up edw starts the first pod on the static application pool, without waiting for a new node", { timeout: 180_000 }, async (t) => {
  const cwd = tempDir(t);
  const up = startCli(t, ["up", "edw", "--rate", "0", "--burst", "0", "--work-ms", "50", "--time-scale", "20", "--quiet"], { cwd });
  const rt = await waitFor("runtime.json", () => runtimeFile(cwd), 60_000);
  // KEDA takes the idle Deployment to zero after its cooldown.
  await waitFor(
    "zero replicas",
    async () => {
      const s = await status(rt);
      return s.deployments[0]!.desired === 0 && s.deployments[0]!.current === 0 ? true : undefined;
    },
    90_000,
    200,
  );
  const produce = await runCli(t, ["produce", "--count", "30", "--rate", "1000", "--json"], { cwd });
  assert.equal(produce.code, 0, produce.stderr);
  const first = await waitFor(
    "a running consumer",
    async () => {
      const s = await status(rt);
      const pod = s.pods.find((p) => p.phase === "Running" && p.node);
      return pod ? { pod, s } : undefined;
    },
    90_000,
    100,
  );
  assert.match(first.pod.node!, /^aks-apppool-/);
  const events = (await runCli(t, ["events", "--json"], { cwd })).stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { time: number; object: string; reason: string; message: string });
  const started = events.find((e) => e.object === `pod/${first.pod.name}` && e.reason === "Started")!;
  const karpenterLaunches = events.filter((e) => e.reason === "Launched" && /NodePool default/.test(e.message));
  assert.ok(
    karpenterLaunches.every((e) => e.time > started.time),
    "a Karpenter node was launched before the first pod started",
  );
  up.child.kill("SIGINT");
  const out = await up.exited;
  assert.equal(out.code, 0, out.stderr);
});

test("a pause asked for while the consumers are still starting holds once KEDA's loops run", { timeout: 120_000 }, async (t) => {
  const cwd = tempDir(t);
  const up = startCli(t, ["up", "edw", "--rate", "0", "--burst", "0", "--time-scale", "20", "--quiet"], { cwd });
  const rt = await waitFor("runtime.json", () => runtimeFile(cwd), 60_000, 20);
  // At once: the control API serves before the first pod has made its first receive (KEDA not yet running).
  const res = await fetch(`${rt.controlUrl}/v1/scale`, { method: "POST", headers: { authorization: `Bearer ${rt.token}` }, body: JSON.stringify({ replicas: 3, pause: true }) });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { paused: boolean }).paused, true);
  await waitFor("3 running pods", async () => ((await status(rt)).deployments[0]!.current === 3 ? true : undefined), 60_000, 100);
  // An empty queue would take an unpaused KEDA to 0 within its cooldown (10 s, 0.5 s here); paused, it stays at 3
  // through several polling intervals (30 s each, 1.5 s here).
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    const s = (await status(rt)) as Status & { paused: boolean };
    assert.equal(s.deployments[0]!.desired, 3);
    assert.equal(s.paused, true);
    await new Promise((r) => setTimeout(r, 250));
  }
  up.child.kill("SIGINT");
  assert.equal((await up.exited).code, 0);
});

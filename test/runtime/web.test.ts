// `akspilot up resilient-web` end to end, as the seed's user runs it: a curl-like loop at the gateway
// while one of the two VMs is switched off. Real pods (child processes), real loopback HTTP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { runCli, startCli, tempDir, waitFor } from "../edw/helpers.js";
import type { StatusV1 } from "../../src/local/status.js";
import { runtimeFile, SEED_BODY, status, waitReadyPods } from "./cli-helpers.js";

/** One GET like `curl --max-time`: the body, or "timeout"/"error" (a new connection each time, as curl). */
function get(url: string, timeoutMs: number): Promise<{ ok: true; body: string } | { ok: false; why: "timeout" | "error" }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve(res.statusCode === 200 ? { ok: true, body } : { ok: false, why: "error" }));
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve({ ok: false, why: "timeout" });
    });
    req.on("error", () => resolve({ ok: false, why: "error" }));
    req.end();
  });
}

test("up resilient-web: 4 pods on 2 nodes answer in the seed's exact format behind the LoadBalancer Service", { timeout: 120_000 }, async (t) => {
  const cwd = tempDir(t, "akspilot-web-");
  const up = startCli(t, ["up", "resilient-web", "--time-scale", "10", "--quiet"], { cwd });
  const rt = await waitFor("runtime.json", () => runtimeFile(cwd), 60_000);
  assert.match(rt.gatewayUrl ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(rt.gatewayMode, "akspilot", "resilient-web runs behind the HTTP gateway by default");
  const s = await waitReadyPods(rt, 4);
  assert.equal(s.apiVersion, "akspilot.dev/v1");
  assert.equal(s.nodes.length, 2);
  // Spread over the two nodes, two each, every pod with its own port.
  const perNode = new Map<string, number>();
  for (const p of s.pods) perNode.set(p.node!, (perNode.get(p.node!) ?? 0) + 1);
  assert.deepEqual([...perNode.values()].sort(), [2, 2]);
  assert.equal(new Set(s.pods.map((p) => p.port)).size, 4);
  assert.equal(s.services[0]!.endpoints.filter((e) => e.ready).length, 4);

  // Connections are spread round-robin: 8 requests reach all 4 pods, each answering with its own name.
  const seen = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const r = await get(rt.gatewayUrl!, 5000);
    assert.ok(r.ok, `request ${i} failed`);
    const m = SEED_BODY.exec(r.body);
    assert.ok(m, `not the seed's format: ${JSON.stringify(r.body)}`);
    seen.add(m[1]!);
  }
  assert.deepEqual([...seen].sort(), s.pods.map((p) => p.name).sort());

  const st = await runCli(t, ["status"], { cwd });
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /gateway http:\/\/127\.0\.0\.1:\d+ \(akspilot\)/);
  assert.match(st.stdout, /service\/helloworld \(LoadBalancer\)/);

  up.child.kill("SIGINT");
  const out = await up.exited;
  assert.equal(out.code, 0, out.stderr);
  assert.equal(runtimeFile(cwd), undefined);
});

test("node stop on resilient-web: requests hang until the node is NotReady and its pods are evicted, then 4 pods answer from the survivor", { timeout: 180_000 }, async (t) => {
  const cwd = tempDir(t, "akspilot-web-");
  // Time scale 10: the 40 s node-monitor grace period of Kubernetes 1.18 takes 4 s, tolerationSeconds 1 takes 0.1 s.
  // --gateway kube: the LoadBalancer Service's L4 proxy answers, as on AKS by default.
  const up = startCli(t, ["up", "resilient-web", "--time-scale", "10", "--gateway", "kube", "--quiet"], { cwd });
  const rt = await waitFor("runtime.json", () => runtimeFile(cwd), 60_000);
  const before = await waitReadyPods(rt, 4);
  const victim = before.nodes[0]!.name;
  const survivor = before.nodes[1]!.name;
  const victimPods = before.pods.filter((p) => p.node === victim).map((p) => p.name);

  const stop = await runCli(t, ["node", "stop", victim], { cwd });
  assert.equal(stop.code, 0, stop.stderr);
  // The curl loop of the seed, with a 1 s timeout: record what each request got.
  const results: { at: number; ok: boolean; why?: string; pod?: string }[] = [];
  const t0 = Date.now();
  let recovered: StatusV1 | undefined;
  while (Date.now() - t0 < 60_000) {
    const r = await get(rt.gatewayUrl!, 1000);
    results.push(r.ok ? { at: Date.now() - t0, ok: true, pod: SEED_BODY.exec(r.body)?.[1] } : { at: Date.now() - t0, ok: false, why: r.why });
    const s = await status(rt);
    const onSurvivor = s.pods.filter((p) => p.node === survivor && p.ready && p.phase === "Running");
    if (onSurvivor.length === 4 && s.nodes.find((n) => n.name === victim)?.phase === "NotReady") {
      recovered = s;
      break;
    }
  }
  assert.ok(recovered, "4 ready pods on the surviving node within 60 s");
  // Faithful to the seed: while the node was still believed Ready, requests routed to its frozen pods hung.
  assert.ok(
    results.some((r) => !r.ok && r.why === "timeout"),
    `no request hung: ${JSON.stringify(results.slice(0, 10))}`,
  );
  // And afterwards every answer comes from a pod on the survivor.
  for (let i = 0; i < 8; i++) {
    const r = await get(rt.gatewayUrl!, 2000);
    assert.ok(r.ok, "a request failed after the failover");
    const pod = SEED_BODY.exec(r.body)?.[1];
    assert.ok(pod && !victimPods.includes(pod), `answered by ${pod}, a pod of the stopped node`);
  }
  const events = await runCli(t, ["events", "--json"], { cwd });
  const list = events.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { object: string; reason: string });
  for (const reason of ["VMStopped", "NodeNotReady", "TaintManagerEviction", "EndpointsUpdated"]) {
    assert.ok(
      list.some((e) => e.reason === reason),
      `no ${reason} event`,
    );
  }
  // Stopping it again is refused in one line; starting it brings it back Ready.
  const again = await runCli(t, ["node", "stop", victim], { cwd });
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already stopped/);
  assert.equal(again.stderr.trim().split("\n").length, 1);
  const start = await runCli(t, ["node", "start", victim], { cwd });
  assert.equal(start.code, 0, start.stderr);
  await waitFor("node Ready again", async () => ((await status(rt)).nodes.find((n) => n.name === victim)?.phase === "Ready" ? true : undefined), 30_000, 100);

  up.child.kill("SIGINT");
  assert.equal((await up.exited).code, 0);
});

test("node drain honours the PodDisruptionBudget: one pod at a time, the node ends cordoned and empty", { timeout: 120_000 }, async (t) => {
  const cwd = tempDir(t, "akspilot-web-");
  const up = startCli(t, ["up", "resilient-web", "--time-scale", "10", "--quiet"], { cwd });
  const rt = await waitFor("runtime.json", () => runtimeFile(cwd), 60_000);
  const s = await waitReadyPods(rt, 4);
  const node = s.nodes[0]!.name;
  const drain = await runCli(t, ["node", "drain", node], { cwd });
  assert.equal(drain.code, 0, drain.stderr);
  assert.match(drain.stdout, /drained/);
  const after = await status(rt);
  assert.equal(after.nodes.find((n) => n.name === node)!.pods, 0);
  assert.equal(after.nodes.find((n) => n.name === node)!.schedulable, false);
  assert.equal(after.deployments[0]!.ready, 4);
  const events = (await runCli(t, ["events", "--json"], { cwd })).stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { reason: string; object: string });
  assert.equal(events.filter((e) => e.reason === "Evicted").length, 2);

  const unknown = await runCli(t, ["node", "drain", "no-such-node"], { cwd });
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /no node named "no-such-node"/);
  up.child.kill("SIGINT");
  assert.equal((await up.exited).code, 0);
});

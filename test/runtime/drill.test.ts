// `akspilot drill node-failure` on `up resilient-web`, both gateway modes, read from the drill's own JSON:
// the drill is a separate process with its own counted client load, as an SRE would run it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { runCli, startCli, tempDir, waitFor } from "../edw/helpers.js";
import { runtimeFile, SEED_BODY, status, waitReadyPods } from "./cli-helpers.js";
import type { NodeFailureReport } from "../../src/local/drill/report.js";

function get(url: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

async function drill(mode: "akspilot" | "kube", t: { after: (fn: () => void | Promise<void>) => void }) {
  const cwd = tempDir(t, "akspilot-drill-");
  const up = startCli(t, ["up", "resilient-web", "--time-scale", "10", "--gateway", mode, "--quiet"], { cwd });
  const rt = await waitFor("runtime.json", () => runtimeFile(cwd), 60_000);
  assert.equal(rt.gatewayMode, mode);
  const before = await waitReadyPods(rt, 4);
  assert.equal(before.gateway?.mode, mode);
  // The seed's page, byte for byte, through whichever gateway answers.
  for (let i = 0; i < 4; i++) {
    const r = await get(rt.gatewayUrl!);
    assert.equal(r.status, 200);
    assert.match(r.body, SEED_BODY);
    assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
  }
  const d = await runCli(t, ["drill", "node-failure", "--json", "--rate", "50"], { cwd });
  assert.equal(d.code, 0, d.stderr);
  const lines = d.stdout.trim().split("\n");
  assert.equal(lines.length, 1, d.stdout);
  const report = JSON.parse(lines[0]!) as NodeFailureReport;
  assert.equal(report.mode, mode);
  assert.equal(report.replicasOnNode, 2);
  assert.ok(report.requests > 100, `only ${report.requests} requests`);
  assert.ok(report.replicasRestoredSeconds !== null, "replicas restored");
  // The drill leaves the node switched on again and the Deployment whole.
  const after = await waitFor(
    "node Ready again",
    async () => {
      const s = await status(rt);
      return s.nodes.find((n) => n.name === report.node)?.phase === "Ready" ? s : undefined;
    },
    30_000,
  );
  assert.equal(after.deployments[0]!.ready, 4);
  const events = (await runCli(t, ["events", "--json"], { cwd })).stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { reason: string; object: string });
  up.child.kill("SIGINT");
  assert.equal((await up.exited).code, 0);
  return { report, events };
}

test("drill node-failure with --gateway akspilot: no request fails while a node dies and its replicas move", { timeout: 180_000 }, async (t) => {
  const { report, events } = await drill("akspilot", t);
  assert.equal(report.failed, 0, JSON.stringify(report));
  assert.deepEqual(report.failures, {});
  // The gateway, not luck: it saw the stopped node's endpoints stop answering and took them out.
  assert.ok(
    events.some((e) => e.object === "gateway/helloworld" && ["EndpointEjected", "EndpointUnhealthy"].includes(e.reason)),
    "no gateway ejection event",
  );
  assert.ok(events.some((e) => e.reason === "VMStopped"));
});

test("drill node-failure with --gateway kube reproduces the seed: requests to the dead VM's pods fail until eviction", { timeout: 180_000 }, async (t) => {
  const { report } = await drill("kube", t);
  assert.ok(report.failed > 0, JSON.stringify(report));
  assert.ok((report.failures.timeout ?? 0) > 0, `no request hung: ${JSON.stringify(report.failures)}`);
});

test("drill node-failure: bad input is one line, and nothing is stopped", async (t) => {
  const cwd = tempDir(t, "akspilot-drill-");
  const none = await runCli(t, ["drill", "node-failure"], { cwd });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no running `akspilot up` found/);
  const rate = await runCli(t, ["drill", "node-failure", "--rate", "0"], { cwd });
  assert.equal(rate.code, 2);
  assert.match(rate.stderr, /--rate/);
  assert.equal(rate.stderr.trim().split("\n").length, 1);
  // --gateway is for blueprints with a LoadBalancer Service, and only names the two modes.
  const edw = await runCli(t, ["up", "edw", "--gateway", "akspilot"], { cwd });
  assert.equal(edw.code, 2);
  assert.match(edw.stderr, /--gateway: blueprint edw has no LoadBalancer Service/);
  const mode = await runCli(t, ["up", "resilient-web", "--gateway", "haproxy"], { cwd });
  assert.equal(mode.code, 2);
  assert.match(mode.stderr, /--gateway must be one of kube, akspilot/);
  assert.equal(mode.stderr.trim().split("\n").length, 1);
});

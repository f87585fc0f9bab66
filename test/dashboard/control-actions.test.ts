// The controls behind the dashboard's buttons, on a real `akspilot up resilient-web --gateway akspilot`:
// a request burst through the gateway (its latency and failures then in the status), and the node-failure
// drill run in the background from the page's route, each step an event in the feed.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backfill } from "../../src/dashboard/snapshot.js";
import type { StatusV1 } from "../../src/local/status.js";
import type { ClusterEvent } from "../../src/scaling/events.js";
import { waitFor } from "../edw/helpers.js";
import { startUp } from "./helpers.js";

test("POST /v1/load sends a counted request burst; the drill runs from the dashboard's route; every step is an event", { timeout: 300_000 }, async (t) => {
  const run = await startUp(t, ["resilient-web", "--time-scale", "10", "--gateway", "akspilot"]);
  const bearer = { authorization: `Bearer ${run.token}` };
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(run.rt.controlUrl + path, {
      method,
      headers: { ...bearer, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const status = async () => (await api("GET", "/v1/status")).body as unknown as StatusV1;
  const events = async () => (await api("GET", "/v1/events")).body as unknown as ClusterEvent[];
  await waitFor("4 ready replicas", async () => ((await status()).deployments[0]?.ready === 4 ? true : undefined), 90_000, 250);
  assert.equal((await status()).gateway?.latencyMs ?? null, null, "no request yet: no latency figures");

  const burst = await api("POST", "/v1/load", { requests: 60, rate: 60 });
  assert.equal(burst.status, 202, JSON.stringify(burst.body));
  assert.deepEqual(burst.body, { gatewayUrl: run.rt.gatewayUrl, requests: 60, rate: 60 });
  const again = await api("POST", "/v1/load", { requests: 5 });
  assert.equal(again.status, 400);
  assert.match(String(again.body.error), /a request burst is already running/);
  const noQueue = await api("POST", "/v1/load", { messages: 5 });
  assert.equal(noQueue.status, 400);
  assert.match(String(noQueue.body.error), /blueprint resilient-web has no queue to load — send \{"requests": N\} for its gateway/);
  const done = await waitFor("the burst's outcome", async () => (await events()).find((e) => e.reason === "LoadBurstDone"), 60_000, 250);
  assert.match(done.message, /^60 request\(s\), 0 failed; p50 [\d.]+ ms, p99 [\d.]+ ms$/);
  assert.ok((await events()).some((e) => e.reason === "LoadBurst" && /60 request\(s\) at 60\/s/.test(e.message)));
  const g = (await status()).gateway!;
  assert.equal(g.mode, "akspilot");
  assert.ok(g.requests! >= 60);
  assert.equal(g.failed, 0);
  assert.ok(g.latencyMs && g.latencyMs.p50 > 0 && g.latencyMs.p50 <= g.latencyMs.p95 && g.latencyMs.p95 <= g.latencyMs.p99, JSON.stringify(g.latencyMs));

  // The drill, as the page's button calls it: through the dashboard, which notes the action in its feed.
  const page = (path: string, body: unknown) =>
    fetch(`${run.rt.dashboardUrl!}${path}`, { method: "POST", headers: { ...bearer, "content-type": "application/json" }, body: JSON.stringify(body) });
  const drill = await page("api/drill/node-failure", {});
  assert.equal(drill.status, 202, await drill.clone().text());
  assert.deepEqual(await drill.json(), { rate: 20, durationSeconds: 5 });
  const twice = await page("api/drill/node-failure", {});
  assert.equal(twice.status, 400);
  assert.match(((await twice.json()) as { error: string }).error, /a node-failure drill is already running/);
  const bad = await api("POST", "/v1/drill/node-failure", { rate: -1 });
  assert.match(String(bad.body.error), /"rate" must be a number above 0 and at most 1000, got -1/);
  const finished = await waitFor("the drill's report as an event", async () => (await events()).find((e) => e.reason === "DrillDone" || e.reason === "DrillFailed"), 240_000, 500);
  assert.equal(finished.reason, "DrillDone", finished.message);
  assert.match(finished.message, /^stopped \S+ \(\d+ replicas\), gateway akspilot: \d+ requests, \d+ failed.*; replicas restored in [\d.]+ s$/);
  const reasons = (await events()).filter((e) => e.object === "drill/node-failure").map((e) => e.reason);
  assert.equal(reasons[0], "DrillStarted");
  assert.ok(reasons.includes("DrillProgress"));
  // The drill stopped a node and started it again.
  const vm = (await events()).filter((e) => e.reason === "VMStopped" || e.reason === "VMStarted").map((e) => e.reason);
  assert.deepEqual(vm.slice(0, 1), ["VMStopped"]);
  await waitFor("every node powered again", async () => ((await status()).nodes.every((n) => n.powered) ? true : undefined), 60_000, 250);
  // The dashboard's feed: the page's action with its answer, then the drill's own events.
  const feed = await waitFor(
    "the drill in the dashboard's feed",
    async () => {
      const h = (await (await fetch(`${run.rt.dashboardUrl!}api/history`, { headers: bearer })).json()) as Backfill;
      return h.events.some((e) => e.reason === "DrillDone") ? h.events : undefined;
    },
    10_000,
    250,
  );
  const actions = feed.filter((e) => e.object === "dashboard/action").map((e) => `${e.reason} ${e.message}`);
  assert.ok(actions.includes("Action POST /v1/drill/node-failure → 202"), actions.join("\n"));
  assert.ok(
    actions.some((a) => /^ActionRefused POST \/v1\/drill\/node-failure → 400: a node-failure drill is already running/.test(a)),
    actions.join("\n"),
  );
  t.diagnostic(finished.message);
  const out = await run.stop();
  assert.equal(out.code, 0, out.stderr + out.stdout);
});

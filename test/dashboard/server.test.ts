// The dashboard server without a browser: token handling on every route, and a history that stays bounded.
// A real `akspilot up resilient-web` (real pods, real control API) is what the dashboard reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { Ring } from "../../src/dashboard/history.js";
import { startDashboard } from "../../src/dashboard/server.js";
import { GatewayRate, ProcessedRate, endpointsOf, type Backfill } from "../../src/dashboard/snapshot.js";
import type { StatusV1 } from "../../src/local/status.js";
import { newMarker, runCli, startCli, tempDir, waitFor, waitNoneMarked } from "../edw/helpers.js";
import { runtimeFile } from "../runtime/cli-helpers.js";
import { startUp } from "./helpers.js";

test("the history ring keeps the newest items, oldest first, and never grows past its capacity", () => {
  const r = new Ring<number>(5);
  for (let i = 0; i < 3; i++) r.push(i);
  assert.deepEqual(r.toArray(), [0, 1, 2]);
  for (let i = 3; i < 1000; i++) r.push(i);
  assert.equal(r.size, 5);
  assert.deepEqual(r.toArray(), [995, 996, 997, 998, 999]);
  assert.throws(() => new Ring(0), /capacity/);
});

test("messages per second sum each pod's own increase: a pod that goes takes nothing back, a new pod's count is new", () => {
  const rate = new ProcessedRate();
  const status = (time: number, pods: [string, number][]) => ({ time, pods: pods.map(([name, processed]) => ({ cluster: "c", name, processed })) }) as unknown as StatusV1;
  assert.equal(rate.next(status(0, [["a", 10]])), 0, "no rate before a second read");
  assert.equal(
    rate.next(
      status(1000, [
        ["a", 14],
        ["b", 2],
      ]),
    ),
    6,
  );
  // Pod a is gone (its 14 leave the sum): the rate is b's increase only, never negative.
  assert.equal(rate.next(status(3000, [["b", 8]])), 3);
});

test("gateway counters become rates per second (a restarted gateway's counters count from zero); ready endpoints count per cluster", () => {
  const rate = new GatewayRate();
  const gw = (requests: number, retries: number, held: number) => ({ mode: "akspilot", url: "http://x", requests, retries, retriesRefused: 0, held, endpoints: [] });
  const status = (time: number, gateway: unknown) => ({ time, gateway, pods: [] }) as unknown as StatusV1;
  assert.deepEqual(rate.next(status(0, gw(100, 2, 0))), [0, 0, 0, 0], "no rate before a second read");
  assert.deepEqual(rate.next(status(2000, gw(120, 6, 2))), [10, 2, 0, 1]);
  assert.deepEqual(rate.next(status(3000, gw(5, 0, 0))), [5, 0, 0, 0], "a counter that went down starts again from zero");
  assert.equal(rate.next(status(4000, { ...gw(0, 0, 0), mode: "kube", requests: null })), null);

  const pods = [
    { cluster: "east", name: "a", ready: true },
    { cluster: "east", name: "b", ready: true },
    { cluster: "west", name: "c", ready: true },
  ];
  const endpoints = [
    { pod: "a", healthy: true, ejected: false },
    { pod: "b", healthy: true, ejected: true },
    { pod: "c", healthy: true, ejected: false },
  ];
  assert.deepEqual(endpointsOf({ pods, gateway: { mode: "akspilot", endpoints } } as unknown as StatusV1), { east: 1, west: 1 }, "an ejected endpoint is not ready");
  assert.deepEqual(endpointsOf({ pods, gateway: { mode: "kube", endpoints: [] } } as unknown as StatusV1), { east: 2, west: 1 }, "behind the L4 proxy, the ready pods");
  assert.equal(endpointsOf({ pods, gateway: null } as unknown as StatusV1), null);
});

/** Reads an SSE stream until `n` messages of the given event name have arrived. */
async function readEvents(url: string, headers: Record<string, string>, name: string, n: number): Promise<string[]> {
  const ac = new AbortController();
  const res = await fetch(url, { headers, signal: ac.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const out: string[] = [];
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (ev === name && data !== undefined) out.push(data);
    }
    if (out.length >= n) break;
  }
  ac.abort();
  return out;
}

/** A GET with a chosen Host header (fetch does not let one set it). */
function getWithHost(url: string, host: string, cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host, cookie } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

test("dashboard of up resilient-web: no token → 401 everywhere; the token once in the URL → a strict cookie and a redirect without it", { timeout: 150_000 }, async (t) => {
  const run = await startUp(t, ["resilient-web", "--time-scale", "10"]);
  const base = run.rt.dashboardUrl!;
  assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.ok(!base.includes(run.token), "runtime.json's dashboardUrl carries no token");
  assert.equal(new URL(run.loginUrl).origin + "/", base);
  // The dashboard shares the run's token: the same as the control API's.
  assert.equal(run.token, run.rt.token);

  // No token, or a wrong one: refused for the page, its assets, the API, the actions and the stream.
  for (const [method, path] of [
    ["GET", ""],
    ["GET", "assets/app.js"],
    ["GET", "api/history"],
    ["GET", "api/stream"],
    ["POST", "api/scale"],
    ["POST", "api/nodes/x/stop"],
    ["POST", "api/load"],
    ["POST", "api/drill/node-failure"],
    ["POST", "api/upgrade"],
    ["POST", "api/upgrade/rollback"],
    ["POST", "api/autoscaler"],
  ] as const) {
    const none = await fetch(base + path, { method, redirect: "manual", ...(method === "POST" ? { headers: { "content-type": "application/json" }, body: "{}" } : {}) });
    assert.equal(none.status, 401, `${method} /${path} without a token`);
    const port = new URL(base).port;
    const wrong = await fetch(base + path, {
      method,
      redirect: "manual",
      headers: { cookie: `akspilot_${port}=${run.token.slice(0, -1)}${run.token.endsWith("x") ? "y" : "x"}`, ...(method === "POST" ? { "content-type": "application/json" } : {}) },
      ...(method === "POST" ? { body: "{}" } : {}),
    });
    assert.equal(wrong.status, 401, `${method} /${path} with a wrong cookie`);
  }
  assert.equal((await fetch(`${base}?token=${run.token}x`, { redirect: "manual" })).status, 401, "a wrong token in the URL");
  assert.equal((await fetch(`${base}?token=`, { redirect: "manual" })).status, 401, "an empty token in the URL");

  // The token in the URL: traded for an HttpOnly, SameSite=Strict cookie, and the address loses it.
  const login = await fetch(run.loginUrl, { redirect: "manual" });
  assert.equal(login.status, 303);
  assert.equal(login.headers.get("location"), "/");
  const setCookie = login.headers.get("set-cookie") ?? "";
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  const cookie = setCookie.split(";")[0]!;
  assert.equal(cookie.split("=")[1], run.token);

  const page = await fetch(base, { headers: { cookie } });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<title>akspilot dashboard<\/title>/);
  assert.ok(!html.includes(run.token), "the page carries no token");
  assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  // All assets are local: uPlot comes from node_modules through this server.
  for (const asset of ["assets/uplot.js", "assets/uplot.css", "assets/app.js", "assets/markers.js", "assets/app.css"]) {
    assert.equal((await fetch(base + asset, { headers: { cookie } })).status, 200, asset);
  }
  assert.doesNotMatch(html, /https?:\/\//, "the page loads nothing from elsewhere");
  // The bearer header works as the cookie does (scripts, curl).
  assert.equal((await fetch(`${base}api/history`, { headers: { authorization: `Bearer ${run.token}` } })).status, 200);

  // The stream: the backfill first, then a push every second with the sample and the view.
  const [backfill] = await readEvents(`${base}api/stream`, { cookie }, "backfill", 1);
  const b = JSON.parse(backfill!) as Backfill;
  assert.equal(b.windowSeconds, 900);
  const pushes = await readEvents(`${base}api/stream`, { cookie }, "push", 2);
  const p = JSON.parse(pushes[1]!) as { sample: { r: number[]; n: number[] }; view: { nodes: unknown[] } };
  assert.equal(p.view.nodes.length, 2);
  assert.equal(p.sample.n[0], 2, "two Ready nodes");

  // The events the dashboard keeps are the control API's, each once, in order (none lost or doubled at a read's edge).
  const kept = ((await (await fetch(`${base}api/history`, { headers: { cookie } })).json()) as Backfill).events;
  const all = (await (await fetch(`${run.rt.controlUrl}/v1/events`, { headers: { authorization: `Bearer ${run.token}` } })).json()) as unknown[];
  assert.ok(kept.length > 0);
  const lastKept = JSON.stringify(kept[kept.length - 1]);
  let end = all.length - 1;
  while (end >= 0 && JSON.stringify(all[end]) !== lastKept) end--;
  const start = end - kept.length + 1;
  assert.ok(start >= 0, "the newest kept event is one the control API recorded");
  assert.deepEqual(all.slice(start, start + kept.length), kept);

  // Actions: JSON only, from this origin only; a DNS name rebound to loopback gets nothing.
  const form = await fetch(`${base}api/scale`, { method: "POST", headers: { cookie, "content-type": "application/x-www-form-urlencoded" }, body: "replicas=9" });
  assert.equal(form.status, 415);
  const foreign = await fetch(`${base}api/scale`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json", origin: "http://evil.example" },
    body: '{"replicas": 9}',
  });
  assert.equal(foreign.status, 403);
  assert.equal(await getWithHost(base, `evil.example:${new URL(base).port}`, cookie), 403);
  // A refused action says why, in the control API's words.
  const bad = await fetch(`${base}api/scale`, { method: "POST", headers: { cookie, "content-type": "application/json" }, body: '{"replicas": -1}' });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /"replicas" must be a whole number/);
  // Node actions go through to the control API.
  const node = p.view.nodes[0] as { name: string };
  for (const action of ["cordon", "uncordon"]) {
    const r = await fetch(`${base}api/nodes/${node.name}/${action}`, { method: "POST", headers: { cookie, "content-type": "application/json" }, body: "{}" });
    assert.equal(r.status, 200, action);
    assert.deepEqual(await r.json(), { cluster: "aksResilience", node: node.name, action });
  }
  const scaled = await fetch(`${base}api/scale`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json", origin: new URL(base).origin },
    body: '{"replicas": 3}',
  });
  assert.equal(scaled.status, 200);
  assert.equal(((await scaled.json()) as { replicas: number }).replicas, 3);

  const out = await run.stop();
  assert.equal(out.code, 0, out.stderr + out.stdout);
});

test("the server's history stays bounded over many pushes: the window, not the run, sets its size", { timeout: 150_000 }, async (t) => {
  const run = await startUp(t, ["resilient-web", "--time-scale", "10"]);
  // A second dashboard on the same control API, with a 2 s window sampled every 50 ms: 40 samples at most.
  const d = await startDashboard({ controlUrl: run.rt.controlUrl, token: run.rt.token, windowSeconds: 2, intervalMs: 50, eventCapacity: 3 });
  t.after(() => d.close());
  const history = async () => (await (await fetch(`${d.url}api/history`, { headers: { authorization: `Bearer ${run.token}` } })).json()) as Backfill;
  // Wait for several windows' worth of pushes: the history is full and has rolled over.
  const first = await waitFor("a full window", async () => ((await history()).samples.length === 40 ? await history() : undefined), 60_000, 100);
  const later = await waitFor(
    "the window rolled over",
    async () => {
      const h = await history();
      return h.samples[0]!.t > first.samples[39]!.t ? h : undefined;
    },
    60_000,
    100,
  );
  assert.equal(later.samples.length, 40);
  assert.ok(later.events.length <= 3, `events kept: ${later.events.length}`);
  // Oldest first, one sample per read.
  for (let i = 1; i < later.samples.length; i++) assert.ok(later.samples[i]!.t >= later.samples[i - 1]!.t);
  await d.close();
  const out = await run.stop();
  assert.equal(out.code, 0, out.stderr + out.stdout);
});

test("--host binds the dashboard elsewhere with a one-line warning (the control API stays on loopback); --no-dashboard serves none", { timeout: 150_000 }, async (t) => {
  const run = await startUp(t, ["resilient-web", "--time-scale", "10", "--host", "0.0.0.0"]);
  assert.match(run.rt.dashboardUrl!, /^http:\/\/0\.0\.0\.0:\d+\/$/);
  assert.match(run.rt.controlUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  // The token is still required off loopback.
  assert.equal((await fetch(run.rt.dashboardUrl!)).status, 401);
  assert.equal((await fetch(`${run.rt.dashboardUrl!}api/history`, { headers: { authorization: `Bearer ${run.token}` } })).status, 200);
  const out = await run.stop();
  assert.equal(out.code, 0, out.stderr);
  const warnings = out.stderr.split("\n").filter((l) => /^warning: the dashboard listens on 0\.0\.0\.0/.test(l));
  assert.equal(warnings.length, 1, out.stderr);
  assert.ok(out.stderr.indexOf("warning: the dashboard") < out.stderr.indexOf("dashboard: http://"), "the warning comes before the URL");

  // An address this machine does not have: one line, nothing left running.
  const marker = newMarker();
  const elsewhere = await runCli(t, ["up", "resilient-web", "--host", "192.0.2.1"], { cwd: tempDir(t, "akspilot-dashboard-"), marker });
  assert.deepEqual(await waitNoneMarked(marker, 5000), []);
  assert.equal(elsewhere.code, 2, elsewhere.stderr);
  assert.match(elsewhere.stderr, /the dashboard cannot listen on 192\.0\.2\.1 \(EADDRNOTAVAIL\)/);
  assert.doesNotMatch(elsewhere.stderr, /\n\s+at /);

  const cwd = tempDir(t, "akspilot-dashboard-");
  const none = startCli(t, ["up", "resilient-web", "--time-scale", "10", "--no-dashboard"], { cwd });
  const rt = await waitFor("runtime.json", () => runtimeFile(cwd), 90_000);
  assert.equal(rt.dashboardUrl, undefined);
  none.child.kill("SIGINT");
  const stopped = await none.exited;
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.doesNotMatch(stopped.stderr, /dashboard/);
});

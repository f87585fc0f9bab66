// The dashboard with two clusters: a real `akspilot up bluegreen` upgraded from the page (green created
// beside blue, both clusters' nodes and pods on one page), and the page driven by a status with a blue-green
// upgrade in it (a small status source in front of the real dashboard server, so that a canary's weights, the
// shares and a refused action have known values): each cluster's share of the traffic, the upgrade's state, its
// buttons and their answers in the feed. Also: the server's memory stays flat over a long synthetic run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { chromium, type Page } from "playwright-core";
import { blueGreenBlueprint } from "../../src/blueprints/bluegreen.js";
import { startDashboard } from "../../src/dashboard/server.js";
import type { Backfill } from "../../src/dashboard/snapshot.js";
import type { StatusV1 } from "../../src/local/status.js";
import { waitFor } from "../edw/helpers.js";
import { CHROMIUM, CHROMIUM_ARGS, NO_CHROMIUM, PAGE_WAIT_MS, screenshotDir, startUp } from "./helpers.js";
import { startSynthetic } from "./synthetic-control.js";

interface TestHost {
  after: (fn: () => void | Promise<void>) => void;
  diagnostic: (msg: string) => void;
}

async function openPage(t: TestHost, url: string): Promise<Page> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(PAGE_WAIT_MS);
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  t.after(() => {
    if (problems.length) t.diagnostic(`page errors: ${problems.join(" | ")}`);
  });
  await page.goto(url);
  await page.waitForSelector("#connection.live");
  return page;
}

async function chart(page: Page, id: string): Promise<{ samples: number; now: (number | null)[] }> {
  return page.$eval(`#${id}`, (fig) => {
    const d = (fig as HTMLElement).dataset;
    return { samples: Number(d.samples ?? 0), now: JSON.parse(d.now ?? "[]") as (number | null)[] };
  });
}

test("dashboard on up bluegreen: both clusters' nodes, pods and replicas on one page", { skip: NO_CHROMIUM, timeout: 180_000 }, async (t) => {
  const run = await startUp(t, ["bluegreen", "--time-scale", "10"]);
  const page = await openPage(t, run.loginUrl);
  const statusNow = async () => (await (await fetch(`${run.rt.controlUrl}/v1/status`, { headers: { authorization: `Bearer ${run.token}` } })).json()) as StatusV1;
  // T0: blue serves alone, behind the gateway it owns.
  const t0 = await statusNow();
  assert.equal(t0.blueGreen?.stage, "T0", JSON.stringify(t0.blueGreen));
  assert.deepEqual(
    t0.clusters.map((c) => c.name),
    ["blue"],
  );
  await page.locator("#bluegreen").waitFor();
  // The upgrade, asked for from the page: green is created beside blue, checked, and takes the traffic.
  const green = blueGreenBlueprint().clusters.find((c) => c.name === "green")!;
  await page.fill("#upgrade-to", green.kubernetesVersion!);
  await page.getByRole("button", { name: "Upgrade" }).click();
  await page.waitForSelector(`#action-result:has-text("upgrade to ${green.kubernetesVersion}: started")`);
  await page.locator('#events li[data-reason="Action"]', { hasText: "POST /v1/upgrade" }).first().waitFor();
  const status = await waitFor(
    "green created beside blue",
    async () => {
      const s = await statusNow();
      return s.clusters.length === 2 && s.pods.filter((p) => p.ready).length === s.deployments.reduce((a, d) => a + d.desired, 0) ? s : undefined;
    },
    120_000,
    500,
  );
  const clusters = status.clusters.map((c) => c.name).sort();
  assert.deepEqual(clusters, ["blue", "green"]);
  const rows = await waitFor(
    "both clusters' ready pods in the table",
    async () => {
      const cells = await page.$$eval("#pods-table tbody tr", (trs) => trs.map((r) => Array.from((r as HTMLTableRowElement).cells).map((c) => c.textContent ?? "")));
      const ready = cells.filter((c) => c[4] === "1/1");
      return new Set(ready.map((c) => c[0])).size === 2 && ready.length === status.deployments.reduce((a, d) => a + d.desired, 0) ? cells : undefined;
    },
    90_000,
    250,
  );
  assert.deepEqual([...new Set(rows.map((c) => c[0]))].sort(), clusters);
  const nodeClusters = await page.$$eval("#nodes-table tbody tr", (trs) => trs.map((r) => (r as HTMLTableRowElement).cells[0]!.textContent ?? ""));
  assert.deepEqual([...new Set(nodeClusters)].sort(), clusters);
  // Node names carry their cluster, so that a node action is unambiguous.
  const names = await page.$$eval("#nodes-table tbody tr", (trs) => trs.map((r) => (r as HTMLTableRowElement).cells[1]!.textContent ?? ""));
  for (const [i, n] of names.entries()) assert.ok(n.startsWith(`${nodeClusters[i]}-`), n);
  if (status.gateway) {
    // One gateway in front of both clusters: its ready endpoints, per cluster.
    const endpoints = await waitFor(
      "ready endpoints of both clusters",
      async () => {
        const c = await chart(page, "chart-endpoints");
        return c.now.length === 2 && c.now.every((x) => (x ?? 0) > 0) ? c : undefined;
      },
      30_000,
      250,
    );
    assert.equal(endpoints.now.length, 2);
  } else {
    // No gateway yet (ClusterIP Services only): no gateway or endpoint charts, the replicas and nodes of both.
    assert.equal(await page.isHidden("#chart-endpoints"), true);
    assert.equal(await page.isHidden("#chart-gw-requests"), true);
  }
  const replicas = await waitFor(
    "both clusters' replicas on the chart",
    async () => {
      const c = await chart(page, "chart-replicas");
      return c.now[2] === status.deployments.reduce((a, x) => a + x.desired, 0) ? c : undefined;
    },
    30_000,
    250,
  );
  assert.ok(replicas.samples > 0);
  assert.equal((await chart(page, "chart-nodes")).now[0], status.nodes.length, "every node of both clusters Ready");
  // The upgrade's controls show only with a blue-green state in the status.
  assert.equal(await page.isHidden("#bluegreen"), !status.blueGreen);
  const shot = join(screenshotDir(), "dashboard-bluegreen-two-clusters.png");
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
  const out = await run.stop();
  assert.equal(out.code, 0, out.stderr + out.stdout);
});

test("a status with a blue-green upgrade: each cluster's share of the requests, the upgrade's state and buttons, every action and answer in the feed", {
  skip: NO_CHROMIUM,
  timeout: 120_000,
}, async (t) => {
  const token = "synthetic-token-0123456789";
  const source = await startSynthetic({ token, blueGreen: true });
  t.after(() => source.close());
  const d = await startDashboard({ controlUrl: source.url, token, intervalMs: 200 });
  t.after(() => d.close());
  const page = await openPage(t, d.loginUrl);

  const share = await waitFor(
    "each cluster's share on the share chart",
    async () => {
      const c = await chart(page, "chart-share");
      return c.samples > 2 && c.now[0] === 90 ? c : undefined;
    },
    30_000,
    100,
  );
  assert.deepEqual(share.now, [90, 10], "blue then green, as the weights say");
  assert.equal(await page.isVisible("#chart-share"), true);
  assert.deepEqual((await chart(page, "chart-gw-latency")).now, [2.1, 6.5, 12.3]);
  assert.deepEqual((await chart(page, "chart-endpoints")).now, [2, 2]);
  assert.equal(await page.isVisible("#bluegreen"), true);
  assert.match(
    (await page.textContent("#bluegreen-state"))!,
    /upgrade stage T3 \(canary\), to version 1\.31; active blue, standby green; the gateway is owned by blue \(generation 1\); weights: blue 90%, green 10%/,
  );
  const why = (await page.textContent("#why"))!;
  assert.match(why, /Traffic.*upgrade stage T3/s);
  // The node on its way: since when, when it should be Ready, why it was launched.
  assert.match(why, /green-aks-burst-00000 \(Standard_D4s_v5, pool burst\) booting for 5s; Ready in ~25 s \(at \d\d:\d\d:\d\d\); launched: 2 pending pod\(s\) fit no ready node/);
  // A gateway: request bursts and the drill are offered; no queue: no message bursts.
  assert.equal(await page.textContent("#load-label"), "Requests (100 per second)");
  assert.equal(await page.isVisible("#drill-node-failure"), true);

  await page.fill("#upgrade-to", "1.31");
  await page.getByRole("button", { name: "Upgrade" }).click();
  await page.waitForSelector('#action-result:has-text("upgrade to 1.31: done")');
  assert.match((await page.textContent("#action-result"))!, /"activeCluster":"green"/, "the answer is shown");
  assert.deepEqual(
    source.posts.map((p) => [p.path, p.body]),
    [["/v1/upgrade", '{"to":"1.31"}']],
  );
  await page.locator('#events li[data-reason="Action"]', { hasText: "POST /v1/upgrade" }).first().waitFor();
  await page.locator('#events li[data-reason="TrafficSwitched"]').first().waitFor();
  await waitFor("all traffic on green", async () => ((await chart(page, "chart-share")).now[1] === 100 ? true : undefined), 30_000, 100);

  await page.getByRole("button", { name: "Roll back" }).click();
  await page.waitForSelector('#action-result:has-text("rollback: nothing to roll back")');
  await page.locator('#events li[data-reason="ActionRefused"]', { hasText: "409: nothing to roll back" }).first().waitFor();
  await page.getByRole("button", { name: "Finish (remove the old cluster)" }).click();
  await page.waitForSelector('#action-result:has-text("finish the upgrade: done")');
  const shot = join(screenshotDir(), "dashboard-bluegreen-upgrade.png");
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
});

test("a long synthetic run: the server keeps a window of samples and a bounded feed, and its heap stays flat", { timeout: 300_000 }, async (t) => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const token = "synthetic-token-memory";
  // Large statuses (200 pods) and a busy feed (5 events of 1 KB per read): a leak of either shows at once.
  const source = await startSynthetic({ token, podsPerCluster: 100, eventsPerRead: 5, eventBytes: 1000, blueGreen: true });
  t.after(() => source.close());
  const d = await startDashboard({ controlUrl: source.url, token, windowSeconds: 1, intervalMs: 1, eventCapacity: 100 });
  t.after(() => d.close());
  const capacity = 1000;
  const history = async () => (await (await fetch(`${d.url}api/history`, { headers: { authorization: `Bearer ${token}` } })).json()) as Backfill;
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  await waitFor("a full window and more", () => (source.reads() >= capacity * 1.5 ? true : undefined), 240_000, 200);
  const first = await history();
  const before = heap();
  const readsBefore = source.reads();
  await waitFor("six windows more", () => (source.reads() >= readsBefore + capacity * 6 ? true : undefined), 240_000, 200);
  const later = await history();
  const after = heap();
  const grown = (after - before) / 2 ** 20;
  t.diagnostic(
    `${source.reads()} reads; kept ${later.samples.length} samples and ${later.events.length} events; heap ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB`,
  );
  assert.equal(first.samples.length, capacity);
  assert.equal(later.samples.length, capacity, "the window, not the run, sets how many samples are kept");
  assert.equal(later.events.length, 100);
  assert.ok(later.samples[0]!.t > first.samples[capacity - 1]!.t, "the window moved on");
  // Unbounded, six windows would keep 30 MB of events and far more of statuses; bounded, nothing grows.
  assert.ok(grown < 12, `heap grew ${grown.toFixed(1)} MiB over ${capacity * 6} pushes`);
});

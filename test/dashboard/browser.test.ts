// The dashboard in a real browser (Debian's chromium through playwright-core) on real `akspilot up` runs:
// the EDW charts rise with a burst and the "why" panel explains; on resilient-web, "stop" on a node shows
// the VMStopped event and the pods moving to the other node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { NO_CHROMIUM, openBrowser, screenshotDir, startUp, until } from "./helpers.js";

/** The numbers a chart shows (its series' current values, peaks and lows), as the page publishes them. */
async function chart(page: Page, id: string): Promise<{ samples: number; now: (number | null)[]; peak: number[]; low: (number | null)[] }> {
  return page.$eval(`#${id}`, (fig) => {
    const d = (fig as HTMLElement).dataset;
    return { samples: Number(d.samples ?? 0), now: JSON.parse(d.now ?? "[]"), peak: JSON.parse(d.peak ?? "[]"), low: JSON.parse(d.low ?? "[]") };
  });
}

test("dashboard on up edw: a burst sent from the page shows on the queue chart, the replicas follow, the latency is drawn, the why panel says why", {
  skip: NO_CHROMIUM,
  timeout: 240_000,
}, async (t) => {
  // No load of its own: the burst comes from the page's control.
  const run = await startUp(t, ["edw", "--rate", "0", "--burst", "0", "--time-scale", "20"]);
  const page = await openBrowser(t);
  await page.goto(run.loginUrl);
  // The token is gone from the address bar; the session lives in the cookie.
  assert.equal(page.url(), run.rt.dashboardUrl);
  assert.ok(!page.url().includes(run.token));
  await page.waitForSelector("#connection.live");
  assert.equal(await page.textContent("#blueprint"), "edw");
  // A queue: message bursts are offered (no gateway, so no drill).
  await page.locator("#load-form").waitFor();
  assert.equal(await page.textContent("#load-label"), "Messages");
  assert.equal(await page.isHidden("#drill"), true);
  await page.fill("#load-count", "200");
  await page.getByRole("button", { name: "Send a load burst" }).click();
  await page.waitForSelector('#action-result:has-text("load burst of 200 messages: started")');
  await page.locator('#events li[data-reason="LoadBurst"]', { hasText: "200 message(s) enqueued at once" }).first().waitFor();
  await page.locator('#events li[data-reason="LoadBurstDone"]', { hasText: "200 message(s) sent" }).first().waitFor();
  await page.locator('#events li[data-reason="Action"]', { hasText: 'POST /v1/load {"messages":200} → 202' }).first().waitFor();

  const queue = await until(
    "a non-zero queue on the chart",
    async () => {
      const c = await chart(page, "chart-queue");
      return (c.peak[0] ?? 0) > 0 ? c : undefined;
    },
    120_000,
  );
  // The ScaledObject's lines are drawn from the seed's values.
  assert.ok(queue.peak[1] !== undefined && queue.peak[2]! > 0, `activation and target lines: ${JSON.stringify(queue)}`);
  const replicas = await until(
    "a replica increase on the chart",
    async () => {
      const c = await chart(page, "chart-replicas");
      return c.low[0] !== null && c.peak[0]! > c.low[0]! ? c : undefined;
    },
    120_000,
  );
  const processed = await until(
    "messages processed on the chart",
    async () => {
      const c = await chart(page, "chart-processed");
      return (c.peak[0] ?? 0) > 0 ? c : undefined;
    },
    120_000,
  );
  // End-to-end latency of the stored messages, read from their rows: p95 at least p50.
  const latency = await until(
    "end-to-end latency on the chart",
    async () => {
      const c = await chart(page, "chart-latency");
      return (c.peak[0] ?? 0) > 0 ? c : undefined;
    },
    120_000,
  );
  assert.ok(latency.peak[1]! >= latency.peak[0]!, JSON.stringify(latency));
  t.diagnostic(
    `queue peak ${queue.peak[0]}; desired replicas from ${replicas.low[0]} to ${replicas.peak[0]}; peak ${processed.peak[0]} messages/s; end-to-end p50 peak ${latency.peak[0]} ms, p95 peak ${latency.peak[1]} ms`,
  );

  const why = (await page.textContent("#why"))!;
  assert.match(why, /ScaledObject \S+: active when queue > \d+; target \d+ messages per replica/);
  assert.match(why, /policy keda/);
  // The autoscaler's last decision is there, with its numbers (KEDA's poll, or the HPA's).
  assert.match(why, /(keda|hpa)\S*: .*\d/i);
  assert.match(why, /next check: (keda|hpa) in \d+\.\d s/);
  assert.match(why, /Pending pods/);
  assert.match(why, /Nodes provisioning/);
  // The events feed shows the scale decisions, and its filter narrows it.
  await page.waitForSelector('#events li[data-reason="ScalingReplicaSet"]');
  await page.fill("#events-filter", "ScalingReplicaSet");
  const shown = await page.$$eval("#events li", (lis) => lis.map((li) => li.getAttribute("data-reason")));
  assert.ok(shown.length > 0 && shown.every((r) => r === "ScalingReplicaSet"), `filtered feed: ${shown.join(",")}`);
  await page.fill("#events-filter", "");
  assert.ok((await page.$$("#pods-table tbody tr")).length >= 1);

  const shot = join(screenshotDir(), "dashboard-edw.png");
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);

  // A reload reconnects and backfills from the server's history: the peak is there at once.
  const before = await chart(page, "chart-queue");
  await page.reload();
  await page.waitForSelector("#connection.live");
  const after = await chart(page, "chart-queue");
  assert.ok(after.samples >= before.samples, `history after reload: ${after.samples} < ${before.samples}`);
  assert.ok(after.peak[0]! >= before.peak[0]!, "the queue peak survives the reload");

  // The scale control, pausing the autoscaler: the run says it is paused and the feed shows the manual scale.
  await page.fill("#scale-replicas", "2");
  await page.check("#scale-pause");
  await page.getByRole("button", { name: "Scale" }).click();
  await page.waitForSelector('#action-result:has-text("scale to 2: done")');
  await page.locator("#summary", { hasText: "(paused)" }).waitFor();
  await page.locator("#events li", { hasText: "akspilot scale" }).first().waitFor();
  await until("2 desired replicas", async () => ((await chart(page, "chart-replicas")).now[0] === 2 ? true : undefined), 30_000);

  await page.context().browser()!.close();
  const out = await run.stop();
  assert.equal(out.code, 0, out.stderr + out.stdout);
});

test("dashboard on up resilient-web: stop a node from the page, see VMStopped in the feed and the pods move", { skip: NO_CHROMIUM, timeout: 240_000 }, async (t) => {
  const run = await startUp(t, ["resilient-web", "--time-scale", "10"]);
  const page = await openBrowser(t);
  await page.goto(run.loginUrl);
  await page.waitForSelector("#connection.live");
  const ready = async () => page.$$eval("#pods-table tbody tr", (rows) => rows.map((r) => Array.from((r as HTMLTableRowElement).cells).map((c) => c.textContent ?? "")));
  await until("4 ready pods in the table", async () => ((await ready()).filter((c) => c[4] === "1/1").length === 4 ? true : undefined), 90_000);
  // No queue here: no queue or message charts.
  assert.equal(await page.isHidden("#chart-queue"), true);
  assert.equal(await page.isHidden("#chart-processed"), true);
  // The HTTP gateway's charts: a few requests to gatewayUrl show as requests per second; the four ready
  // pods are the gateway's ready endpoints.
  assert.ok(run.rt.gatewayUrl, "resilient-web has a gateway URL");
  for (let i = 0; i < 20; i++) {
    const res: Response = await fetch(run.rt.gatewayUrl);
    await res.arrayBuffer();
    assert.equal(res.status, 200);
  }
  const requests = await until(
    "requests on the gateway chart",
    async () => {
      const c = await chart(page, "chart-gw-requests");
      return c.peak[0]! > 0 ? c : undefined;
    },
    30_000,
  );
  assert.ok(requests.samples > 1);
  assert.equal(await page.isVisible("#chart-gw-requests"), true);
  assert.equal(await page.isVisible("#chart-gw-retries"), true);
  const endpoints = await until(
    "4 ready endpoints on the endpoints chart",
    async () => {
      const c = await chart(page, "chart-endpoints");
      return c.now.reduce<number>((a, x) => a + (x ?? 0), 0) === 4 ? c : undefined;
    },
    30_000,
  );
  assert.equal(await page.isVisible("#chart-endpoints"), true);
  assert.ok(endpoints.now.length >= 1);
  const nodes = await page.$$eval("#nodes-table tbody tr", (rows) => rows.map((r) => (r as HTMLTableRowElement).cells[1]!.textContent ?? ""));
  assert.equal(nodes.length, 2);
  const [victim, survivor] = nodes as [string, string];

  await page.getByRole("button", { name: `stop node ${victim}` }).click();
  await page.waitForSelector(`#action-result:has-text("stop ${victim}: done")`);
  const stopped = page.locator('#events li[data-reason="VMStopped"]', { hasText: victim });
  await stopped.first().waitFor();
  // The node is NotReady after the grace period; its pods are evicted and replaced on the survivor.
  await until("4 ready pods on the surviving node", async () => ((await ready()).filter((c) => c[2] === survivor && c[4] === "1/1").length === 4 ? true : undefined), 120_000);
  const nodeRow = (await page.textContent(`#nodes-table tbody tr[data-key$="/${victim}"]`))!;
  assert.match(nodeRow, /NotReady, VM off/);
  assert.match((await page.textContent("#why"))!, new RegExp(`Nodes down.*${victim}: VM off, NotReady`, "s"));

  const shot = join(screenshotDir(), "dashboard-resilient-web-node-stopped.png");
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
  await page.context().browser()!.close();
  const out = await run.stop();
  assert.equal(out.code, 0, out.stderr + out.stdout);
});

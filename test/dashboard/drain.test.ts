// The dashboard in a real browser (Debian's chromium through playwright-core) on a real `akspilot up
// resilient-web`: "drain" on a node evicts its pods through the eviction API (one at a time, the PDB's
// maxUnavailable 1), the feed shows the evictions and the Drained event, and the replacements run on the
// other node, which the drained one no longer takes (cordoned) until "uncordon".
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { NO_CHROMIUM, openBrowser, screenshotDir, startUp, until } from "./helpers.js";

/** The pods table as the page shows it: cluster, name, node, state, ready, restarts, age, in-flight. */
async function podRows(page: Page): Promise<string[][]> {
  return page.$$eval("#pods-table tbody tr", (rows) => rows.map((r) => Array.from((r as HTMLTableRowElement).cells).map((c) => c.textContent ?? "")));
}

test("dashboard on up resilient-web: drain a node from the page, see the evictions and Drained in the feed, and the pods move to the other node", {
  skip: NO_CHROMIUM,
  timeout: 240_000,
}, async (t) => {
  const run = await startUp(t, ["resilient-web", "--time-scale", "10"]);
  const page = await openBrowser(t);
  await page.goto(run.loginUrl);
  await page.waitForSelector("#connection.live");
  await until("4 ready pods in the table", async () => ((await podRows(page)).filter((c) => c[4] === "1/1").length === 4 ? true : undefined), 90_000);
  const nodes = await page.$$eval("#nodes-table tbody tr", (rows) => rows.map((r) => (r as HTMLTableRowElement).cells[1]!.textContent ?? ""));
  assert.equal(nodes.length, 2);
  // The node holding the most replicas is drained (the spread puts two on each).
  const before = await podRows(page);
  const on = (node: string) => before.filter((c) => c[2] === node).length;
  const [victim, survivor] = (on(nodes[0]!) >= on(nodes[1]!) ? nodes : [nodes[1]!, nodes[0]!]) as [string, string];
  const evictedPods = before.filter((c) => c[2] === victim).map((c) => c[1]!);
  assert.ok(evictedPods.length > 0, `pods on ${victim}: ${JSON.stringify(before)}`);

  await page.getByRole("button", { name: `drain node ${victim}` }).click();
  // The drain answers once every pod is evicted and gone (its progress streams meanwhile).
  await page.waitForSelector(`#action-result:has-text("drain ${victim}: done")`, { timeout: 120_000 });
  for (const pod of evictedPods) {
    await page
      .locator('#events li[data-reason="Evicted"]', { hasText: `pod/${pod}` })
      .first()
      .waitFor();
    assert.match(
      (await page
        .locator('#events li[data-reason="Evicted"]', { hasText: `pod/${pod}` })
        .first()
        .textContent())!,
      new RegExp(`evicted by the drain of ${victim}`),
    );
  }
  await page
    .locator('#events li[data-reason="Drained"]', { hasText: `node/${victim}` })
    .first()
    .waitFor();
  await page
    .locator('#events li[data-reason="Action"]', { hasText: `POST /v1/nodes/${victim}/drain → 200` })
    .first()
    .waitFor();

  // The ReplicaSet's replacements run on the survivor; nothing is left on the drained node, which is
  // still Ready (its VM runs) but unschedulable.
  await until(
    `4 ready pods on ${survivor}, none on ${victim}`,
    async () => {
      const rows = await podRows(page);
      return rows.filter((c) => c[2] === survivor && c[4] === "1/1").length === 4 && !rows.some((c) => c[2] === victim) ? true : undefined;
    },
    120_000,
  );
  const names = (await podRows(page)).map((c) => c[1]);
  for (const pod of evictedPods) assert.ok(!names.includes(pod), `${pod} is gone`);
  assert.match((await page.textContent(`#nodes-table tbody tr[data-key$="/${victim}"]`))!, /Ready, unschedulable/);

  const shot = join(screenshotDir(), "dashboard-resilient-web-node-drained.png");
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);

  // As after `kubectl drain`, the node stays cordoned until uncordoned: the button beside drain does it.
  await page.getByRole("button", { name: `uncordon node ${victim}` }).click();
  await page.waitForSelector(`#action-result:has-text("uncordon ${victim}: done")`);
  await page
    .locator('#events li[data-reason="NodeSchedulable"]', { hasText: `node/${victim}` })
    .first()
    .waitFor();
  await until(
    `${victim} schedulable again`,
    async () => {
      const row = (await page.textContent(`#nodes-table tbody tr[data-key$="/${victim}"]`)) ?? "";
      return /Ready/.test(row) && !/unschedulable/.test(row) ? true : undefined;
    },
    30_000,
  );

  await page.context().browser()!.close();
  const out = await run.stop();
  assert.equal(out.code, 0, out.stderr + out.stdout);
});

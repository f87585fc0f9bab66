// `akspilot simulate --report`: one HTML file that draws its charts with the network cut off, and a bad
// path refused before anything runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { BIN, tempDir } from "../edw/helpers.js";
import { CHROMIUM, CHROMIUM_ARGS, NO_CHROMIUM, screenshotDir } from "./helpers.js";

const simulate = (cwd: string, args: string[]) => spawnSync(process.execPath, [BIN, "simulate", ...args], { cwd, encoding: "utf8", timeout: 60_000 });

/** A burst of arrivals, closed loop: both policies scale up, work through it and come back to zero. */
function writeTrace(dir: string): string {
  const file = join(dir, "burst.csv");
  writeFileSync(file, "t,arrivalsPerSecond\n0,0\n60,40\n600,0\n");
  return file;
}

test("simulate --report --compare writes one self-contained file whose charts draw offline", { skip: NO_CHROMIUM }, async (t) => {
  const dir = tempDir(t, "akspilot-report-");
  const trace = writeTrace(dir);
  const out = join(dir, "out.html");
  const r = simulate(dir, ["--trace", trace, "--work-ms", "200", "--compare", "--json", "--report", out]);
  assert.equal(r.status, 0, r.stderr);
  const runs = JSON.parse(r.stdout) as { summary: { policy: string; maxReplicas: number; nodeCost: number } }[];
  assert.deepEqual(
    runs.map((x) => x.summary.policy),
    ["keda", "predictive"],
  );
  assert.ok(
    runs.every((x) => x.summary.maxReplicas > 0),
    "both policies scaled up",
  );

  const html = readFileSync(out, "utf8");
  // No asset comes from elsewhere: no src/href to a URL, no CSS url() to one.
  assert.doesNotMatch(html, /(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
  assert.doesNotMatch(html, /url\(\s*["']?(?:https?:)?\/\//i);
  assert.doesNotMatch(html, /<script[^>]+src=/i);
  assert.doesNotMatch(html, /<link[^>]+rel=["']?stylesheet/i);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const requested: string[] = [];
  // Every request but the file itself is refused: the page must need nothing else.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url === pathToFileURL(out).href) return route.continue();
    requested.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(pathToFileURL(out).href);
  await page.waitForSelector(".run[data-policy=predictive] .chart-nodes canvas");
  assert.deepEqual(requested, []);
  assert.deepEqual(problems, []);

  const canvases = await page.$$eval(".run canvas", (cs) =>
    cs.map((c) => ({ policy: c.closest(".run")!.getAttribute("data-policy"), w: (c as HTMLCanvasElement).width, h: (c as HTMLCanvasElement).height })),
  );
  assert.equal(canvases.length, 6, "three charts per policy");
  assert.ok(
    canvases.every((c) => c.w > 0 && c.h > 0),
    JSON.stringify(canvases),
  );
  // Each column shows its own run's summary numbers.
  for (const run of runs) {
    const shown = await page.$eval(`.run[data-policy=${run.summary.policy}] td[data-key=maxReplicas]`, (td) => td.textContent);
    assert.equal(shown, String(run.summary.maxReplicas));
    const cost = await page.$eval(`.run[data-policy=${run.summary.policy}] td[data-key=nodeCost]`, (td) => td.textContent);
    assert.equal(cost, String(run.summary.nodeCost));
  }
  // The queue chart drew a line: some pixel of its canvas is not blank.
  const inked = await page.$eval(".run[data-policy=keda] .chart-queue canvas", (c) => {
    const cv = c as HTMLCanvasElement;
    const px = cv.getContext("2d")!.getImageData(0, 0, cv.width, cv.height).data;
    for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) return true;
    return false;
  });
  assert.ok(inked);
  const shot = join(screenshotDir(), "sim-report-compare.png");
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
});

test("simulate --report without --compare: one column, the chosen policy, the same summary as --json", { skip: NO_CHROMIUM }, async (t) => {
  const dir = tempDir(t, "akspilot-report-");
  const out = join(dir, "one.html");
  const r = simulate(dir, ["--trace", writeTrace(dir), "--work-ms", "200", "--policy", "predictive", "--json", "--report", out]);
  assert.equal(r.status, 0, r.stderr);
  const { summary } = JSON.parse(r.stdout) as { summary: { policy: string; maxNodes: number } };
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.route("**/*", (route) => (route.request().url() === pathToFileURL(out).href ? route.continue() : route.abort()));
  await page.goto(pathToFileURL(out).href);
  await page.waitForSelector(".run .chart-nodes canvas");
  assert.deepEqual(await page.$$eval(".run", (rs) => rs.map((x) => x.getAttribute("data-policy"))), [summary.policy]);
  assert.equal(await page.$eval("td[data-key=maxNodes]", (td) => td.textContent), String(summary.maxNodes));
});

test("simulate --report refuses a path it cannot write, in one line, before simulating", (t) => {
  const dir = tempDir(t, "akspilot-report-");
  const trace = writeTrace(dir);
  for (const [path, why] of [
    [join(dir, "no-such-dir", "out.html"), /does not exist/],
    [dir + "/", /\.html/],
    [join(dir, "out.txt"), /\.html/],
  ] as const) {
    const r = simulate(dir, ["--trace", trace, "--work-ms", "200", "--report", path]);
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, "", "nothing was simulated");
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /--report/);
    assert.match(lines[0]!, why);
    assert.ok(!existsSync(path.replace(/\/$/, "") + ".html"));
  }
});

test("simulate --compare with --policy is refused in one line (--compare runs both policies), nothing written", (t) => {
  const dir = tempDir(t, "akspilot-report-");
  const trace = writeTrace(dir);
  const out = join(dir, "out.html");
  const r = simulate(dir, ["--trace", trace, "--work-ms", "200", "--compare", "--policy", "predictive", "--report", out]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--compare runs both keda and predictive, so --policy predictive would be ignored/);
  assert.equal(r.stderr.trim().split("\n").length <= 2, true, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(existsSync(out), false);
  // --policy keda left at its default is no conflict.
  assert.equal(simulate(dir, ["--trace", trace, "--work-ms", "200", "--compare", "--json"]).status, 0);
});

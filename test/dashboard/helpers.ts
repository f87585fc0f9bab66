// Shared pieces of the dashboard tests: an `akspilot up` run as a user starts it, its dashboard URL read
// from what it prints, and Debian's chromium driven by playwright-core (never a downloaded browser).
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { startCli, tempDir, waitFor, type CliRun } from "../edw/helpers.js";
import { runtimeFile } from "../runtime/cli-helpers.js";
import type { RuntimeFile } from "../../src/local/runtime-file.js";

export const CHROMIUM = "/usr/bin/chromium";
/** The flags the README names: no sandbox (CI runs as root in a container), no GPU, no background traffic. */
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"];
export const NO_CHROMIUM = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium; .ci/run does it)`;

interface TestHost {
  after: (fn: () => void | Promise<void>) => void;
}

interface BrowserTestHost extends TestHost {
  diagnostic: (msg: string) => void;
}

export interface RunningUp {
  cwd: string;
  rt: RuntimeFile;
  /** The URL `up` printed, with the token. */
  loginUrl: string;
  token: string;
  /** Stops `up` with SIGINT, as Ctrl-C does; resolves with what it printed and its exit code. */
  stop(): Promise<CliRun>;
}

/** Starts `akspilot up …` in a fresh directory and waits for its runtime file and printed dashboard URL. */
export async function startUp(t: TestHost, args: string[]): Promise<RunningUp> {
  const cwd = tempDir(t, "akspilot-dashboard-");
  const up = startCli(t, ["up", ...args], { cwd });
  const rt = await waitFor(
    "runtime.json with dashboardUrl",
    () => {
      const f = runtimeFile(cwd);
      return f?.dashboardUrl ? f : undefined;
    },
    90_000,
  );
  const loginUrl = await waitFor("the printed dashboard URL", () => /^dashboard: (\S+)$/m.exec(up.output().stderr)?.[1], 10_000);
  return {
    cwd,
    rt,
    loginUrl,
    token: new URL(loginUrl).searchParams.get("token")!,
    stop: async () => {
      up.child.kill("SIGINT");
      return up.exited;
    },
  };
}

/** A folder that outlives the test, for screenshots a person looks at afterwards. */
export function screenshotDir(): string {
  const dir = process.env.AKSPILOT_TEST_OUTPUT ?? join(tmpdir(), "akspilot-dashboard-screenshots");
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * How long a page wait (a selector, a locator, an event in the feed) may take before it fails. Playwright's own
 * 30 s is shorter than what the runs take on a loaded 2-core machine (a burst sent and counted, a node stopped
 * and its event polled in), and shorter than the tests' own bounds for the charts; this bound only keeps a
 * broken build from hanging.
 */
export const PAGE_WAIT_MS = 120_000;

/** A page in a fresh headless chromium, closed after the test; errors the page logs are shown with the test. */
export async function openBrowser(t: BrowserTestHost): Promise<Page> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(PAGE_WAIT_MS);
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  // Anything that goes wrong in the page is shown with the failure.
  t.after(() => {
    if (problems.length) t.diagnostic(`page errors: ${problems.join(" | ")}`);
  });
  return page;
}

/** Polls a check inside the test (not the page), up to a bound that only keeps a broken build from hanging. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, boundMs: number): Promise<T> {
  const end = Date.now() + boundMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

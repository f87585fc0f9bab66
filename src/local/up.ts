import type { BlueprintDriver } from "./drivers/driver.js";
import { LocalRuntime, type LocalRuntimeOptions } from "./runtime.js";
import { startControlApi } from "./control-api.js";
import { removeRuntimeFile, writeRuntimeFile } from "./runtime-file.js";
import { prepareRunDir } from "./run-dir.js";
import type { PodRunner } from "./cluster/runner.js";

export interface UpOptions<Report> {
  driver: BlueprintDriver<Report>;
  runtime: Omit<LocalRuntimeOptions, "apps" | "buffer" | "logDir" | "compileCacheDir" | "runner">;
  /** Where `.akspilot/` lives (runtime file, logs, lock). */
  cwd: string;
  /** Serve the control API and write `.akspilot/runtime.json`. */
  control: boolean;
  runner?: PodRunner;
  status: (line: string) => void;
  /** One-off notices (what a killed previous run left and this start removed); default: stderr. */
  notice?: (line: string) => void;
  signal?: AbortSignal;
  /** Called once the runtime serves (tests and the CLI print URLs here). */
  onStarted?: (rt: LocalRuntime, control?: { url: string; token: string }) => void | Promise<void>;
  /** Serve the live dashboard (needs `control`); `announce` gets its URL with the token, once. */
  dashboard?: DashboardServing;
}

/** A dashboard served beside the run: what `up` records in runtime.json and closes at the end. */
export interface ServedDashboard {
  /** The page's URL, without the token. */
  url: string;
  /** The URL to open once: it carries the token. */
  loginUrl: string;
  close(): Promise<void>;
}

/**
 * How the caller serves the dashboard: the dashboard is a client of the control API one layer up, so the
 * runtime is handed a way to start it rather than importing it.
 */
export interface DashboardServing {
  start(control: { url: string; token: string }): Promise<ServedDashboard>;
  announce(loginUrl: string): void;
}

/**
 * `akspilot up <blueprint>`: one path for every blueprint. The run directory is claimed (one `up` per
 * directory) and checked before any child starts; the driver prepares what is not Kubernetes; the
 * runtime interprets the blueprint; the control API and runtime file make it reachable; on any exit
 * every pod, proxy, storage process and file the run made is stopped or removed, in that order.
 */
export async function up<Report>(o: UpOptions<Report>): Promise<Report> {
  const run = prepareRunDir(o.cwd);
  // Said even with --quiet: the user should know the last run here did not end cleanly.
  for (const line of run.cleanedUp) (o.notice ?? ((l: string) => process.stderr.write(`akspilot: ${l}\n`)))(line);
  let rt: LocalRuntime | undefined;
  let control: Awaited<ReturnType<typeof startControlApi>> | undefined;
  let dashboard: ServedDashboard | undefined;
  let failed = false;
  try {
    await o.driver.prepare();
    rt = await LocalRuntime.start({
      ...o.runtime,
      logDir: run.logDir,
      compileCacheDir: run.compileCacheDir,
      runner: o.runner,
      apps: (app) => o.driver.app(app),
      buffer: o.driver.buffer,
    });
    const runtime = rt;
    await o.driver.started?.(runtime);
    if (o.control) {
      control = await startControlApi(
        {
          runtime,
          get autoscaler() {
            return o.driver.autoscaler;
          },
          policy: o.driver.policy,
          extra: o.driver.status ? () => o.driver.status!() : undefined,
          load: o.driver.load ? (n) => o.driver.load!(n) : undefined,
          decorate: o.driver.decorateStatus ? (s) => o.driver.decorateStatus!(s) : undefined,
          route: o.driver.route,
        },
        o.runtime.host,
      );
      // The dashboard is a client of the control API, over HTTP like any other.
      if (o.dashboard) dashboard = await o.dashboard.start({ url: control.url, token: control.token });
      writeRuntimeFile(
        {
          controlUrl: control.url,
          token: control.token,
          pid: process.pid,
          blueprint: runtime.blueprint.name,
          ...(runtime.gatewayUrl ? { gatewayUrl: runtime.gatewayUrl, gatewayMode: runtime.gatewayMode } : {}),
          ...(dashboard ? { dashboardUrl: dashboard.url } : {}),
          logDir: run.logDir,
          ...o.driver.runtimeFile?.(),
        },
        o.cwd,
      );
      if (dashboard) o.dashboard?.announce(dashboard.loginUrl);
    }
    await o.onStarted?.(runtime, control);
    await o.driver.run(runtime, { signal: o.signal ?? new AbortController().signal, status: o.status });
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await dashboard?.close().catch(() => undefined);
    await control?.close().catch(() => undefined);
    if (control) removeRuntimeFile(o.cwd);
    await rt?.stop();
    // No report after a failure, but storage still stops gracefully (Azurite saves --data on SIGTERM).
    if (failed || !rt) {
      await o.driver.stop();
      run.release();
    }
  }
  try {
    return await o.driver.report(rt);
  } finally {
    await o.driver.stop();
    run.release();
  }
}

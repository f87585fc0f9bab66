import type { Blueprint } from "../../blueprints/types.js";
import { UserError } from "../../errors.js";
import type { LocalRuntimeOptions } from "../runtime.js";
import { up, type DashboardServing } from "../up.js";
import { AirflowDriver, type AirflowReport } from "./driver.js";
import { parseRefreshInterval } from "../identity/external-secrets.js";

export interface UpAirflowInput {
  blueprint: Blueprint;
  runtime: Omit<LocalRuntimeOptions, "apps" | "buffer" | "logDir" | "compileCacheDir" | "runner">;
  flags: {
    exitWhenDone?: boolean;
    taskImage?: string;
    logsRole: boolean;
    json?: boolean;
    quiet?: boolean;
    drainTimeout: number;
    refreshInterval?: string;
    secretSync?: number;
    taskSeconds?: number;
  };
  status: { write: (line: string) => void; end: () => void };
  signal: AbortSignal;
  dispose: () => void;
  dashboard?: DashboardServing;
}

/** `akspilot up airflow`: the platform's wiring after `deploy airflow-infra --target local`. */
export async function upAirflow(i: UpAirflowInput): Promise<void> {
  const f = i.flags;
  if (f.taskImage !== undefined && !/^[a-z0-9][a-z0-9._/-]*:[\w][\w.-]{0,127}$/.test(f.taskImage)) {
    throw new UserError(`--task-image "${f.taskImage.slice(0, 80)}" is not <repository>:<tag>`, "pass e.g. --task-image airflow:2.9.3");
  }
  let refreshIntervalSeconds: number | undefined;
  if (f.refreshInterval !== undefined) {
    try {
      refreshIntervalSeconds = parseRefreshInterval(f.refreshInterval);
    } catch {
      refreshIntervalSeconds = 0;
    }
    if (refreshIntervalSeconds <= 0)
      throw new UserError(`--refresh-interval "${f.refreshInterval.slice(0, 40)}" is not a duration like 1h, 5m or 10s`, "pass e.g. --refresh-interval 10s");
  }
  const driver = new AirflowDriver({
    blueprint: i.blueprint,
    cwd: process.cwd(),
    exitWhenDone: Boolean(f.exitWhenDone),
    taskImage: f.taskImage,
    logsRole: f.logsRole,
    dag: "example_bash_operator",
    task: "runme_0",
    timeoutSeconds: f.drainTimeout,
    refreshIntervalSeconds,
    secretSyncSeconds: f.secretSync ?? 5,
    taskSeconds: f.taskSeconds ?? 0,
  });
  try {
    const report = await up<AirflowReport>({
      driver,
      runtime: { ...i.runtime, driverRunsWorkloads: true },
      cwd: process.cwd(),
      control: true,
      dashboard: i.dashboard,
      status: i.status.write,
      signal: i.signal,
      onStarted: () => {
        if (!f.quiet && !f.json)
          process.stderr.write("Airflow itself (scheduler, webserver, workers) does not run locally; its infrastructure and identity wiring do (docs/identity.md)\n");
      },
    });
    i.status.end();
    if (f.json) process.stdout.write(JSON.stringify(report) + "\n");
    else printAirflowReport(report);
  } finally {
    i.dispose();
  }
}

function printAirflowReport(r: AirflowReport): void {
  const out = [`airflow wiring (${r.blueprint}):`];
  for (const e of r.externalSecrets)
    out.push(`  externalsecret/${e.name}: ${e.ready ? "Ready" : "not Ready"} (${e.reason}) keys ${e.keys.join(", ") || "-"}${e.ready ? "" : ` — ${e.message}`}`);
  for (const s of r.secrets) out.push(`  secret/${s.name}: keys ${s.keys.join(", ")}`);
  for (const p of r.taskPods) {
    out.push(`  pod/${p.name}: ${p.waiting ?? p.phase}${p.log ? ` → ${p.log}` : ""}${p.lastFailure ? ` — ${p.lastFailure}` : ""}${p.message ? ` — ${p.message}` : ""}`);
    for (const e of p.secretEnv ?? []) out.push(`    env ${e}`);
    for (const v of p.volumes ?? []) out.push(`    volume ${v.name} ← secret ${v.secret} at ${v.mountPath}${v.updatedAt ? ` (updated ${v.updatedAt})` : ""}`);
  }
  out.push(`  task logs in the logs container: ${r.taskLogs.join(", ") || "none"}`);
  process.stdout.write(out.join("\n") + "\n");
}

// An Airflow-shaped task: what a KubernetesExecutor worker pod does at the end of a task instance, as far
// as storage goes: it writes the task's log into the logs container in Airflow's remote-logging layout
// (`dag_id=<dag>/run_id=<run>/task_id=<task>/attempt=<n>.log`). Written for Azure: the account's public
// blob URL and DefaultAzureCredential (workload identity in a pod), nothing local.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DefaultAzureCredential } from "@azure/identity";
import { BlobServiceClient } from "@azure/storage-blob";

function need(name: string): string {
  const v = process.env[name]?.trim();
  if (!v) {
    process.stderr.write(`airflow-task: ${name} is not set\n`);
    process.exit(2);
  }
  return v;
}

const account = need("AZURE_STORAGE_ACCOUNT_NAME");
const container = need("AIRFLOW_LOGS_CONTAINER");
const dag = need("AIRFLOW_CTX_DAG_ID");
const run = need("AIRFLOW_CTX_DAG_RUN_ID");
const task = need("AIRFLOW_CTX_TASK_ID");
const attempt = Number(process.env.AIRFLOW_CTX_TRY_NUMBER ?? "1");
/** How long the task's work takes (the BashOperator's `sleep`). */
const workSeconds = Number(process.env.AIRFLOW_TASK_SECONDS ?? "0") || 0;
/** The mounted secret volume, when the pod has one: its files change when the Secret does (its variables do not). */
const secretsDir = process.env.AIRFLOW_STORAGE_CREDENTIALS_DIR?.trim();

/** The volume's files (key → content), read through its symlinks as a container reads them. */
function readSecrets(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  try {
    for (const k of readdirSync(dir)) if (!k.startsWith("..")) out.set(k, readFileSync(join(dir, k), "utf8"));
  } catch {
    /* not mounted (yet) */
  }
  return out;
}

/** Airflow's log_filename_template (2.9): the blob name under the remote base log folder. */
export const logPath = `dag_id=${dag}/run_id=${run}/task_id=${task}/attempt=${attempt}.log`;

const started = new Date();
const lines = [
  `[${started.toISOString()}] {taskinstance.py} INFO - Dependencies all met for <TaskInstance: ${dag}.${task} ${run} [queued]>`,
  `[${started.toISOString()}] {taskinstance.py} INFO - Starting attempt ${attempt} of 1`,
];
// The work: while it lasts, a change of the mounted Secret is noticed (and named by key, never by value).
if (secretsDir) {
  let seen = readSecrets(secretsDir);
  process.stdout.write(`secret volume mounted at ${secretsDir}: keys ${[...seen.keys()].sort().join(", ") || "none"}\n`);
  const until = Date.now() + workSeconds * 1000;
  while (Date.now() < until) {
    await sleep(Math.min(500, Math.max(0, until - Date.now())));
    const now = readSecrets(secretsDir);
    const changed = [...new Set([...seen.keys(), ...now.keys()])].filter((k) => seen.get(k) !== now.get(k)).sort();
    if (changed.length > 0) process.stdout.write(`secret volume updated: ${changed.join(", ")} changed\n`);
    seen = now;
  }
} else if (workSeconds > 0) await sleep(workSeconds * 1000);

lines.push(`[${new Date().toISOString()}] {local_task_job_runner.py} INFO - Task exited with return code 0`);
const text = lines.join("\n") + "\n";
process.stdout.write(text);

try {
  const service = new BlobServiceClient(`https://${account}.blob.core.windows.net`, new DefaultAzureCredential(), { retryOptions: { maxTries: 1 } });
  const blob = service.getContainerClient(container).getBlockBlobClient(logPath);
  await blob.upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: "text/plain" } });
  process.stdout.write(`task log written to wasb://${container}@${account}.blob.core.windows.net/${logPath}\n`);
} catch (e) {
  const err = e as { statusCode?: number; code?: string; message?: string };
  const status = err.statusCode ? `${err.statusCode} ` : "";
  const code = err.code ? `${err.code}: ` : "";
  const msg = String(err.message ?? e)
    .split("\n")[0]!
    .replace(/\s+/g, " ")
    .slice(0, 300);
  process.stdout.write(`cannot upload the task log ${logPath}\n`);
  process.stderr.write(`airflow-task: cannot write the task log to container ${container} of account ${account}: ${status}${code}${msg}\n`);
  process.exit(1);
}

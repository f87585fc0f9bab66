// An Airflow-shaped task: what a KubernetesExecutor worker pod does at the end of a task instance, as far
// as storage goes: it writes the task's log into the logs container in Airflow's remote-logging layout
// (`dag_id=<dag>/run_id=<run>/task_id=<task>/attempt=<n>.log`). Written for Azure: the account's public
// blob URL and DefaultAzureCredential (workload identity in a pod), nothing local.
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

/** Airflow's log_filename_template (2.9): the blob name under the remote base log folder. */
export const logPath = `dag_id=${dag}/run_id=${run}/task_id=${task}/attempt=${attempt}.log`;

const started = new Date();
const lines = [
  `[${started.toISOString()}] {taskinstance.py} INFO - Dependencies all met for <TaskInstance: ${dag}.${task} ${run} [queued]>`,
  `[${started.toISOString()}] {taskinstance.py} INFO - Starting attempt ${attempt} of 1`,
  `[${new Date().toISOString()}] {local_task_job_runner.py} INFO - Task exited with return code 0`,
];
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

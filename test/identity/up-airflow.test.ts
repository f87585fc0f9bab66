// `up airflow` after `deploy airflow-infra --target local`: the identity services, the External Secrets
// loop syncing the blueprint's ExternalSecret with the `airflow` service account's workload identity, and
// an Airflow-shaped task pod (plain @azure/storage-blob + DefaultAzureCredential) writing its log into the
// logs container through the enforcing front. Real processes, real Azurite, real SDKs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { readRecords, recordAccessPolicy } from "../../src/identity/records.js";
import { runCli, startCli, tempDir, waitFor } from "../edw/helpers.js";
import { deployedAirflow, runAzureApp, writeTokenFile } from "./helpers.js";

const LAYOUT = /^dag_id=example_bash_operator\/run_id=manual__[\d\-T:]+\+00:00\/task_id=runme_0\/attempt=1\.log$/;

interface Status {
  pods: Array<{ name: string; phase: string; waiting: string | null }>;
  extra: {
    externalSecrets?: Array<{ name: string; ready: boolean; reason: string; keys: string[]; refreshTime?: string }>;
    secrets?: Array<{ name: string; keys: string[] }>;
    taskPods?: Array<{
      name: string;
      phase: string;
      waiting?: string;
      message?: string;
      log?: string;
      secretEnv?: string[];
      volumes?: Array<{ name: string; secret: string; mountPath: string; hostPath: string; syncedAt?: string; updatedAt?: string }>;
    }>;
    taskLogs?: string[];
    workloadIdentity?: { chains: Record<string, Array<{ link: string; ok: boolean; error?: string }>> };
  };
}

function podLogs(root: string): string {
  const dir = join(root, ".akspilot", "logs");
  return readdirSync(dir)
    .filter((d) => d !== "latest")
    .flatMap((d) => readdirSync(join(dir, d)).map((f) => readFileSync(join(dir, d, f), "utf8")))
    .join("\n");
}

test("up airflow without a local deploy: one line naming the deploy command", { timeout: 60_000 }, async (t) => {
  const root = tempDir(t, "akspilot-af-none-");
  const r = await runCli(t, ["up", "airflow", "--exit-when-done", "--no-dashboard", "--quiet"], { cwd: root });
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l.trim());
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /airflow infrastructure is not deployed locally.*run `akspilot deploy airflow-infra --target local` first/);
});

test("live: the secret synced, the task log written as the workload identity, status shows the chains; no value printed", { timeout: 180_000 }, async (t) => {
  const { root } = await deployedAirflow(t);
  const up = startCli(t, ["up", "airflow", "--no-dashboard", "--quiet"], { cwd: root });
  const ok = await waitFor(
    "status with the finished task",
    async () => {
      if (!existsSync(join(root, ".akspilot", "runtime.json"))) return undefined;
      const s = await runCli(t, ["status", "--json"], { cwd: root });
      if (s.code !== 0) return undefined;
      const j = JSON.parse(s.stdout) as Status;
      return j.extra.taskPods?.[0]?.phase === "Succeeded" && (j.extra.taskLogs?.length ?? 0) > 0 ? j : undefined;
    },
    90_000,
    500,
  );
  const es = ok.extra.externalSecrets!;
  assert.deepEqual(
    es.map((e) => [e.name, e.ready, e.reason]),
    [["airflow/airflow-aks-azure-logs-secrets", true, "SecretSynced"]],
  );
  assert.deepEqual(ok.extra.secrets, [{ name: "airflow/storage-account-credentials", type: "Opaque", keys: ["azurestorageaccountname", "azurestorageaccountkey"] }]);
  // Listed from storage itself, in Airflow's remote-logging layout.
  assert.equal(ok.extra.taskLogs!.length, 1);
  assert.match(ok.extra.taskLogs![0]!, LAYOUT);
  assert.equal(ok.extra.taskPods![0]!.log, ok.extra.taskLogs![0]);
  const chains = ok.extra.workloadIdentity!.chains;
  const names = Object.keys(chains).sort();
  assert.equal(names.length, 2, names.join(", "));
  for (const n of names) {
    assert.deepEqual(
      chains[n]!.filter((l) => !l.ok),
      [],
      n,
    );
  }
  assert.deepEqual(
    chains[names.find((n) => n.includes("blob airflow-logs"))!]!.map((l) => l.link),
    ["service account", "federated credential", "token", "role", "resource"],
  );
  assert.deepEqual(
    chains[names.find((n) => n.startsWith("external-secrets"))!]!.map((l) => l.link),
    ["service account", "federated credential", "token", "access policy", "resource"],
  );

  const text = await runCli(t, ["status"], { cwd: root });
  assert.match(text.stdout, /externalsecret\/airflow\/airflow-aks-azure-logs-secrets: Ready=True SecretSynced/);
  assert.match(text.stdout, /secret\/airflow\/storage-account-credentials: keys azurestorageaccountname, azurestorageaccountkey/);
  assert.match(text.stdout, /workload identity of example-bash-operator-runme-0-\w+ \(blob airflow-logs\):\n {2}✓ service account/);
  up.child.kill("SIGINT");
  const done = await up.exited;
  assert.equal(done.code, 0, done.stderr);

  // The log says where it wrote; neither a token, nor the account key, nor a secret value is anywhere.
  const logs = podLogs(root);
  assert.match(logs, /task log written to wasb:\/\/airflow-logs@airflowsasa\w+\.blob\.core\.windows\.net\/dag_id=example_bash_operator/);
  const account = readRecords(root).accounts[0]!;
  for (const out of [logs, text.stdout, done.stdout, done.stderr]) {
    assert.doesNotMatch(out, /eyJ[\w-]{10,}\.[\w-]{10,}/, "a JWT was printed");
    assert.doesNotMatch(out, /Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq\/K1SZFPTOtr\/KBHBeksoGMGw==/, "the account key was printed");
  }
  assert.doesNotMatch(text.stdout, new RegExp(`azurestorageaccountname[^,\\n]*${account}`), "a secret value was printed");
});

test("scripted: without the access policy, Key Vault's 403 in the condition and the task pod waits for its Secret (FailedMount)", { timeout: 180_000 }, async (t) => {
  const { root, identity } = await deployedAirflow(t);
  recordAccessPolicy(root, readRecords(root).vaults[0]!.name, identity.principalId, []);
  const r = await runCli(t, ["up", "airflow", "--exit-when-done", "--no-dashboard", "--quiet"], { cwd: root });
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l.trim());
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    /externalsecret\/airflow-aks-azure-logs-secrets SecretSyncedError: could not get secret data from provider: .*does not have secrets get permission on key vault/,
  );
  // The kubelet mounts volumes before it makes the container's config: the missing Secret fails the mount.
  assert.match(
    lines[0]!,
    /pod example-bash-operator-runme-0-\w+ ContainerCreating: MountVolume\.SetUp failed for volume "storage-account-credentials" : secret "storage-account-credentials" not found/,
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test("scripted: without the blob role, 403 AuthorizationPermissionMismatch in the task pod's log", { timeout: 180_000 }, async (t) => {
  const { root } = await deployedAirflow(t);
  const r = await runCli(t, ["up", "airflow", "--exit-when-done", "--no-logs-role", "--no-dashboard", "--quiet"], { cwd: root });
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l.trim());
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    /pod example-bash-operator-runme-0-\w+ failed: airflow-task: cannot write the task log to container airflow-logs of account airflowsasa\w+: 403 AuthorizationPermissionMismatch/,
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.match(podLogs(root), /403 AuthorizationPermissionMismatch: This request is not authorized to perform this operation using this permission\./);
  // The chain breaks at the role, with the command that mends it.
  const ex = await runCli(t, ["identity", "explain", "airflow/airflow", "--resource", "blob", "--name", "airflow-logs"], { cwd: root });
  assert.equal(ex.code, 1, ex.stderr);
  assert.match(ex.stdout, /✗ role/);
  assert.match(ex.stdout, /az role assignment create .*--role "Storage Blob Data Contributor"/);
});

test("live: a task image never imported into the registry waits in ErrImagePull naming the repository and tag", { timeout: 180_000 }, async (t) => {
  const { root } = await deployedAirflow(t);
  const up = startCli(t, ["up", "airflow", "--task-image", "airflow:9.9.9", "--no-dashboard", "--quiet"], { cwd: root });
  const s = await waitFor(
    "status with the pod waiting",
    async () => {
      if (!existsSync(join(root, ".akspilot", "runtime.json"))) return undefined;
      const r = await runCli(t, ["status", "--json"], { cwd: root });
      if (r.code !== 0) return undefined;
      const j = JSON.parse(r.stdout) as Status;
      return j.pods.some((p) => p.waiting?.startsWith("ErrImagePull")) ? j : undefined;
    },
    90_000,
    500,
  );
  const pod = s.pods.find((p) => p.waiting?.startsWith("ErrImagePull"))!;
  assert.equal(pod.phase, "Pending");
  assert.match(
    pod.waiting!,
    /^ErrImagePull: Failed to pull image "airflowacr\w+\.azurecr\.io\/airflow:9\.9\.9".*repository "airflow", tag "9\.9\.9" was never imported into registry airflowacr\w+/,
  );
  const text = await runCli(t, ["status"], { cwd: root });
  assert.match(text.stdout, new RegExp(`${pod.name}: ErrImagePull: Failed to pull image`));
  // The fix names the source the blueprint imports that repository from.
  assert.match(pod.waiting!, /az acr import --name airflowacr\w+ --source docker\.io\/apache\/airflow:9\.9\.9 --image airflow:9\.9\.9/);
  up.child.kill("SIGINT");
  const done = await up.exited;
  assert.equal(done.code, 0, done.stderr);
});

/** `akspilot status --json` of the run in `root`, once it answers. */
async function status(t: { after: (fn: () => void | Promise<void>) => void }, root: string): Promise<Status | undefined> {
  if (!existsSync(join(root, ".akspilot", "runtime.json"))) return undefined;
  const s = await runCli(t, ["status", "--json"], { cwd: root });
  return s.code === 0 ? (JSON.parse(s.stdout) as Status) : undefined;
}

test("live: a task pod whose Secret does not exist yet waits (FailedMount), then starts once External Secrets writes it", { timeout: 180_000 }, async (t) => {
  const { root, identity } = await deployedAirflow(t);
  const vault = readRecords(root).vaults[0]!.name;
  recordAccessPolicy(root, vault, identity.principalId, []);
  const up = startCli(t, ["up", "airflow", "--refresh-interval", "2s", "--no-dashboard", "--quiet"], { cwd: root });
  const waiting = await waitFor(
    "the task pod waiting for its Secret",
    async () => {
      const j = await status(t, root);
      return j?.pods.find((p) => p.waiting?.startsWith("ContainerCreating")) ? j : undefined;
    },
    90_000,
    500,
  );
  assert.match(
    waiting.pods.find((p) => p.waiting)!.waiting!,
    /^ContainerCreating: MountVolume\.SetUp failed for volume "storage-account-credentials" : secret "storage-account-credentials" not found$/,
  );
  assert.equal(waiting.extra.externalSecrets![0]!.reason, "SecretSyncedError");
  const events = await runCli(t, ["events"], { cwd: root });
  assert.match(events.stdout, /FailedMount/);
  // The access policy comes back: the next refresh writes the Secret, the kubelet's next try starts the pod.
  recordAccessPolicy(root, vault, identity.principalId, ["get"]);
  const done = await waitFor(
    "the task finished",
    async () => {
      const j = await status(t, root);
      return j?.extra.taskPods?.[0]?.phase === "Succeeded" ? j : undefined;
    },
    90_000,
    500,
  );
  assert.equal(done.extra.externalSecrets![0]!.reason, "SecretSynced");
  assert.deepEqual(done.extra.taskPods![0]!.secretEnv, ["AZURE_STORAGE_ACCOUNT_NAME ← storage-account-credentials/azurestorageaccountname"]);
  up.child.kill("SIGINT");
  assert.equal((await up.exited).code, 0);
});

test("live: a vault change reaches the Secret after refreshInterval and the running pod's mounted file; its variable stays as it started", { timeout: 240_000 }, async (t) => {
  const { root, identity } = await deployedAirflow(t);
  const vault = readRecords(root).vaults[0]!.name;
  const account = readRecords(root).accounts[0]!;
  // The writer's projected token is fetched before the task starts: while the task works (20 s), only the
  // change itself remains to happen (one SDK call, a refresh, a kubelet sync), so it lands inside the work
  // even on a loaded machine.
  const token = (await runCli(t, ["identity", "token", "airflow/airflow"], { cwd: root })).stdout.trim();
  const tokenFile = writeTokenFile(tempDir(t, "akspilot-af-token-"), token);
  const up = startCli(t, ["up", "airflow", "--refresh-interval", "2s", "--secret-sync", "1", "--task-seconds", "20", "--no-dashboard", "--quiet"], { cwd: root });
  const running = await waitFor(
    "the task pod running with its volume",
    async () => {
      const j = await status(t, root);
      return j?.extra.taskPods?.[0]?.phase === "Running" && j.extra.taskPods[0].volumes?.length ? j : undefined;
    },
    90_000,
    500,
  );
  const vol = running.extra.taskPods![0]!.volumes![0]!;
  assert.equal(vol.mountPath, "/opt/airflow/secrets/storage-account-credentials");
  const file = join(vol.hostPath, "azurestorageaccountname");
  assert.equal(readFileSync(file, "utf8"), account);
  // Only the key the volume selects is on disk, owner-only.
  assert.deepEqual(
    readdirSync(vol.hostPath).filter((f) => !f.startsWith("..")),
    ["azurestorageaccountname"],
  );
  assert.equal(statSync(file).mode & 0o077, 0);
  const before = running.extra.externalSecrets![0]!.refreshTime!;

  // Someone changes the secret in Key Vault with the real SDK, through the running proxy, as a pod would
  // (an identity allowed to set it; here the same identity, given `set` too).
  recordAccessPolicy(root, vault, identity.principalId, ["get", "set"]);
  const rt = JSON.parse(readFileSync(join(root, ".akspilot", "runtime.json"), "utf8")) as Record<string, string>;
  const changed = "renamedlogsaccount";
  const set = await runAzureApp(
    {
      HTTPS_PROXY: rt.proxyUrl!,
      NODE_EXTRA_CA_CERTS: rt.caCertPath!,
      AZURE_CLIENT_ID: identity.clientId,
      AZURE_TENANT_ID: rt.tenantId!,
      AZURE_FEDERATED_TOKEN_FILE: tokenFile,
      AZURE_AUTHORITY_HOST: rt.authorityHost!,
    },
    [{ op: "kv-set", vault, name: "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME", text: changed }],
  );
  assert.equal(set.results[0]!.ok, true, JSON.stringify(set.results[0]));

  // The file in the running pod follows (External Secrets' refresh, then the kubelet's sync); polled, not timed.
  await waitFor("the mounted file updated", () => (readFileSync(file, "utf8") === changed ? true : undefined), 60_000, 200);
  const after = await waitFor(
    "status with the new refresh and the volume's update",
    async () => {
      const j = await status(t, root);
      return j?.extra.taskPods?.[0]?.volumes?.[0]?.updatedAt ? j : undefined;
    },
    30_000,
    500,
  );
  const es = after.extra.externalSecrets![0]!;
  assert.equal(es.reason, "SecretSynced");
  assert.ok(es.refreshTime! > before, `refreshTime ${before} → ${es.refreshTime}`);
  // The pod noticed by key name; its variable, read when the container started, still names the old account.
  const finished = await waitFor(
    "the task finished",
    async () => {
      const j = await status(t, root);
      return j?.extra.taskPods?.[0]?.phase === "Succeeded" || j?.extra.taskPods?.[0]?.phase === "Failed" ? j : undefined;
    },
    90_000,
    500,
  );
  assert.equal(finished.extra.taskPods![0]!.phase, "Succeeded");
  const logs = podLogs(root);
  assert.match(logs, /secret volume updated: azurestorageaccountname changed/);
  assert.match(logs, new RegExp(`task log written to wasb://airflow-logs@${account}\\.blob\\.core\\.windows\\.net/`));
  const text = await runCli(t, ["status"], { cwd: root });
  assert.match(
    text.stdout,
    /pod\/example-bash-operator-runme-0-\w+: volume storage-account-credentials ← secret storage-account-credentials at \/opt\/airflow\/secrets\/storage-account-credentials, synced .*, updated /,
  );
  up.child.kill("SIGINT");
  const done = await up.exited;
  assert.equal(done.code, 0, done.stderr);
  // The new value is in no log, no output; the volume went with the pod.
  for (const out of [podLogs(root), text.stdout, done.stdout, done.stderr]) assert.doesNotMatch(out, new RegExp(changed));
  assert.equal(existsSync(join(root, ".akspilot", "pods")), false);
});

// No token, CA key or signing key is ever printed or logged: after runs that succeed and runs that fail,
// every file akspilot wrote (logs, state, runtime file, pod logs) and every output is scanned; the stores
// that must hold them (CA key, signing keys, projected token files) are owner-only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { readRecords } from "../../src/identity/records.js";
import { localDir } from "../../src/provisioning/local/ledger.js";
import { LocalSecretVault } from "../../src/provisioning/local/vault.js";
import { runCli, startCli, waitFor } from "../edw/helpers.js";
import { deployedAirflow, deployedEdw } from "./helpers.js";

const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/;
const PEM_KEY = /-----BEGIN (EC |RSA )?PRIVATE KEY-----/;
const JWK_PRIVATE = /"(d|p|q|dp|dq|qi)"\s*:\s*"[A-Za-z0-9_-]{16,}"/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}

/** The scripted `up edw` runs at time scale 20: no seconds of simulated provisioning and image pull before the first pod. */
const FAST = ["--time-scale", "20"];

/** Where secrets are meant to be: checked for mode, not content. */
function isSecretStore(rel: string): boolean {
  return /^\.akspilot\/ca\/.*\.key$/.test(rel) || /^\.akspilot\/identity\//.test(rel) || /^\.akspilot\/local\/(vaults|azurite)\//.test(rel);
}

test("runs that succeed and fail leave no token or key in logs, state or output", { timeout: 240_000 }, async (t) => {
  const { root, workload } = await deployedEdw(t);
  const cluster = readRecords(root).identities.find((i) => i.name.startsWith("mi-aksdemo-"))!;
  const outputs: string[] = [];
  const run = async (args: string[]) => {
    const r = await runCli(t, args, { cwd: root });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  assert.equal((await run(["up", "edw", "--identity", workload.name, "--messages", "5", "--replicas", "1", "--exit-when-drained", "--quiet", ...FAST])).code, 0);
  assert.equal((await run(["up", "edw", "--identity", cluster.name, "--messages", "5", "--replicas", "1", "--exit-when-drained", "--quiet", ...FAST])).code, 2);
  await run(["identity", "explain", "aqs-demo/aqs-app-service-account", "--resource", "queue"]);
  await run(["identity", "explain", "aqs-demo/aqs-app-service-account", "--resource", "blob", "--json"]);
  await run([
    "exec",
    "--as",
    "aqs-demo/aqs-app-service-account",
    "--",
    process.execPath,
    "-e",
    "console.log(Object.keys(process.env).filter((k) => k.startsWith('AZURE_')).sort().join(','))",
  ]);
  assert.match(outputs.join("\n"), /AZURE_AUTHORITY_HOST,AZURE_CLIENT_ID,AZURE_FEDERATED_TOKEN_FILE,AZURE_TENANT_ID/);

  for (const [i, o] of outputs.entries()) {
    assert.doesNotMatch(o, JWT, `output ${i} holds a token`);
    assert.doesNotMatch(o, PEM_KEY, `output ${i} holds a private key`);
  }
  let scanned = 0;
  let stores = 0;
  for (const f of files(root)) {
    const rel = relative(root, f);
    if (isSecretStore(rel)) {
      if (/\.(key|json)$|azure-identity-token$/.test(rel) && !rel.startsWith(".akspilot/local/azurite")) {
        assert.equal(statSync(f).mode & 0o077, 0, `${rel} is readable by others`);
        stores++;
      }
      continue;
    }
    const text = readFileSync(f, "utf8");
    scanned++;
    assert.doesNotMatch(text, JWT, `${rel} holds a token`);
    assert.doesNotMatch(text, PEM_KEY, `${rel} holds a private key`);
    assert.doesNotMatch(text, JWK_PRIVATE, `${rel} holds a private JWK`);
  }
  assert.ok(scanned >= 5, `scanned ${scanned} files`);
  assert.ok(stores >= 4, `secret stores checked: ${stores}`);
});

test("the synced Secret's values reach the task pod (variable, mounted file) and nothing else: no log, status, event or state file", { timeout: 240_000 }, async (t) => {
  const { root } = await deployedAirflow(t);
  const vaultName = readRecords(root).vaults[0]!.name;
  const vault = LocalSecretVault.open(join(localDir(root), "vaults", `${vaultName}.json`));
  const key = vault.getSecret("AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY").value;
  // The account name reaches the Secret, the volume and the variable; the key reaches the Secret only.
  const name = readRecords(root).accounts[0]!;
  const outputs: string[] = [];
  const up = startCli(t, ["up", "airflow", "--refresh-interval", "2s", "--secret-sync", "1", "--task-seconds", "20", "--no-dashboard"], { cwd: root });
  const hostPath = await waitFor(
    "the task pod's volume",
    async () => {
      const s = await runCli(t, ["status", "--json"], { cwd: root });
      if (s.code !== 0) return undefined;
      const pod = (JSON.parse(s.stdout) as { extra: { taskPods?: Array<{ volumes?: Array<{ hostPath: string }> }> } }).extra.taskPods?.[0];
      return pod?.volumes?.[0]?.hostPath;
    },
    90_000,
    500,
  );
  // The mounted files: owner-only, only the selected key (the account key is never on disk outside the vault).
  assert.equal(statSync(hostPath).mode & 0o077, 0);
  for (const f of files(hostPath)) {
    assert.equal(statSync(f).mode & 0o077, 0, relative(root, f));
    assert.notEqual(readFileSync(f, "utf8"), key);
  }
  assert.equal(readFileSync(join(hostPath, "azurestorageaccountname"), "utf8"), name);
  for (const args of [["status"], ["status", "--json"], ["events"]]) outputs.push((await runCli(t, args, { cwd: root })).stdout);
  up.child.kill("SIGINT");
  const done = await up.exited;
  assert.equal(done.code, 0, done.stderr);
  outputs.push(done.stdout, done.stderr);
  for (const [i, o] of outputs.entries()) {
    assert.doesNotMatch(o, JWT, `output ${i} holds a token`);
    assert.ok(!o.includes(key), `output ${i} holds the account key`);
    // Names and keys only: the Secret's value is never next to its key.
    assert.doesNotMatch(o, new RegExp(`azurestorageaccountname["=:\\s]+${name}`), `output ${i} holds a Secret value by its key`);
  }
  let scanned = 0;
  for (const f of files(root)) {
    const rel = relative(root, f);
    if (/^\.akspilot\/local\/(vaults|azurite)\//.test(rel) || /^\.akspilot\/(ca|identity)\//.test(rel)) continue;
    const text = readFileSync(f, "utf8");
    scanned++;
    assert.ok(!text.includes(key), `${rel} holds the account key`);
    assert.doesNotMatch(text, JWT, `${rel} holds a token`);
  }
  assert.ok(scanned >= 3, `scanned ${scanned} files`);
  // The pod is gone, and its volume with it.
  assert.equal(
    files(root).some((f) => relative(root, f).startsWith(".akspilot/pods/")),
    false,
  );
});

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { QueueServiceClient } from "@azure/storage-queue";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import { deploy, destroy, plan, type ProvisionOptions } from "../../src/provisioning/engine.js";
import { LocalProvider } from "../../src/provisioning/local/provider.js";
import { LocalSecretVault } from "../../src/provisioning/local/vault.js";
import { authorizeLocal, DATA_ACTIONS, localIdentities } from "../../src/provisioning/local/rbac.js";
import type { Provider } from "../../src/provisioning/provider.js";
import { UserError } from "../../src/errors.js";
import { collectOutput } from "../edw/helpers.js";

const BIN = fileURLToPath(new URL("../../../bin/akspilot.js", import.meta.url));

let azurite: AzuriteHandle;
before(async () => {
  azurite = await startAzurite();
});
after(async () => {
  await azurite?.stop();
});

function project(t: { after: (fn: () => void) => void }) {
  const root = mkdtempSync(join(tmpdir(), "akspilot-local-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

function opts(root: string, blueprint: string, lines: string[], provider?: () => Provider): ProvisionOptions {
  return {
    blueprint,
    target: "local",
    root,
    out: (l) => lines.push(l),
    provider: provider ?? (() => new LocalProvider({ root, connectionString: azurite.connectionString })),
  };
}

/** Every file akspilot wrote under the project (logs, state, ledger, vault excluded by the caller). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

function runCli(root: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: root,
    env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { stdout, stderr } = collectOutput(child);
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  return { child, exited, out: stdout, err: stderr };
}

describe("local provider: the step engine against real Azurite, a local vault and local RBAC", () => {
  it("plan → deploy → re-deploy (no-op, says so) → destroy (edw)", async (t) => {
    const root = project(t);
    const lines: string[] = [];
    const o = opts(root, "edw", lines);
    const p = await plan(o);
    assert.equal(p.steps.length, 17);
    assert.ok(p.steps.every((s) => s.action === "create"));
    assert.ok(!existsSync(join(root, ".akspilot", "state", "edw.local.json")), "plan writes no state");

    const first = await deploy({ ...o, suffix: p.suffix });
    assert.equal(first.steps.filter((s) => s.action === "create").length, 17);
    const qs = QueueServiceClient.fromConnectionString(azurite.connectionString);
    assert.equal(await qs.getQueueClient("aws2azmsgs").exists(), true, "the queue exists in Azurite");

    lines.length = 0;
    const again = await deploy(o);
    assert.equal(again.noChanges, true);
    assert.equal(again.suffix, p.suffix, "the suffix is kept in state");
    assert.ok(
      lines.some((l) => l.startsWith("No changes: all 17 resources already match the blueprint; nothing was done.")),
      lines.join("\n"),
    );

    const replan = await plan(o);
    assert.equal(replan.noChanges, true);

    const gone = await destroy(o);
    assert.equal(gone.steps.filter((s) => s.action === "delete").length, 17);
    assert.equal(await qs.getQueueClient("aws2azmsgs").exists(), false);
    assert.ok(!existsSync(join(root, ".akspilot", "state", "edw.local.json")), "state removed after destroy");
    assert.ok(
      readdirSync(join(root, "logs")).some((f) => f.startsWith("provision-edw-local-deploy")),
      "logs go to logs/",
    );
  });

  it("local RBAC: a consumer without Storage Queue Data Contributor on its queue is refused like Azure's 403", async (t) => {
    const root = project(t);
    await deploy(opts(root, "edw", []));
    const ids = localIdentities(root);
    const workload = ids.find((i) => i.name.startsWith("mi-aks-workload-identity-"))!;
    const cluster = ids.find((i) => i.name.startsWith("mi-aksdemo-"))!;
    // Granted: the workload identity, on its queue, for queue message actions (by name, principal or client id).
    authorizeLocal({ principal: workload.name, dataAction: DATA_ACTIONS.queueProcess, target: { queue: "aws2azmsgs" } }, { root });
    authorizeLocal({ principal: workload.clientId, dataAction: DATA_ACTIONS.tableAdd, target: { table: "aws2azpmts" } }, { root });
    const refused = (fn: () => void) =>
      assert.throws(fn, (e: unknown) => {
        const err = e as { name: string; statusCode: number; code: string; message: string };
        assert.equal(err.name, "RestError");
        assert.equal(err.statusCode, 403);
        assert.equal(err.code, "AuthorizationPermissionMismatch");
        assert.match(err.message, /^This request is not authorized to perform this operation using this permission\.\nRequestId:/);
        return true;
      });
    refused(() => authorizeLocal({ principal: cluster.principalId, dataAction: DATA_ACTIONS.queueProcess, target: { queue: "aws2azmsgs" } }, { root }));
    refused(() => authorizeLocal({ principal: workload.name, dataAction: DATA_ACTIONS.queueProcess, target: { queue: "some-other-queue" } }, { root }));
    refused(() => authorizeLocal({ principal: workload.name, dataAction: DATA_ACTIONS.blobRead, target: { container: "x" } }, { root }));
    refused(() => authorizeLocal({ principal: "unknown-principal", dataAction: DATA_ACTIONS.queueRead, target: { queue: "aws2azmsgs" } }, { root }));
    await destroy(opts(root, "edw", []));
    refused(() => authorizeLocal({ principal: workload.name, dataAction: DATA_ACTIONS.queueProcess, target: { queue: "aws2azmsgs" } }, { root }));
  });

  it("airflow-infra provisions the logs container, the two secrets (vault file mode 0600) and the image list; secrets appear in no log, state or output", async (t) => {
    const root = project(t);
    const lines: string[] = [];
    const o = opts(root, "airflow-infra", lines);
    await deploy({ ...o, exportEnv: join(root, "deploy.state") });
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
    assert.equal(await blobs.getContainerClient("airflow-logs").exists(), true);
    const state = JSON.parse(readFileSync(join(root, ".akspilot", "state", "airflow-infra.local.json"), "utf8")) as { suffix: string };
    const vaultFile = join(root, ".akspilot", "local", "vaults", `airflow-vault-${state.suffix}-kv.json`);
    assert.equal(statSync(vaultFile).mode & 0o777, 0o600);
    const vault = LocalSecretVault.open(vaultFile);
    assert.equal(vault.getSecret("AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY").value, azurite.accountKey);
    assert.equal(vault.getSecret("AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME").value, `airflowsasa${state.suffix}`);
    const ledger = JSON.parse(readFileSync(join(root, ".akspilot", "local", "resources.json"), "utf8")) as { resources: Record<string, { kind: string; name: string }> };
    assert.deepEqual(
      Object.values(ledger.resources)
        .filter((r) => r.kind === "registryImport")
        .map((r) => r.name),
      [
        "airflow:airflow-pgbouncer-2024.01.19-1.21.0",
        "airflow:airflow-pgbouncer-exporter-2024.06.18-0.17.0",
        "postgresql:16.1.0-debian-11-r15",
        "statsd-exporter:v0.26.1",
        "airflow:2.9.3",
        "git-sync:v4.1.0",
      ],
    );
    const env = readFileSync(join(root, "deploy.state"), "utf8");
    assert.match(env, new RegExp(`^SUFFIX=${state.suffix}\nMY_LOCATION=canadacentral\nMY_RESOURCE_GROUP_NAME=apache-airflow-rg-${state.suffix}\n`));
    assert.match(env, /^AKS_AIRFLOW_LOGS_STORAGE_CONTAINER_NAME=airflow-logs$/m);

    // A failure after the key was read: the error text is redacted as well.
    const failing = (): Provider => {
      const inner = new LocalProvider({ root, connectionString: azurite.connectionString });
      return Object.assign(Object.create(inner) as LocalProvider, {
        desired: async () => ({ value: "force an update" }),
        apply: async (node: { kind: string }, ctx: Parameters<Provider["apply"]>[1]) => {
          if (node.kind === "keyVaultSecret") {
            const key = await ctx.secret({ secretFrom: "logsStorage", key: "primaryKey" });
            throw new Error(`vault write failed for value ${key}`);
          }
          return inner.apply(node as never, ctx);
        },
      });
    };
    const errLines: string[] = [];
    await assert.rejects(deploy(opts(root, "airflow-infra", errLines, failing)), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.ok(!e.line().includes(azurite.accountKey), "error output carries no secret");
      assert.match(e.message, /vault write failed for value \*\*\*/);
      return true;
    });
    lines.push(...errLines);
    await destroy(o);
    const written = [
      ...filesUnder(join(root, "logs")),
      ...filesUnder(join(root, ".akspilot", "state")),
      join(root, ".akspilot", "local", "resources.json"),
      join(root, "deploy.state"),
    ];
    for (const f of written) {
      if (existsSync(f)) assert.ok(!readFileSync(f, "utf8").includes(azurite.accountKey), `${f} contains the storage key`);
    }
    assert.ok(!lines.join("\n").includes(azurite.accountKey), "terminal output contains the storage key");
  });

  it("a deploy killed with SIGKILL in the middle of a step resumes, and destroy removes what the killed run created", async (t) => {
    const root = project(t);
    const run = runCli(root, ["deploy", "airflow-infra", "--target", "local"], { AKSPILOT_HOLD_AT: "logsContainer" });
    t.after(() => {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
    });
    await new Promise<void>((res, rej) => {
      const check = () => {
        if (run.out().includes("holding after applying logsContainer")) res();
      };
      run.child.stdout.on("data", check);
      run.child.once("exit", () => rej(new Error(`deploy exited before the hold: ${run.err()}`)));
    });
    run.child.kill("SIGKILL");
    await run.exited;
    const statePath = join(root, ".akspilot", "state", "airflow-infra.local.json");
    const killed = JSON.parse(readFileSync(statePath, "utf8")) as { resources: Record<string, { status: string; createdByUs: boolean }>; lastRun: { finishedAt?: string } };
    assert.equal(killed.resources.logsContainer?.status, "pending", "state says the step did not finish");
    assert.equal(killed.resources.logsContainer?.createdByUs, true);
    assert.equal(killed.lastRun.finishedAt, undefined);
    assert.equal(killed.resources.cluster, undefined, "later steps never started");
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
    assert.equal(await blobs.getContainerClient("airflow-logs").exists(), true, "but the container was created");

    const lines: string[] = [];
    const resumed = await deploy(opts(root, "airflow-infra", lines));
    assert.equal(resumed.resumed, true);
    assert.ok(
      lines.some((l) => /^Resuming: the deploy started .* stopped at step logsContainer/.test(l)),
      lines.join("\n"),
    );
    assert.equal(resumed.steps.find((s) => s.id === "identity")?.action, "noop");
    assert.equal(resumed.steps.find((s) => s.id === "cluster")?.action, "create");
    const done = JSON.parse(readFileSync(statePath, "utf8")) as { resources: Record<string, { status: string }> };
    assert.ok(Object.values(done.resources).every((r) => r.status === "ready"));

    await destroy(opts(root, "airflow-infra", []));
    assert.equal(await blobs.getContainerClient("airflow-logs").exists(), false, "destroy removed the container the killed run created");
  });

  it("a corrupted or foreign state file gives one clear error and touches nothing", async (t) => {
    const root = project(t);
    const stateDir = join(root, ".akspilot", "state");
    mkdirSync(stateDir, { recursive: true });
    const statePath = join(stateDir, "edw.local.json");
    const cases: Array<[string, RegExp]> = [
      [
        '{"format": "akspilot.provisioning-state/v1", "blueprint": "edw", trunc',
        /^akspilot: state file \.akspilot\/state\/edw\.local\.json is not valid JSON \(.+\) — nothing was changed; move the file aside/,
      ],
      [
        JSON.stringify({ version: 4, terraform_version: "1.9.0", resources: [] }),
        /^akspilot: state file \.akspilot\/state\/edw\.local\.json was not written by akspilot or is damaged: format is missing/,
      ],
      [
        JSON.stringify({
          format: "akspilot.provisioning-state/v1",
          blueprint: "airflow-infra",
          target: "local",
          cloud: "AzurePublicCloud",
          location: "canadacentral",
          suffix: "abc123",
          createdAt: "x",
          updatedAt: "x",
          resources: {},
        }),
        /^akspilot: state file \.akspilot\/state\/edw\.local\.json belongs to blueprint "airflow-infra" on target local, not "edw" on local/,
      ],
    ];
    for (const [content, expected] of cases) {
      writeFileSync(statePath, content);
      const before = statSync(statePath).mtimeMs;
      for (const cmd of ["deploy", "destroy", "plan"]) {
        const r = runCli(root, [cmd, "edw", "--target", "local"]);
        const code = await r.exited;
        assert.equal(code, 2, `${cmd}: exit code`);
        const err = r.err().trimEnd();
        assert.equal(err.split("\n").length, 1, `${cmd}: one line, got:\n${err}`);
        assert.match(err, expected);
        assert.doesNotMatch(err, /\n\s+at /);
      }
      assert.equal(readFileSync(statePath, "utf8"), content, "state file unchanged");
      assert.equal(statSync(statePath).mtimeMs, before);
      assert.ok(!existsSync(join(root, ".akspilot", "local")), "no local resource was touched");
      assert.ok(!existsSync(join(root, "logs")), "nothing was started, not even a log");
      assert.ok(!existsSync(`${statePath}.lock`));
    }
    const qs = QueueServiceClient.fromConnectionString(azurite.connectionString);
    assert.equal(await qs.getQueueClient("aws2azmsgs").exists(), false);
  });
});

describe("local secret vault: Key Vault semantics", () => {
  it("versions, get/list without values, soft delete blocks reuse until recover or purge, file mode 0600", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "akspilot-vault-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "v.json");
    const v = LocalSecretVault.open(path, { name: "v", softDeleteRetentionInDays: 7 });
    const first = v.setSecret("db-password", "s3cret-one");
    const second = v.setSecret("db-password", "s3cret-two");
    assert.notEqual(first.version, second.version);
    assert.equal(v.getSecret("db-password").value, "s3cret-two");
    assert.equal(v.getSecret("db-password", first.version).value, "s3cret-one");
    assert.equal(v.listVersions("db-password").length, 2);
    assert.ok(!JSON.stringify(v.listSecrets()).includes("s3cret"), "list never returns values");
    assert.equal(statSync(path).mode & 0o777, 0o600);

    const del = v.deleteSecret("db-password");
    assert.ok(Date.parse(del.scheduledPurgeDate) > Date.now());
    assert.throws(() => v.getSecret("db-password"), { code: "SecretNotFound", statusCode: 404 });
    assert.throws(() => v.setSecret("db-password", "x"), { code: "Conflict", statusCode: 409, message: /deleted but recoverable state/ });
    assert.deepEqual(
      v.listDeletedSecrets().map((d) => d.name),
      ["db-password"],
    );
    v.recoverDeletedSecret("db-password");
    assert.equal(v.getSecret("db-password").value, "s3cret-two");
    v.deleteSecret("db-password");
    v.purgeDeletedSecret("db-password");
    v.setSecret("db-password", "fresh");
    assert.equal(v.listVersions("db-password").length, 1);

    chmodSync(path, 0o644);
    assert.throws(
      () => LocalSecretVault.open(path),
      (e: unknown) => e instanceof UserError && /readable by other users/.test(e.message) && !e.line().includes("fresh"),
    );
  });
});

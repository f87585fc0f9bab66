// `identity token`, `identity explain` and `exec`: the CLI over a local deploy, and programs written for
// Azure (public URLs, DefaultAzureCredential) in Python (Debian's python3-azure) and Node run unchanged.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { readRecords } from "../../src/identity/records.js";
import { ROOT, runCli } from "../edw/helpers.js";
import { AZURE_APP, deployedEdw } from "./helpers.js";

const PY_APP = join(ROOT, "test", "identity", "fixtures", "azure_app.py");
const PYTHON = "/usr/bin/python3";
// .ci/run installs Debian's python3-azure; elsewhere the Python client is skipped, with the reason.
const NO_PYTHON_AZURE =
  spawnSync(PYTHON, ["-c", "import azure.identity, azure.storage.queue, azure.data.tables"], { stdio: "ignore" }).status === 0
    ? false
    : `${PYTHON} cannot import the Azure SDK (apt-get install python3-azure)`;

describe("identity commands and exec", () => {
  let root: string;
  let account: string;
  const hooks: Array<() => void | Promise<void>> = [];
  const host = {
    after: (fn: () => void | Promise<void>) => {
      hooks.push(fn);
    },
  };
  before(async () => {
    ({ root } = await deployedEdw(host));
    account = readRecords(root).accounts[0]!;
  });
  after(async () => {
    for (const h of hooks.reverse()) await h();
  });

  it("identity token prints a projected token for the service account", async (t) => {
    const r = await runCli(t, ["identity", "token", "aqs-demo/aqs-app-service-account"], { cwd: root });
    assert.equal(r.code, 0, r.stderr);
    const claims = JSON.parse(Buffer.from(r.stdout.trim().split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
    assert.equal(claims.sub, "system:serviceaccount:aqs-demo:aqs-app-service-account");
    assert.equal(claims.iss, readRecords(root).clusters[0]!.issuerUrl);
    const bad = await runCli(t, ["identity", "token", "not-a-service-account"], { cwd: root });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    assert.match(bad.stderr, /is not <namespace>\/<serviceaccount>/);
  });

  it("identity explain: every link holds for the consumer's queue", async (t) => {
    const r = await runCli(t, ["identity", "explain", "aqs-demo/aqs-app-service-account", "--resource", "queue", "--name", "aws2azmsgs"], { cwd: root });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const link of ["service account", "federated credential", "token", "role", "resource"]) assert.match(r.stdout, new RegExp(`✓ ${link}`));
    assert.match(r.stdout, /Storage Queue Data Contributor on storageAccounts\/\w+\/queueServices\/default\/queues\/aws2azmsgs/);
  });

  it("identity explain names the broken link, Azure's error and the az command that fixes it", async (t) => {
    const blob = await runCli(t, ["identity", "explain", "aqs-demo/aqs-app-service-account", "--resource", "blob", "--name", "logs"], { cwd: root });
    assert.equal(blob.code, 1);
    assert.match(blob.stdout, /✗ role/);
    assert.match(blob.stdout, /AuthorizationPermissionMismatch/);
    assert.match(
      blob.stdout,
      /fix: az role assignment create --assignee-object-id [0-9a-f-]+ --assignee-principal-type ServicePrincipal --role "Storage Blob Data Contributor" --scope \/subscriptions\/.*\/storageAccounts\/\w+\/blobServices\/default\/containers\/logs/,
    );

    const cluster = readRecords(root).identities.find((i) => i.name.startsWith("mi-aksdemo-"))!;
    const fed = await runCli(t, ["identity", "explain", "aqs-demo/aqs-app-service-account", "--resource", "queue", "--identity", cluster.name], { cwd: root });
    assert.equal(fed.code, 1);
    assert.match(fed.stdout, /✓ service account/);
    assert.match(fed.stdout, /✗ federated credential/);
    assert.match(fed.stdout, /AADSTS70021/);
    assert.match(
      fed.stdout,
      new RegExp(
        `fix: az identity federated-credential create --name aqs-app-service-account-federated --identity-name ${cluster.name} --resource-group rg-aksdemo-\\w+ --issuer https://oidc.local/[^ ]+ --subject system:serviceaccount:aqs-demo:aqs-app-service-account --audiences api://AzureADTokenExchange`,
      ),
    );
  });

  it("exec --as: a Python program written for Azure sends, receives and stores through the proxy", { skip: NO_PYTHON_AZURE }, async (t) => {
    const r = await runCli(t, ["exec", "--as", "aqs-demo/aqs-app-service-account", "--", PYTHON, PY_APP, account, "aws2azmsgs", "aws2azpmts"], { cwd: root });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as Array<{ op: string; ok: boolean; result?: unknown; message?: string }>;
    for (const s of out) assert.equal(s.ok, true, JSON.stringify(s));
    assert.deepEqual(out[1]!.result, ["from-python"]);
    assert.ok((out[3]!.result as string[]).includes("py/1"));
  });

  it("exec --as: the producer's identity in Python is refused the receive with Azure's 403", { skip: NO_PYTHON_AZURE }, async (t) => {
    const r = await runCli(t, ["exec", "--as", "aqs-demo/aqs-producer-service-account", "--", PYTHON, PY_APP, account, "aws2azmsgs", "aws2azpmts"], { cwd: root });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as Array<{ op: string; ok: boolean; message?: string }>;
    assert.equal(out[0]!.ok, true, JSON.stringify(out[0]));
    assert.equal(out[1]!.ok, false);
    assert.match(out[1]!.message!, /AuthorizationPermissionMismatch/);
  });

  it("exec --as: the same program in Node", async (t) => {
    const steps = JSON.stringify([
      { op: "send", account, queue: "aws2azmsgs", text: "from-node" },
      { op: "receive", account, queue: "aws2azmsgs" },
    ]);
    const r = await runCli(t, ["exec", "--as", "aqs-demo/aqs-app-service-account", "--", process.execPath, AZURE_APP, steps], { cwd: root });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as Array<{ ok: boolean; result?: unknown }>;
    assert.equal(out[0]!.ok, true, JSON.stringify(out[0]));
    // The Python producer's message is still there (its receive was refused), then the Node one.
    assert.deepEqual((out[1]!.result as string[]).sort(), ["from-node", "from-python"]);
  });
});

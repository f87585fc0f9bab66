// `up edw --identity`: consumer pods authenticate through the real @azure/identity workload-identity path
// (DefaultAzureCredential, projected token, local token service) and reach storage through the enforcing
// front; each misconfiguration ends the run with Azure's own error in one line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Ledger } from "../../src/provisioning/local/ledger.js";
import { readRecords } from "../../src/identity/records.js";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, startCli, waitFor } from "../edw/helpers.js";
import { deployedEdw } from "./helpers.js";

const RUN = ["--messages", "5", "--replicas", "1", "--exit-when-drained", "--quiet"];

test("the workload identity consumes through the front; the cluster identity fails with AADSTS70021", { timeout: 180_000 }, async (t) => {
  const { root, workload } = await deployedEdw(t);
  const ok = await runCli(t, ["up", "edw", "--identity", workload.name, ...RUN], { cwd: root });
  assert.equal(ok.code, 0, ok.stderr);

  const cluster = readRecords(root).identities.find((i) => i.name.startsWith("mi-aksdemo-"))!;
  const refused = await runCli(t, ["up", "edw", "--identity", cluster.name, ...RUN], { cwd: root });
  assert.equal(refused.code, 2, refused.stderr);
  const lines = refused.stderr.split("\n").filter((l) => l.trim());
  assert.equal(lines.length, 1, refused.stderr);
  assert.match(lines[0]!, /consumer pod aqs-app-\w+ failed: .*cannot get an Entra ID token .*AADSTS70021: No matching federated identity record found for presented assertion\./);
  assert.doesNotMatch(refused.stderr, /\n\s+at /);
});

test("without its queue role the consumer's first receive is refused with 403 AuthorizationPermissionMismatch", { timeout: 120_000 }, async (t) => {
  const { root, workload } = await deployedEdw(t);
  const ledger = Ledger.open(root);
  for (const [id, e] of ledger.all()) {
    if (e.kind === "roleAssignment" && e.props.role === "Storage Queue Data Contributor" && String(e.props.principalId) === workload.principalId) ledger.delete(id);
  }
  const up = await runCli(t, ["up", "edw", "--identity", workload.clientId, ...RUN], { cwd: root });
  assert.equal(up.code, 2, up.stderr);
  const lines = up.stderr.split("\n").filter((l) => l.trim());
  assert.equal(lines.length, 1, up.stderr);
  assert.match(lines[0]!, /consumer pod aqs-app-\w+ failed: .*storage refused access at account \w+ \(Entra ID\) \(AuthorizationPermissionMismatch\)/);
});

test("status shows the consumer's identity chain; runtime.json names the CA, authority, endpoints and proxy", { timeout: 180_000 }, async (t) => {
  const { root, workload } = await deployedEdw(t);
  const up = startCli(t, ["up", "edw", "--identity", workload.name, "--replicas", "1", "--rate", "1", "--burst", "0"], { cwd: root });
  const rtFile = join(root, ".akspilot", "runtime.json");
  const rt = await waitFor(
    "runtime.json with identity fields",
    () => {
      if (!existsSync(rtFile)) return undefined;
      const j = JSON.parse(readFileSync(rtFile, "utf8")) as Record<string, string>;
      return j.authorityHost ? j : undefined;
    },
    90_000,
    200,
  );
  assert.ok(existsSync(rt.caCertPath!));
  assert.match(rt.authorityHost!, /^https:\/\/127\.0\.0\.1:\d+\/$/);
  for (const k of ["queueEndpoint", "tableEndpoint", "blobEndpoint"]) assert.match(rt[k]!, /^https:\/\/127\.0\.0\.1:\d+\/\w+$/, k);
  assert.match(rt.proxyUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
  const status = await waitFor(
    "status with the chain",
    async () => {
      const s = await runCli(t, ["status"], { cwd: root });
      return /workload identity of aqs-app/.test(s.stdout) ? s.stdout : undefined;
    },
    60_000,
    500,
  );
  for (const link of ["service account", "federated credential", "token", "role", "resource"]) assert.match(status, new RegExp(`✓ ${link}:`));
  up.child.kill("SIGINT");
  await up.exited;
});

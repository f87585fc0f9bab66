// `up edw --identity`: consumer pods authenticate through the real @azure/identity workload-identity path
// (DefaultAzureCredential, projected token, local token service) and reach storage through the enforcing
// front; each misconfiguration ends the run with Azure's own error in one line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Ledger } from "../../src/provisioning/local/ledger.js";
import { readRecords } from "../../src/identity/records.js";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { markedProcs, newMarker, runCli, startCli, tempDir, waitFor } from "../edw/helpers.js";
import { deployedEdw } from "./helpers.js";

/**
 * Scripted runs at time scale 20: node provisioning and the image pull (seconds of simulated time before the
 * first pod starts) take a fraction of a second; the identity chain, the token exchanges and the refusals
 * asserted here do not depend on the cluster's clock.
 */
const FAST = ["--time-scale", "20"];
const RUN = ["--messages", "5", "--replicas", "1", "--exit-when-drained", "--quiet", ...FAST];

/** The pod logs of the latest run, by pod name. */
function podLogs(root: string): Map<string, string> {
  const dir = join(root, ".akspilot", "logs", "latest");
  return new Map(readdirSync(dir).map((f) => [f.replace(/\.log$/, ""), readFileSync(join(dir, f), "utf8")]));
}

test("the producer is a pod with its service account's workload identity: every message it sends is stored", { timeout: 180_000 }, async (t) => {
  const { root, workload, producer } = await deployedEdw(t);
  const r = await runCli(t, ["up", "edw", "--identity", workload.name, "--messages", "40", "--replicas", "1", "--exit-when-drained", "--quiet", "--json", ...FAST], { cwd: root });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { sent: number; processed: number; lost: number; duplicates: number };
  assert.deepEqual([report.sent, report.processed, report.lost, report.duplicates], [40, 40, 0, 0]);
  // It ran as its own pod, through DefaultAzureCredential (the app's report is its log's last line).
  const logs = podLogs(root);
  const pods = [...logs.keys()].filter((n) => /^aqs-producer-\w+$/.test(n));
  assert.equal(pods.length, 1, [...logs.keys()].join(", "));
  assert.match(logs.get(pods[0]!)!, /"sent":40,"failed":0/);
  // Its identity is the producer's, which may send (Storage Queue Data Message Sender) and not receive.
  const send = await runCli(t, ["identity", "explain", "aqs-demo/aqs-producer-service-account", "--resource", "queue", "--send"], { cwd: root });
  assert.equal(send.code, 0, send.stdout);
  assert.match(send.stdout, new RegExp(`client id ${producer.clientId}`));
  assert.match(send.stdout, /✓ role\s+Storage Queue Data Message Sender/);
  const receive = await runCli(t, ["identity", "explain", "aqs-demo/aqs-producer-service-account", "--resource", "queue"], { cwd: root });
  assert.equal(receive.code, 1, receive.stdout);
  assert.match(receive.stdout, /✗ role/);
});

test("without identity enforcement the producer sends from the run with its connection string: no producer pod", { timeout: 120_000 }, async (t) => {
  const root = tempDir(t, "akspilot-edw-plain-");
  const r = await runCli(t, ["up", "edw", "--messages", "10", "--replicas", "1", "--exit-when-drained", "--quiet", "--json", ...FAST], { cwd: root });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { sent: number; processed: number };
  assert.deepEqual([report.sent, report.processed], [10, 10]);
  assert.deepEqual(
    [...podLogs(root).keys()].filter((n) => n.startsWith("aqs-producer-")),
    [],
  );
});

test("without its Message Sender role the producer pod fails with 403 AuthorizationPermissionMismatch, in its log and the run's one line; nothing keeps running", {
  timeout: 120_000,
}, async (t) => {
  const { root, workload, producer } = await deployedEdw(t);
  const ledger = Ledger.open(root);
  for (const [id, e] of ledger.all()) {
    if (e.kind === "roleAssignment" && String(e.props.principalId) === producer.principalId) ledger.delete(id);
  }
  const marker = newMarker();
  const up = await startCli(t, ["up", "edw", "--identity", workload.name, ...RUN], { cwd: root, marker }).exited;
  assert.equal(up.code, 2, up.stderr);
  const lines = up.stderr.split("\n").filter((l) => l.trim());
  assert.equal(lines.length, 1, up.stderr);
  assert.match(
    lines[0]!,
    /producer pod aqs-producer-\w+ failed: .*sending to queue aws2azmsgs failed after 0 messages: 403 AuthorizationPermissionMismatch: This request is not authorized to perform this operation using this permission\./,
  );
  assert.match(lines[0]!, /identity explain aqs-demo\/aqs-producer-service-account --resource queue --send/);
  const log = [...podLogs(root)].find(([n]) => n.startsWith("aqs-producer-"))?.[1] ?? "";
  assert.match(log, /403 AuthorizationPermissionMismatch/);
  assert.doesNotMatch(up.stderr, /\n\s+at /);
  // Consumers, Azurite and the identity services stopped with the run.
  assert.deepEqual(markedProcs(marker), []);
});

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
  // The producer pod's own chain: its identity may send, which is all it does.
  assert.match(
    status,
    /workload identity of aqs-producer:\n {2}✓ service account: aqs-demo\/aqs-producer-service-account → client id [\w-]+ \(mi-aks-producer-identity-\w+\)(\n {2}✓ .*){3}\n {2}✓ resource:/,
  );
  assert.match(status, /✓ role: Storage Queue Data Message Sender/);
  up.child.kill("SIGINT");
  await up.exited;
});

// Local RBAC: identities and role assignments recorded by `akspilot deploy edw --target local` are
// enforced on the consumer's storage calls, with Azure's 403 AuthorizationPermissionMismatch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startAzurite } from "../../src/process/azurite.js";
import { localIdentities } from "../../src/provisioning/local/rbac.js";
import { buildMessage } from "../../src/apps/message.js";
import { queueDepth, runCli, startConsumer, storageFor, tableRows, tempDir, waitFor } from "../edw/helpers.js";

test("a consumer without Storage Queue Data Contributor is refused; the workload identity consumes", { timeout: 120_000 }, async (t) => {
  const cwd = tempDir(t);
  const deployed = await runCli(t, ["deploy", "edw", "--target", "local"], { cwd });
  assert.equal(deployed.code, 0, deployed.stderr);
  const ids = localIdentities(cwd);
  const workload = ids.find((i) => i.name.startsWith("mi-aks-workload-identity-"));
  const cluster = ids.find((i) => i.name.startsWith("mi-aksdemo-"));
  assert.ok(workload && cluster, `identities: ${ids.map((i) => i.name).join(", ")}`);

  const az = await startAzurite();
  t.after(() => az.stop());
  const s = await storageFor(az.connectionString);
  for (let i = 1; i <= 5; i++) await s.queue.sendMessage(buildMessage(i));

  // The cluster identity only has AcrPull: every dequeue is refused, so it stops with one clear line.
  const refused = await startConsumer(t, az.connectionString, [], { AKSPILOT_LOCAL_IDENTITY: cluster.name, AKSPILOT_LOCAL_ROOT: cwd });
  const end = await refused.exited;
  assert.notEqual(end.code, 0);
  assert.match(refused.stderr(), /storage refused access .*AuthorizationPermissionMismatch.*Storage Queue Data Contributor/);
  assert.doesNotMatch(refused.stderr(), /\n\s+at /);
  assert.equal(await queueDepth(s.queue), 5);
  assert.equal((await tableRows(s)).length, 0);

  // The workload identity holds Queue and Table Data Contributor on exactly this queue and table.
  const ok = await startConsumer(t, az.connectionString, [], { AKSPILOT_LOCAL_IDENTITY: workload.clientId, AKSPILOT_LOCAL_ROOT: cwd });
  await waitFor("5 rows", async () => ((await tableRows(s)).length === 5 ? true : undefined), 60_000, 200);
  assert.equal((await ok.stats()).processed, 5);
});

test("up edw --identity without the storage role: the pod's 403 is the run's one line, at once, and status shows it", { timeout: 120_000 }, async (t) => {
  const cwd = tempDir(t);
  const deployed = await runCli(t, ["deploy", "edw", "--target", "local"], { cwd });
  assert.equal(deployed.code, 0, deployed.stderr);
  const cluster = localIdentities(cwd).find((i) => i.name.startsWith("mi-aksdemo-"))!;
  const up = await runCli(t, ["up", "edw", "--identity", cluster.name, "--messages", "5", "--replicas", "1", "--exit-when-drained", "--quiet"], { cwd });
  assert.equal(up.code, 2, up.stderr);
  const lines = up.stderr.split("\n").filter((l) => l.trim());
  assert.equal(lines.length, 1, up.stderr);
  assert.match(lines[0]!, /consumer pod aqs-app-\w+ failed: .*storage refused access .*AuthorizationPermissionMismatch/);
  // The pod's own reason, not the start-up bound's "did not start receiving within 60 s".
  assert.doesNotMatch(up.stderr, /within 60 s/);
});

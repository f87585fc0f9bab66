// The External Secrets loop of the Airflow platform: the blueprint's ExternalSecret synced from the local
// Key Vault with the `airflow` service account's workload identity (real @azure/identity and
// @azure/keyvault-secrets over HTTPS), refreshed on its interval (injected clock), with the operator's conditions;
// the vault is changed through the real SDK too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { getBlueprint } from "../../src/blueprints/index.js";
import { findCluster } from "../../src/identity/issuer.js";
import { readRecords, recordAccessPolicy, recordFederatedCredential } from "../../src/identity/records.js";
import { runAzureApp } from "./helpers.js";
import { IdentityServices } from "../../src/identity/services.js";
import { ExternalSecretsController, parseRefreshInterval } from "../../src/local/identity/external-secrets.js";
import { deployedAirflow } from "./helpers.js";

test("ExternalSecret: synced, updated after refreshInterval when the vault changes, SecretSyncedError without the access policy", { timeout: 120_000 }, async (t) => {
  const { root, identity } = await deployedAirflow(t);
  const af = getBlueprint("airflow").airflow!;
  const cluster = findCluster(root);
  recordFederatedCredential(root, {
    identity: identity.name,
    name: "external-secret-operator",
    issuer: cluster.issuerUrl,
    subject: `system:serviceaccount:airflow:${af.serviceAccount}`,
  });
  const services = await IdentityServices.start({ root, keyVault: true, proxy: true });
  t.after(() => services.stop());
  const env = await services.workloadEnv(cluster, "airflow", af.serviceAccount, identity.clientId);
  let now = Date.parse("2026-01-01T00:00:00Z");
  const spec = {
    name: af.externalSecret,
    namespace: "airflow",
    refreshIntervalSeconds: parseRefreshInterval(af.refreshInterval),
    target: af.storageSecret,
    data: { azurestorageaccountname: af.keyVaultSecrets.accountName, azurestorageaccountkey: af.keyVaultSecrets.accountKey },
  };
  assert.equal(spec.refreshIntervalSeconds, 3600);
  const c = new ExternalSecretsController({ name: af.secretStore, vaultUrl: services.keyVaultUrl!, env }, [spec], () => now);
  const key = `airflow/${af.externalSecret}`;

  await c.reconcile();
  assert.deepEqual(
    c.status.get(key)!.conditions.map((x) => [x.status, x.reason]),
    [["True", "SecretSynced"]],
  );
  const account = readRecords(root).accounts[0]!;
  assert.equal(c.secrets.get(`airflow/${af.storageSecret}`)!.azurestorageaccountname, account);

  const firstSync = c.status.get(key)!;
  assert.equal(firstSync.refreshTime, "2026-01-01T00:00:00.000Z");

  // The vault changes through the real SDK (an identity allowed to set); nothing happens before the
  // interval, the new value after it. refreshTime moves with each sync; the Ready condition's
  // lastTransitionTime only on a transition, as the operator keeps it.
  const vaultName = readRecords(root).vaults[0]!.name;
  recordAccessPolicy(root, vaultName, identity.principalId, ["get", "set"]);
  const set = await runAzureApp(env, [{ op: "kv-set", vault: vaultName, name: af.keyVaultSecrets.accountName, text: "renamedaccount" }]);
  assert.equal(set.results[0]!.ok, true, JSON.stringify(set.results[0]));
  const rows: Array<{ minutes: number; name: string; refreshTime: string }> = [
    { minutes: 30, name: account, refreshTime: "2026-01-01T00:00:00.000Z" },
    { minutes: 59, name: account, refreshTime: "2026-01-01T00:00:00.000Z" },
    { minutes: 60, name: "renamedaccount", refreshTime: "2026-01-01T01:00:00.000Z" },
    { minutes: 119, name: "renamedaccount", refreshTime: "2026-01-01T01:00:00.000Z" },
    { minutes: 120, name: "renamedaccount", refreshTime: "2026-01-01T02:00:00.000Z" },
  ];
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  for (const row of rows) {
    now = t0 + row.minutes * 60_000;
    await c.reconcile();
    assert.equal(c.secrets.get(`airflow/${af.storageSecret}`)!.azurestorageaccountname, row.name, `at +${row.minutes} min`);
    assert.equal(c.status.get(key)!.refreshTime, row.refreshTime, `at +${row.minutes} min`);
    assert.equal(c.status.get(key)!.conditions[0]!.lastTransitionTime, "2026-01-01T00:00:00.000Z");
  }
  now = t0 + 120 * 60_000;

  // The access policy goes: the next sync fails with Key Vault's 403, the Secret keeps its last data.
  recordAccessPolicy(root, readRecords(root).vaults[0]!.name, identity.principalId, []);
  now += 60 * 60_000;
  await c.reconcile();
  const cond = c.status.get(key)!.conditions[0]!;
  assert.equal(cond.status, "False");
  assert.equal(cond.reason, "SecretSyncedError");
  assert.match(cond.message, /does not have secrets get permission on key vault/);
  assert.equal(c.secrets.get(`airflow/${af.storageSecret}`)!.azurestorageaccountname, "renamedaccount");
  assert.deepEqual(c.status.get(key)!.keys, ["azurestorageaccountname", "azurestorageaccountkey"]);
});

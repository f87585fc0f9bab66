// The local Key Vault's secrets API, driven by the real @azure/keyvault-secrets (challenge authentication,
// then a workload-identity token) through the local proxy; access policies enforced with Key Vault's 403.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { findCluster } from "../../src/identity/issuer.js";
import { readRecords, recordAccessPolicy, recordFederatedCredential, type IdentityRecord } from "../../src/identity/records.js";
import type { IdentityServices } from "../../src/identity/services.js";
import { deployedAirflow, runAzureApp, sharedSetUp, startServices } from "./helpers.js";

describe("local Key Vault secrets API", () => {
  let root: string;
  let identity: IdentityRecord;
  let services: IdentityServices;
  let vault: string;
  let env: Record<string, string>;

  sharedSetUp(async (host) => {
    ({ root, identity } = await deployedAirflow(host));
    const cluster = findCluster(root);
    // airflow-deploy.md step 5: the federated credential of the `airflow` service account.
    recordFederatedCredential(root, { identity: identity.name, name: "external-secret-operator", issuer: cluster.issuerUrl, subject: "system:serviceaccount:airflow:airflow" });
    services = await startServices(host, { root, keyVault: true, proxy: true });
    vault = readRecords(root).vaults[0]!.name;
    env = await services.workloadEnv(cluster, "airflow", "airflow", identity.clientId);
  });

  it("the identity with `get` reads the storage secrets the deploy stored; `set` and `list` are refused with Key Vault's 403", async () => {
    const { results } = await runAzureApp(env, [
      { op: "kv-get", vault, name: "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME" },
      { op: "kv-set", vault, name: "other", text: "v" },
      { op: "kv-list", vault },
    ]);
    assert.equal(results[0]!.ok, true, JSON.stringify(results[0]));
    const account = readRecords(root).accounts[0]!;
    assert.equal((results[0]!.result as { hash: string }).hash, createHash("sha256").update(account).digest("hex").slice(0, 16));
    for (const r of results.slice(1)) {
      assert.equal(r.status, 403, JSON.stringify(r));
      assert.equal(r.code, "Forbidden");
    }
    // The SDK's pager replaces the service's message with its own; the set keeps Key Vault's.
    assert.match(results[1]!.message!, new RegExp(`does not have secrets set permission on key vault '${vault};`));
    assert.match(results[1]!.message!, new RegExp(`oid=${identity.principalId}`));
  });

  it("set, versions, list, soft delete, a refused reuse of the name, and recover", async () => {
    recordAccessPolicy(root, vault, identity.principalId, ["get", "list", "set", "delete", "recover"]);
    const { results } = await runAzureApp(env, [
      { op: "kv-set", vault, name: "dag-token", text: "one" },
      { op: "kv-set", vault, name: "dag-token", text: "two" },
      { op: "kv-get", vault, name: "dag-token" },
      { op: "kv-versions", vault, name: "dag-token" },
      { op: "kv-list", vault },
      { op: "kv-delete", vault, name: "dag-token" },
      { op: "kv-get", vault, name: "dag-token" },
      { op: "kv-set", vault, name: "dag-token", text: "three" },
      { op: "kv-recover", vault, name: "dag-token" },
      { op: "kv-get", vault, name: "dag-token" },
    ]);
    const by = (i: number) => results[i]!;
    for (const i of [0, 1, 2, 3, 4, 5, 8, 9]) assert.equal(by(i).ok, true, JSON.stringify(by(i)));
    const two = createHash("sha256").update("two").digest("hex").slice(0, 16);
    assert.equal((by(2).result as { hash: string }).hash, two);
    assert.equal((by(2).result as { version: string }).version, (by(1).result as { version: string }).version);
    assert.equal(by(3).result, 2);
    assert.deepEqual(by(4).result, ["AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY", "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME", "dag-token"]);
    assert.equal(by(6).status, 404);
    assert.equal(by(7).status, 409);
    assert.equal(by(7).code, "Conflict");
    assert.equal((by(9).result as { hash: string }).hash, two);
  });

  it("a token for another service account's subject never reaches the vault (AADSTS70021)", async () => {
    const other = await services.workloadEnv(findCluster(root), "default", "airflow", identity.clientId);
    const { results } = await runAzureApp(other, [{ op: "kv-get", vault, name: "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME" }]);
    assert.equal(results[0]!.ok, false);
    assert.match(results[0]!.message!, /AADSTS70021/);
  });
});

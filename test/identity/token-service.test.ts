// The local Entra token service, exercised by the real @azure/identity in a separate process over real
// HTTPS (the local CA trusted through NODE_EXTRA_CA_CERTS, as a pod trusts it).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ClusterIssuer, findCluster } from "../../src/identity/issuer.js";
import { readRecords, TOKEN_EXCHANGE_AUDIENCE, type IdentityRecord } from "../../src/identity/records.js";
import type { IdentityServices } from "../../src/identity/services.js";
import { deployedEdw, getToken, sharedSetUp, startServices, writeTokenFile } from "./helpers.js";

const STORAGE = "https://storage.azure.com/.default";

describe("local Entra token service", () => {
  let root: string;
  let workload: IdentityRecord;
  let services: IdentityServices;
  let issuer: ClusterIssuer;

  sharedSetUp(async (host) => {
    ({ root, workload } = await deployedEdw(host));
    services = await startServices(host, { root });
    issuer = await ClusterIssuer.open(root, findCluster(root));
  });

  function env(tokenFile: string, clientId = workload.clientId): Record<string, string> {
    return {
      AZURE_CLIENT_ID: clientId,
      AZURE_TENANT_ID: services.tenantId,
      AZURE_FEDERATED_TOKEN_FILE: tokenFile,
      AZURE_AUTHORITY_HOST: services.authorityHost,
      NODE_EXTRA_CA_CERTS: services.caCertPath,
    };
  }

  it("exchanges the consumer's projected token for an access token of its identity", async () => {
    const { token } = await issuer.serviceAccountToken("aqs-demo", "aqs-app-service-account");
    const { results } = await getToken(env(writeTokenFile(root, token)), "workload", STORAGE);
    const r = results[0]!;
    assert.equal(r.ok, true, r.message);
    assert.equal(r.aud, "https://storage.azure.com");
    assert.equal(r.oid, workload.principalId);
    assert.equal(r.appid, workload.clientId);
    assert.match(r.iss!, /^https:\/\/sts\.windows\.net\//);
  });

  it("a projected token names the cluster's issuer, the service account and the token-exchange audience", async () => {
    const { token } = await issuer.serviceAccountToken("aqs-demo", "aqs-app-service-account");
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
    assert.equal(claims.iss, readRecords(root).clusters[0]!.issuerUrl);
    assert.equal(claims.sub, "system:serviceaccount:aqs-demo:aqs-app-service-account");
    assert.deepEqual(claims.aud, [TOKEN_EXCHANGE_AUDIENCE]);
    assert.ok(typeof claims.exp === "number" && claims.exp > Date.now() / 1000);
  });

  it("a federated subject naming another namespace fails with AADSTS70021", async () => {
    const { token } = await issuer.serviceAccountToken("default", "aqs-app-service-account");
    const { results } = await getToken(env(writeTokenFile(root, token, "wrong-ns")), "workload", STORAGE);
    assert.equal(results[0]!.ok, false);
    assert.match(
      results[0]!.message!,
      /AADSTS70021: No matching federated identity record found for presented assertion\. Assertion Issuer: 'https:\/\/oidc\.local\/.*Assertion Subject: 'system:serviceaccount:default:aqs-app-service-account'/,
    );
  });

  it("an expired projected token fails with AADSTS700024", async () => {
    const { token } = await issuer.serviceAccountToken("aqs-demo", "aqs-app-service-account", { now: Date.now() - 3 * 3600_000 });
    const { results } = await getToken(env(writeTokenFile(root, token, "expired")), "workload", STORAGE);
    assert.equal(results[0]!.ok, false);
    assert.match(results[0]!.message!, /AADSTS700024: Client assertion is not within its valid time range/);
  });

  it("an unknown client id fails with AADSTS700016", async () => {
    const { token } = await issuer.serviceAccountToken("aqs-demo", "aqs-app-service-account");
    const { results } = await getToken(env(writeTokenFile(root, token, "unknown"), "11111111-2222-3333-4444-555555555555"), "workload", STORAGE);
    assert.equal(results[0]!.ok, false);
    assert.match(results[0]!.message!, /AADSTS700016: Application with identifier '11111111-2222-3333-4444-555555555555' was not found in the directory/);
  });

  it("a token signed by a key the issuer never published fails signature validation", async () => {
    const stranger = await ClusterIssuer.open(join(root, "elsewhere"), findCluster(root));
    const { token } = await stranger.serviceAccountToken("aqs-demo", "aqs-app-service-account");
    const { results } = await getToken(env(writeTokenFile(root, token, "forged")), "workload", STORAGE);
    assert.equal(results[0]!.ok, false);
    assert.match(results[0]!.message!, /AADSTS700027/);
  });

  it("the issuer's previous key still verifies after a rotation", async () => {
    const { token } = await issuer.serviceAccountToken("aqs-demo", "aqs-app-service-account");
    await issuer.ring.rotate();
    const { results } = await getToken(env(writeTokenFile(root, token, "before-rotation")), "workload", STORAGE);
    assert.equal(results[0]!.ok, true, results[0]!.message);
  });

  it("keeps its keys and the CA key owner-only", () => {
    for (const p of [
      join(root, ".akspilot", "ca", "ca.key"),
      join(root, ".akspilot", "identity", "sts.json"),
      join(root, ".akspilot", "identity", "issuers", `${findCluster(root).name}.json`),
    ]) {
      assert.equal(statSync(p).mode & 0o077, 0, p);
    }
    assert.match(readFileSync(services.caCertPath, "utf8"), /BEGIN CERTIFICATE/);
  });
});

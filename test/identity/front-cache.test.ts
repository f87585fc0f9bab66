// The front remembers an access token it verified (a client sends the same one on every request), but
// never beyond what the token, the signing keys and the recorded roles allow: an expired token, a token
// whose key a rotation dropped, and a revoked role are refused on the very next request. The clock is
// injected, so expiry is decided without waiting.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { ClusterIssuer, findCluster } from "../../src/identity/issuer.js";
import { LOCAL_TENANT_ID, readRecords, type IdentityRecord } from "../../src/identity/records.js";
import type { IdentityServices } from "../../src/identity/services.js";
import { Ledger } from "../../src/provisioning/local/ledger.js";
import { deployedEdw, sharedSetUp, startStorageFront } from "./helpers.js";

const QUEUE = "aws2azmsgs";
const TTL_SECONDS = 600;

describe("the front's memory of verified tokens, and role changes", () => {
  let root: string;
  let workload: IdentityRecord;
  let services: IdentityServices;
  let account: string;
  let clock = Date.now();

  sharedSetUp(async (host) => {
    ({ root, workload } = await deployedEdw(host));
    ({ services, account } = await startStorageFront(host, root, { services: { accessTokenTtlSeconds: TTL_SECONDS, now: () => clock } }));
  });

  /** An access token for the consumer's identity, exchanged at the current (injected) time. */
  async function accessToken(): Promise<string> {
    const issuer = await ClusterIssuer.open(root, findCluster(root));
    const { token } = await issuer.serviceAccountToken("aqs-demo", "aqs-app-service-account", { now: clock });
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: workload.clientId,
      scope: "https://storage.azure.com/.default",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: token,
    });
    return String((await services.tokens.exchange(LOCAL_TENANT_ID, form)).access_token);
  }

  /** Peeks the consumer's queue at the front with a bearer token: Azure's status and error code. */
  function peek(token: string, agent: Agent | false = false): Promise<{ status: number; code?: string; message: string; reusedSocket: boolean }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${services.storageEndpoint("queue", account)}/${QUEUE}/messages?peekonly=true`,
        { method: "GET", headers: { authorization: `Bearer ${token}`, "x-ms-version": "2025-11-05" }, ca: readFileSync(services.caCertPath), agent },
        (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode!, code: res.headers["x-ms-error-code"] as string | undefined, message: body, reusedSocket: req.reusedSocket }));
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  it("keeps a client's connection alive from one request to the next (no handshake per request on its side)", async () => {
    const token = await accessToken();
    const agent = new Agent({ keepAlive: true, ca: readFileSync(services.caCertPath) });
    try {
      const first = await peek(token, agent);
      const second = await peek(token, agent);
      assert.equal(first.status, 200);
      assert.equal(second.status, 200);
      assert.equal(second.reusedSocket, true);
    } finally {
      agent.destroy();
    }
  });

  it("a remembered token is refused once it has expired (401, Azure's lifetime message)", async () => {
    const token = await accessToken();
    assert.equal((await peek(token)).status, 200);
    assert.equal((await peek(token)).status, 200);
    clock += (TTL_SECONDS - 1) * 1000;
    assert.equal((await peek(token)).status, 200, "still inside its lifetime");
    // jwtVerify's tolerance is 5 s: past it, the token is expired for the front too.
    clock += 10_000;
    const late = await peek(token);
    assert.equal(late.status, 401);
    assert.equal(late.code, "InvalidAuthenticationInfo");
    assert.match(late.message, /Lifetime validation failed\. The token is expired\./);
  });

  it("a remembered token is refused once a key rotation stopped publishing its signing key", async () => {
    const token = await accessToken();
    assert.equal((await peek(token)).status, 200);
    const ring = await services.tokens.signingRing();
    await ring.rotate();
    assert.equal((await peek(token)).status, 200, "the previous key stays published after one rotation");
    await ring.rotate();
    const dropped = await peek(token);
    assert.equal(dropped.status, 401);
    assert.equal(dropped.code, "InvalidAuthenticationInfo");
    assert.equal((await peek(await accessToken())).status, 200, "a token signed with the new key is accepted");
  });

  it("a revoked role is refused on the next request with the same token, and a new grant applies as soon", async () => {
    const token = await accessToken();
    assert.equal((await peek(token)).status, 200);
    const ledger = Ledger.open(root);
    const granting = readRecords(root).roles.filter((r) => r.principalId === workload.principalId && /Queue/.test(r.role));
    assert.ok(granting.length > 0, "the seed grants the consumer a queue role");
    const saved = granting.map((r) => [r.id, ledger.get(r.id)!] as const);
    for (const [id] of saved) ledger.delete(id);
    const refused = await peek(token);
    assert.equal(refused.status, 403);
    assert.equal(refused.code, "AuthorizationPermissionMismatch");
    for (const [id, entry] of saved) ledger.put(id, entry);
    assert.equal((await peek(token)).status, 200);
    for (const [id] of saved) ledger.delete(id);
    assert.equal((await peek(token)).status, 403, "revoked again right after the grant");
    for (const [id, entry] of saved) ledger.put(id, entry);
  });
});

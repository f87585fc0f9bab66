// The enforcing storage front: a program written for Azure (public URLs, DefaultAzureCredential) reaches
// real Azurite through the local proxy with a pod's workload-identity environment; role assignments
// recorded by `deploy edw --target local` are enforced at the service with Azure's 403.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:https";
import { readFileSync } from "node:fs";
import { QueueServiceClient } from "@azure/storage-queue";
import type { AzuriteHandle } from "../../src/process/azurite.js";
import { findCluster } from "../../src/identity/issuer.js";
import type { IdentityRecord } from "../../src/identity/records.js";
import type { IdentityServices } from "../../src/identity/services.js";
import { deployedEdw, runAzureApp, sharedSetUp, startStorageFront } from "./helpers.js";

describe("enforcing storage front behind the proxy", () => {
  let root: string;
  let workload: IdentityRecord;
  let producer: IdentityRecord;
  let azurite: AzuriteHandle;
  let services: IdentityServices;
  let account: string;

  sharedSetUp(async (host) => {
    ({ root, workload, producer } = await deployedEdw(host));
    ({ azurite, services, account } = await startStorageFront(host, root, { tables: ["aws2azpmts"], containers: ["logs"], services: { proxy: true } }));
  });

  const podEnv = (sa: string, clientId: string) => services.workloadEnv(findCluster(root), "aqs-demo", sa, clientId);

  it("the consumer's identity sends, receives and deletes messages and writes its table (single and batch)", async () => {
    const env = await podEnv("aqs-app-service-account", workload.clientId);
    const { results } = await runAzureApp(env, [
      { op: "send", account, queue: "aws2azmsgs", text: "m1" },
      { op: "receive", account, queue: "aws2azmsgs" },
      { op: "depth", account, queue: "aws2azmsgs" },
      { op: "upsert", account, table: "aws2azpmts", name: "r1", text: "x" },
      { op: "batch", account, table: "aws2azpmts" },
      { op: "rows", account, table: "aws2azpmts" },
    ]);
    for (const r of results) assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(results[1]!.result, ["m1"]);
    assert.deepEqual(results[5]!.result, ["b/1", "b/2", "p/r1"]);
    // What reached Azurite is really there.
    const direct = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient("aws2azmsgs");
    assert.equal((await direct.getProperties()).approximateMessagesCount, 0);
  });

  it("the producer's identity may send but not receive: 403 AuthorizationPermissionMismatch", async () => {
    const env = await podEnv("aqs-producer-service-account", producer.clientId);
    const { results } = await runAzureApp(env, [
      { op: "send", account, queue: "aws2azmsgs", text: "from-producer" },
      { op: "receive", account, queue: "aws2azmsgs" },
      { op: "upsert", account, table: "aws2azpmts", name: "r2" },
    ]);
    assert.equal(results[0]!.ok, true, JSON.stringify(results[0]));
    assert.equal(results[1]!.ok, false);
    assert.equal(results[1]!.status, 403);
    assert.equal(results[1]!.code, "AuthorizationPermissionMismatch");
    assert.match(results[1]!.message!, /This request is not authorized to perform this operation using this permission/);
    assert.equal(results[2]!.status, 403, JSON.stringify(results[2]));
    // The tables SDK leaves `code` unset and keeps Azure's odata.error body as the message.
    assert.match(results[2]!.message!, /"odata\.error":\{"code":"AuthorizationPermissionMismatch"/);
    const direct = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient("aws2azmsgs");
    assert.equal((await direct.getProperties()).approximateMessagesCount, 1);
  });

  it("no blob role: the upload is refused with Azure's 403", async () => {
    const env = await podEnv("aqs-app-service-account", workload.clientId);
    const { results } = await runAzureApp(env, [{ op: "blob-put", account, container: "logs", name: "a.txt", text: "x" }]);
    assert.equal(results[0]!.status, 403);
    assert.equal(results[0]!.code, "AuthorizationPermissionMismatch");
  });

  it("a service account the identity is not federated with fails at the token exchange with AADSTS70021", async () => {
    const env = await podEnv("default", workload.clientId);
    const { results } = await runAzureApp(env, [{ op: "send", account, queue: "aws2azmsgs", text: "never" }]);
    assert.equal(results[0]!.ok, false);
    assert.match(results[0]!.message!, /AADSTS70021/);
  });

  it("refuses account keys and anonymous requests at the front", async () => {
    const ask = (headers: Record<string, string>) =>
      new Promise<{ status: number; code?: string; challenge?: string }>((resolve, reject) => {
        const req = request(`${services.storageEndpoint("queue", account)}/aws2azmsgs/messages`, { method: "GET", headers, ca: readFileSync(services.caCertPath) }, (res) => {
          res.resume();
          res.on("end", () =>
            resolve({ status: res.statusCode!, code: res.headers["x-ms-error-code"] as string | undefined, challenge: res.headers["www-authenticate"] as string | undefined }),
          );
        });
        req.on("error", reject);
        req.end();
      });
    const anon = await ask({});
    assert.equal(anon.status, 401);
    assert.equal(anon.code, "NoAuthenticationInformation");
    assert.match(anon.challenge!, /^Bearer authorization_uri=/);
    const key = await ask({ authorization: "SharedKey devstoreaccount1:abc" });
    assert.equal(key.status, 403);
    assert.equal(key.code, "KeyBasedAuthenticationNotPermitted");
    const forged = await ask({ authorization: "Bearer eyJhbGciOiJub25lIn0.eyJvaWQiOiJ4In0." });
    assert.equal(forged.status, 401);
    assert.equal(forged.code, "InvalidAuthenticationInfo");
  });
});

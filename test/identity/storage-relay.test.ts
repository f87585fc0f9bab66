// The storage front's hop to its backend (an undici pool, answers written straight to the client) on real
// HTTP over loopback: large answers stream intact, hop-by-hop headers stay on their own hop, a chunked
// request body arrives whole, and a backend that is not there gets the front's own answer. And our storage
// clients' shared tunnelling agent: a burst of parallel requests through the real local proxy opens at most
// MAX_TUNNELS_PER_ORIGIN tunnels (each a CONNECT and a TLS handshake), every request still answered.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import { findCluster } from "../../src/identity/issuer.js";
import { readRecords, type IdentityRecord } from "../../src/identity/records.js";
import { IdentityServices } from "../../src/identity/services.js";
import { StorageRelay } from "../../src/identity/storage-relay.js";
import { MAX_TUNNELS_PER_ORIGIN } from "../../src/storage/proxy-keepalive.js";
import { deployedEdw } from "./helpers.js";

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; origin: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function send(
  origin: string,
  path: string,
  o: { method?: string; body?: Buffer[]; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: IncomingMessage["headers"]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${origin}${path}`, { method: o.method ?? "GET", headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    for (const b of o.body ?? []) req.write(b);
    req.end();
  });
}

describe("storage front's relay to its backend", () => {
  const relay = new StorageRelay();
  let backend: { server: Server; origin: string };
  let front: { server: Server; origin: string };
  const big = Buffer.alloc(300 * 1024, "x");
  for (let i = 0; i < big.length; i += 1000) big[i] = 48 + ((i / 1000) % 10);

  before(async () => {
    backend = await listen((req, res) => {
      if (req.url === "/big") {
        res.writeHead(200, { "content-type": "application/octet-stream", "x-ms-request-id": "r1", "keep-alive": "timeout=77" });
        // Several writes: the relay sees the answer in pieces.
        for (let i = 0; i < big.length; i += 64 * 1024) res.write(big.subarray(i, i + 64 * 1024));
        res.end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        res.writeHead(201, { "content-type": "application/json", connection: "keep-alive" });
        res.end(JSON.stringify({ method: req.method, url: req.url, length: body.length, text: body.toString("utf8"), te: req.headers["transfer-encoding"] ?? null }));
      });
    });
    front = await listen((req, res) => {
      const target = req.url === "/gone" ? "http://127.0.0.1:1" : backend.origin;
      const headers: Record<string, string> = {};
      if (req.headers["content-length"]) headers["content-length"] = req.headers["content-length"];
      relay.relay(target, { method: req.method ?? "GET", path: req.url === "/gone" ? "/" : (req.url ?? "/"), headers }, req, res, () => {
        res.writeHead(503, { "x-ms-error-code": "ServerBusy" });
        res.end("busy");
      });
    });
  });
  after(async () => {
    await relay.close();
    front.server.closeAllConnections();
    backend.server.closeAllConnections();
    await new Promise((r) => front.server.close(r));
    await new Promise((r) => backend.server.close(r));
  });

  it("streams a large answer whole, with the backend's headers but not its hop-by-hop ones", async () => {
    const r = await send(front.origin, "/big");
    assert.equal(r.status, 200);
    assert.equal(r.body.length, big.length);
    assert.ok(r.body.equals(big), "the body arrived byte for byte");
    assert.equal(r.headers["x-ms-request-id"], "r1");
    assert.notEqual(r.headers["keep-alive"], "timeout=77", "the backend's keep-alive hint is about the relay's own connection");
  });

  it("passes a chunked request body on whole, and a small answer with its status and length", async () => {
    const parts = [Buffer.from("<QueueMessage><MessageText>"), Buffer.from("hello"), Buffer.from("</MessageText></QueueMessage>")];
    const r = await send(front.origin, "/q/messages?x=1", { method: "POST", body: parts });
    assert.equal(r.status, 201);
    assert.equal(Number(r.headers["content-length"]), r.body.length);
    const seen = JSON.parse(r.body.toString("utf8")) as { method: string; url: string; length: number; text: string };
    assert.equal(seen.method, "POST");
    assert.equal(seen.url, "/q/messages?x=1");
    assert.equal(seen.text, Buffer.concat(parts).toString("utf8"));
  });

  it("a DELETE without a body reaches the backend as one", async () => {
    const r = await send(front.origin, "/q/messages/id?popreceipt=p", { method: "DELETE" });
    const seen = JSON.parse(r.body.toString("utf8")) as { method: string; length: number; te: string | null };
    assert.equal(seen.method, "DELETE");
    assert.equal(seen.length, 0);
    assert.equal(seen.te, null, "no chunked framing for an empty body");
  });

  it("a backend that is not listening gets the front's own answer", async () => {
    const r = await send(front.origin, "/gone");
    assert.equal(r.status, 503);
    assert.equal(r.headers["x-ms-error-code"], "ServerBusy");
  });
});

describe("storage clients' tunnels through the proxy are capped per origin", () => {
  let root: string;
  let workload: IdentityRecord;
  let azurite: AzuriteHandle;
  let services: IdentityServices;
  const hooks: Array<() => void | Promise<void>> = [];
  const host = { after: (fn: () => void | Promise<void>) => void hooks.push(fn) };

  before(async () => {
    ({ root, workload } = await deployedEdw(host));
    azurite = await startAzurite();
    services = await IdentityServices.start({ root, storageConnectionString: azurite.connectionString, proxy: true });
  });
  after(async () => {
    await services?.stop();
    await azurite?.stop();
    for (const h of hooks.reverse()) await h();
  });

  it(`a burst of 3 × ${MAX_TUNNELS_PER_ORIGIN} parallel requests opens at most ${MAX_TUNNELS_PER_ORIGIN} tunnels, and each is answered`, async () => {
    const env = await services.workloadEnv(findCluster(root), "aqs-demo", "aqs-app-service-account", workload.clientId);
    const account = readRecords(root).accounts[0]!;
    const n = 3 * MAX_TUNNELS_PER_ORIGIN;
    const before = services.proxy!.counts.intercepted;
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL("./fixtures/parallel-tunnels.js", import.meta.url)), `https://${account}.queue.core.windows.net/aws2azmsgs/messages`, String(n)],
      {
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    const code = await new Promise<number | null>((r) => child.once("close", r));
    assert.equal(code, 0, err);
    const counts = JSON.parse(out.trim().split("\n").pop()!) as Record<string, number>;
    // Anonymous requests: the enforcing front answers each with 401 NoAuthenticationInformation.
    assert.deepEqual(counts, { 401: n });
    const tunnels = services.proxy!.counts.intercepted - before;
    assert.ok(tunnels >= 1 && tunnels <= MAX_TUNNELS_PER_ORIGIN, `${tunnels} tunnels for ${n} parallel requests`);
  });
});

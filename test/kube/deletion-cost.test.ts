import assert from "node:assert/strict";
import { scratchDir } from "../scratch.js";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { DELETION_COST_ANNOTATION, startDeletionCostReporter } from "../../src/apps/consumer/deletion-cost.js";

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  type: string | undefined;
  body: unknown;
}

/** A loopback HTTP server standing in for the API server's pod PATCH endpoint. */
async function fakeApiServer(status = 200) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", auth: req.headers.authorization, type: req.headers["content-type"], body: JSON.parse(body) });
      res.writeHead(status, { "content-type": "application/json" }).end(status === 200 ? "{}" : '{"reason":"Forbidden"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise((r) => server.close(r)) };
}

function tokenDir(token: string): string {
  const dir = scratchDir("akspilot-sa-");
  writeFileSync(join(dir, "token"), `${token}\n`);
  return dir;
}

test("deletion cost: patches the pod's annotation with the in-flight count, only when it changes", async () => {
  const api = await fakeApiServer();
  const dir = tokenDir("tok-1");
  let inFlight = 0;
  // The timer is effectively off; flush() drives each check so the test does not depend on timing.
  const reporter = startDeletionCostReporter({
    inFlight: () => inFlight,
    podName: "aqs-app-7d9c",
    namespace: "aqs-demo",
    apiUrl: api.url,
    serviceAccountDir: dir,
    intervalMs: 3_600_000,
  });
  try {
    await reporter.flush();
    await reporter.flush();
    inFlight = 3;
    await reporter.flush();
    await reporter.flush();
    writeFileSync(join(dir, "token"), "tok-2\n"); // projected tokens rotate
    inFlight = 0;
    await reporter.flush();
  } finally {
    await reporter.stop();
    await api.close();
  }
  assert.deepEqual(
    api.seen.map((s) => (s.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations[DELETION_COST_ANNOTATION]),
    ["0", "3", "0"],
  );
  for (const s of api.seen) {
    assert.equal(s.method, "PATCH");
    assert.equal(s.url, "/api/v1/namespaces/aqs-demo/pods/aqs-app-7d9c");
    assert.equal(s.type, "application/merge-patch+json");
  }
  assert.deepEqual(
    api.seen.map((s) => s.auth),
    ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"],
  );
});

test("deletion cost: a refused patch is reported and retried on the next check", async () => {
  const api = await fakeApiServer(403);
  const errors: string[] = [];
  const reporter = startDeletionCostReporter({
    inFlight: () => 2,
    podName: "p",
    namespace: "n",
    apiUrl: api.url,
    serviceAccountDir: tokenDir("t"),
    intervalMs: 3_600_000,
    onError: (e) => errors.push(e.message),
  });
  try {
    await reporter.flush();
    await reporter.flush();
  } finally {
    await reporter.stop();
    await api.close();
  }
  assert.equal(api.seen.length, 2, "the unchanged value is sent again because it never got through");
  assert.match(errors[0]!, /HTTP 403 \(the pod's service account may not patch pods: is the Role bound\?\)/);
});

test("deletion cost: outside a pod without an API URL it says why", () => {
  const saved = process.env.KUBERNETES_SERVICE_HOST;
  delete process.env.KUBERNETES_SERVICE_HOST;
  try {
    assert.throws(() => startDeletionCostReporter({ inFlight: () => 0, podName: "p", namespace: "n" }), /KUBERNETES_SERVICE_HOST is not set/);
  } finally {
    if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
  }
});

const hasOpenssl = (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, "openssl")));

test("deletion cost: over HTTPS it trusts the service-account CA file", { skip: hasOpenssl ? false : "openssl not installed" }, async () => {
  const dir = tokenDir("tls-token");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "ca.crt"),
    ],
    { stdio: "ignore" },
  );
  const seen: string[] = [];
  const server = createHttpsServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "ca.crt")) }, (req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    req.resume().on("end", () => res.writeHead(200).end("{}"));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const reporter = startDeletionCostReporter({
    inFlight: () => 1,
    podName: "p",
    namespace: "n",
    apiUrl: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serviceAccountDir: dir,
    intervalMs: 3_600_000,
    onError: (e) => seen.push(`error ${e.message}`),
  });
  try {
    await reporter.flush();
  } finally {
    await reporter.stop();
    await new Promise((r) => server.close(r));
  }
  assert.deepEqual(seen, ["PATCH /api/v1/namespaces/n/pods/p Bearer tls-token"]);
});

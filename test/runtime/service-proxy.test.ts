// The loopback kube-proxy end to end: real HTTP servers stand in for the pods' containers (the cluster
// itself runs on the fake clock), and real TCP connections go through the proxy.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Cluster } from "../../src/local/cluster/cluster.js";
import { FakeClock } from "../../src/local/cluster/clock.js";
import { Endpoints } from "../../src/local/cluster/service.js";
import { startServiceProxy } from "../../src/local/cluster/service-proxy.js";
import { FakeRunner, settle } from "./fake-runner.js";
import { SMALL, template } from "./harness.js";

/** An HTTP server on a free loopback port that answers every request with its name. */
async function backend(t: TestContext, name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end(name));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { server, port: (server.address() as AddressInfo).port };
}

/** One GET on a new connection: the body, or the error code, within `limitMs` (real time). */
function get(url: string, limitMs = 3000): Promise<{ body?: string; error?: string; ms: number }> {
  const start = Date.now();
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: limitMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ body, ms: Date.now() - start }));
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "TIMEOUT" })));
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, ms: Date.now() - start }));
    req.end();
  });
}

async function setup(t: TestContext, names: string[]) {
  const backends = await Promise.all(names.map((n) => backend(t, n)));
  const ports = backends.map((b) => b.port);
  const clock = new FakeClock();
  const runner = new FakeRunner(clock);
  // Each pod gets the port of one of the real servers, in order.
  let i = 0;
  const cluster = new Cluster({ name: "test", clock, runner, timeScale: 1, allocatePort: async () => ports[i++]! });
  cluster.addNode(SMALL, { kind: "agentPool", pool: "a", mode: "User" }, 0, "test");
  cluster.addDeployment("web", template(), names.length);
  await settle();
  const endpoints = new Endpoints(cluster, { name: "web", type: "ClusterIP", selector: { app: "web" }, port: 80 });
  const proxy = await startServiceProxy(endpoints);
  t.after(() => proxy.close());
  t.after(() => endpoints.close());
  return { backends, cluster, endpoints, proxy, clock };
}

test("connections go round-robin over the ready endpoints", { timeout: 20_000 }, async (t) => {
  const { endpoints, proxy } = await setup(t, ["one", "two"]);
  assert.equal(endpoints.ready().length, 2);
  const bodies: (string | undefined)[] = [];
  for (let k = 0; k < 6; k++) bodies.push((await get(proxy.url)).body);
  // Ready endpoints in pod-name order, taken in turn.
  const first = bodies[0];
  assert.ok(first === "one" || first === "two", String(first));
  const other = first === "one" ? "two" : "one";
  assert.deepEqual(bodies, [first, other, first, other, first, other]);
});

test("a pod that is not ready gets no connections; with no ready endpoint a connection is reset at once", { timeout: 20_000 }, async (t) => {
  const { cluster, endpoints, proxy } = await setup(t, ["one", "two"]);
  const [p1, p2] = cluster.podsOf("web");
  const portOf = new Map(endpoints.ready().map((e) => [e.pod, e.port]));
  p1!.setReady(false, "test");
  await settle();
  assert.equal(endpoints.ready().length, 1);
  const bodies = new Set<string | undefined>();
  for (let k = 0; k < 4; k++) bodies.add((await get(proxy.url)).body);
  assert.equal(bodies.size, 1, "every connection to the one ready pod");
  assert.equal(endpoints.ready()[0]!.port, portOf.get(p2!.name));
  p2!.setReady(false, "test");
  await settle();
  assert.equal(endpoints.ready().length, 0);
  const r = await get(proxy.url);
  assert.equal(r.body, undefined);
  assert.equal(r.error, "ECONNRESET");
  assert.ok(r.ms < 1000, `reset after ${r.ms} ms`);
  // Ready again: served again.
  p1!.setReady(true, "test");
  await settle();
  assert.ok(["one", "two"].includes((await get(proxy.url)).body ?? ""));
});

test("an endpoint that refuses connections resets the client's connection: no retry on another endpoint", { timeout: 20_000 }, async (t) => {
  const { backends, endpoints, proxy } = await setup(t, ["one", "two"]);
  // Close one server while its pod is still a ready endpoint (the process died, the kubelet has not noticed).
  const dead = backends[0]!;
  await new Promise<void>((r) => dead.server.close(() => r()));
  assert.ok(endpoints.ready().some((e) => e.port === dead.port));
  const results = [];
  for (let k = 0; k < 4; k++) results.push(await get(proxy.url));
  const errors = results.filter((r) => r.error !== undefined);
  assert.equal(errors.length, 2, "every other connection goes to the dead endpoint");
  for (const e of errors) assert.equal(e.error, "ECONNRESET");
  assert.deepEqual(
    results.filter((r) => r.body !== undefined).map((r) => r.body),
    ["two", "two"],
  );
});

// The haproxy engine with a real haproxy process in front of real loopback servers and real pod programs:
// the exact answer, a killed pod's requests retried elsewhere, draining, a hung pod taken out by the check.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../edw/helpers.js";
import { startHaproxyGateway } from "../../src/local/gateway/haproxy.js";
import type { Gateway } from "../../src/local/gateway/gateway.js";
import { DEFAULT_GATEWAY_SETTINGS, type GatewaySettings } from "../../src/local/gateway/settings.js";
import { type AfterHost, Endpoints, startHelloPod } from "./helpers.js";
import { UserError } from "../../src/errors.js";

const SETTINGS: GatewaySettings = {
  ...DEFAULT_GATEWAY_SETTINGS,
  probe: { path: "/healthz", intervalMs: 100, timeoutMs: 300, healthyThreshold: 1, unhealthyThreshold: 2 },
  retry: { ...DEFAULT_GATEWAY_SETTINGS.retry, perTryTimeoutMs: 1000 },
  drainTimeoutMs: 5000,
};

async function gateway(t: AfterHost, eps: Endpoints, events: string[] = [], slots?: number): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), "akspilot-haproxy-test-"));
  const g = await startHaproxyGateway(eps, { settings: SETTINGS, stateDir: dir, slots, onEvent: (type, reason, message) => events.push(`${type} ${reason} ${message}`) });
  t.after(async () => {
    await g.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return g;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: string;
}

function call(url: string, o: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: o.headers, agent: false, timeout: o.timeoutMs ?? 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** A loopback server that counts the requests it answers (probes aside) and echoes what it was sent. */
async function server(t: AfterHost, name: string): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const srv: Server = createServer((req, res) => {
    if (req.url === "/healthz") return res.end("ok");
    hits++;
    const seen = { xff: req.headers["x-forwarded-for"], proto: req.headers["x-forwarded-proto"], host: req.headers["x-forwarded-host"] };
    res.writeHead(200, { "content-type": "text/plain", "x-seen": JSON.stringify(seen), "keep-alive": "timeout=5" });
    res.end(`from ${name}`);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => srv.close(() => r())));
  srv.unref();
  return { port: (srv.address() as { port: number }).port, hits: () => hits };
}

test("a request through haproxy gets the pod's exact answer, with X-Forwarded-* set and hop-by-hop headers dropped", { timeout: 30_000 }, async (t) => {
  const a = await server(t, "a");
  const eps = new Endpoints();
  eps.set([["a", a.port]]);
  const g = await gateway(t, eps);
  assert.match(g.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const r = await call(`${g.url}/hello?x=1`, { headers: { host: "shop.example", "x-forwarded-for": "203.0.113.7" } });
  assert.equal(r.status, 200);
  assert.equal(r.body, "from a");
  assert.equal(r.headers["content-type"], "text/plain");
  assert.equal(r.headers["keep-alive"], undefined);
  const seen = JSON.parse(String(r.headers["x-seen"])) as { xff: string; proto: string; host: string };
  assert.equal(seen.xff, "203.0.113.7, 127.0.0.1");
  assert.equal(seen.proto, "http");
  assert.equal(seen.host, "shop.example");
  const hello = await startHelloPod(t, "hello-0");
  eps.set([["hello-0", hello.port]]);
  // The endpoint change goes through the runtime API: the next requests reach the hello pod, answered as it does.
  const body = await waitFor("the hello pod serves", async () => {
    const x = await call(`${g.url}/`);
    return x.body.includes("Running on") ? x.body : undefined;
  });
  assert.match(body, /^Hello world! Now is \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{1,3}\.\nRunning on hello-0\.$/);
  assert.equal(
    g
      .stats()
      .endpoints.map((e) => e.pod)
      .join(),
    "hello-0",
  );
});

test("a pod killed mid-load: its GETs are retried on another endpoint and none fails (one slot, one dynamic server)", { timeout: 60_000 }, async (t) => {
  const p1 = await startHelloPod(t, "pod-1");
  const p2 = await startHelloPod(t, "pod-2");
  const eps = new Endpoints();
  eps.set([
    ["pod-1", p1.port],
    ["pod-2", p2.port],
  ]);
  const g = await gateway(t, eps, [], 1);
  await waitFor("both pods answer", async () => (g.stats().endpoints.length === 2 ? true : undefined));
  const seen = new Set<string>();
  let failed = 0;
  let sent = 0;
  let killed = false;
  // 10 clients, each GETs in a loop; pod-1 is SIGKILLed after 100 answers, the Service still lists it.
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      for (let i = 0; i < 40; i++) {
        sent++;
        if (sent > 100 && !killed) {
          killed = true;
          p1.child.kill("SIGKILL");
        }
        const r = await call(`${g.url}/`).catch((e: Error) => ({ status: 0, body: e.message }));
        if (r.status !== 200) failed++;
        else seen.add(/Running on (\S+)\./.exec(r.body)?.[1] ?? "?");
      }
    }),
  );
  assert.ok(killed);
  assert.equal(failed, 0);
  assert.deepEqual([...seen].sort(), ["pod-1", "pod-2"]);
  const after = await call(`${g.url}/`);
  assert.match(after.body, /Running on pod-2\./);
});

test("draining: an endpoint leaving the Service gets no new requests, and is removed from haproxy", { timeout: 30_000 }, async (t) => {
  const a = await server(t, "a");
  const b = await server(t, "b");
  const eps = new Endpoints();
  eps.set([
    ["a", a.port],
    ["b", b.port],
  ]);
  const events: string[] = [];
  const g = await gateway(t, eps, events);
  for (let i = 0; i < 20; i++) assert.equal((await call(`${g.url}/`)).status, 200);
  assert.ok(a.hits() > 0 && b.hits() > 0, `${a.hits()} ${b.hits()}`);
  // b's pod is terminating: still listed, no longer ready to serve.
  eps.set(
    [
      ["a", a.port],
      ["b", b.port],
    ],
    ["b"],
  );
  await waitFor("b drained and removed", async () => (g.stats().endpoints.every((e) => e.pod !== "b") ? true : undefined), 10_000);
  const bBefore = b.hits();
  for (let i = 0; i < 30; i++) assert.equal((await call(`${g.url}/`)).body, "from a");
  assert.equal(b.hits(), bBefore);
  assert.ok(
    events.some((e) => /EndpointDraining b:/.test(e)),
    events.join("\n"),
  );
});

test("the health check takes a hung (frozen) pod out, and puts it back once it answers", { timeout: 60_000 }, async (t) => {
  const frozen = await startHelloPod(t, "frozen-pod");
  const b = await server(t, "b");
  const eps = new Endpoints();
  eps.set([
    ["frozen-pod", frozen.port],
    ["b", b.port],
  ]);
  const events: string[] = [];
  const g = await gateway(t, eps, events);
  await waitFor("frozen-pod answers", async () => ((await call(`${g.url}/`)).body.includes("frozen-pod") ? true : undefined));
  frozen.child.kill("SIGSTOP");
  // No request at all: only the active check can find out.
  await waitFor("frozen-pod marked down", () => (g.stats().endpoints.find((e) => e.pod === "frozen-pod")?.healthy === false ? true : undefined), 15_000);
  assert.ok(
    events.some((e) => /^Warning EndpointUnhealthy frozen-pod: Layer7 timeout/.test(e)),
    events.join("\n"),
  );
  for (let i = 0; i < 10; i++) {
    const r = await call(`${g.url}/`);
    assert.equal(r.status, 200);
    assert.equal(r.body, "from b");
  }
  frozen.child.kill("SIGCONT");
  await waitFor("frozen-pod back", () => (g.stats().endpoints.find((e) => e.pod === "frozen-pod")?.healthy === true ? true : undefined), 15_000);
});

test("a missing haproxy program is one clear error naming the package", async () => {
  await assert.rejects(
    startHaproxyGateway(new Endpoints(), { settings: SETTINGS, stateDir: tmpdir(), binary: "/nonexistent/haproxy" }),
    (e: unknown) => e instanceof UserError && /haproxy/.test(e.message) && /apt-get install haproxy/.test(e.hint ?? ""),
  );
});

test("closing the gateway stops haproxy and removes its config and socket", { timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "akspilot-haproxy-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const g = await startHaproxyGateway(new Endpoints(), { settings: SETTINGS, stateDir: dir });
  assert.deepEqual(readdirSync(dir).sort(), [`haproxy-${g.port}.cfg`, `haproxy-${g.port}.sock`]);
  // No endpoint and no hold gateway: haproxy answers 503 itself.
  assert.equal((await call(`${g.url}/`)).status, 503);
  await g.close();
  assert.deepEqual(readdirSync(dir), []);
  await assert.rejects(call(`${g.url}/`, { timeoutMs: 1000 }));
});

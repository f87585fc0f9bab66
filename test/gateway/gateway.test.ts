// The HTTP gateway on its own, in front of real loopback servers and a real pod program that is frozen
// (SIGSTOP, as on a switched-off VM): health checks, outlier ejection, retries and their budgets, limits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { waitFor } from "../edw/helpers.js";
import { startGateway, type Gateway, type GatewayOptions } from "../../src/local/gateway/gateway.js";
import { DEFAULT_GATEWAY_SETTINGS, type GatewaySettings } from "../../src/local/gateway/settings.js";
import { type AfterHost, Endpoints, startHelloPod } from "./helpers.js";
import { freePort } from "../../src/local/runtime.js";

function settings(over: { retry?: Partial<GatewaySettings["retry"]>; limits?: Partial<GatewaySettings["limits"]>; hold?: GatewaySettings["hold"] } = {}): GatewaySettings {
  const d = DEFAULT_GATEWAY_SETTINGS;
  return {
    ...d,
    probe: { path: "/healthz", intervalMs: 100, timeoutMs: 300, healthyThreshold: 1, unhealthyThreshold: 2 },
    outlier: { baseEjectionMs: 300, maxEjectionMs: 2000 },
    retry: { ...d.retry, perTryTimeoutMs: 400, deadlineMs: 4000, ...over.retry },
    limits: { ...d.limits, maxBodyBytes: 1024, headersTimeoutMs: 500, requestTimeoutMs: 1000, ...over.limits },
    drainTimeoutMs: 1000,
    hold: over.hold ?? d.hold,
  };
}

/** A real HTTP server on loopback that counts what it is sent; `behave` decides each answer. */
async function server(t: AfterHost, name: string, behave: (req: IncomingMessage, body: string) => "ok" | "500" | "reset" | { echo: true }) {
  const hits = { count: 0, methods: [] as string[] };
  const srv: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d));
    req.on("end", () => {
      if (req.url === "/healthz") return res.end("ok");
      hits.count++;
      hits.methods.push(req.method ?? "");
      const b = behave(req, body);
      if (b === "reset") return req.socket.destroy();
      if (b === "500") return res.writeHead(500).end("broken");
      if (b === "ok") return res.writeHead(200, { "content-type": "text/plain" }).end(`from ${name}`);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ headers: req.headers, body }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  t.after(
    () =>
      new Promise<void>((r) => {
        srv.close(() => r());
        srv.closeAllConnections();
      }),
  );
  return { port: (srv.address() as AddressInfo).port, hits, srv };
}

async function gateway(t: AfterHost, eps: Endpoints, s = settings(), extra: Omit<GatewayOptions, "settings"> = {}): Promise<Gateway> {
  const g = await startGateway(eps, { settings: s, ...extra });
  t.after(() => g.close());
  return g;
}

interface Answer {
  status: number;
  body: string;
  headers: IncomingMessage["headers"];
}

function call(url: string, o: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? "GET", headers: o.headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.setTimeout(o.timeoutMs ?? 10_000, () => req.destroy(new Error("client timeout")));
    req.on("error", reject);
    req.end(o.body);
  });
}

test("forwarding: hop-by-hop headers dropped both ways, X-Forwarded-* set, the body passed through", async (t) => {
  const a = await server(t, "a", () => ({ echo: true }));
  const eps = new Endpoints();
  eps.set([["a", a.port]]);
  const g = await gateway(t, eps);
  const r = await call(`${g.url}/x?y=1`, {
    method: "PUT",
    headers: { connection: "keep-alive, x-secret", "x-secret": "1", "keep-alive": "timeout=5", "x-forwarded-for": "10.0.0.1", "x-app": "kept", host: "shop.example" },
    body: "hello",
  });
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body) as { headers: Record<string, string>; body: string };
  assert.equal(seen.body, "hello");
  assert.equal(seen.headers["x-secret"], undefined);
  assert.equal(seen.headers["keep-alive"], undefined);
  assert.equal(seen.headers["x-app"], "kept");
  assert.equal(seen.headers["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
  assert.equal(seen.headers["x-forwarded-proto"], "http");
  assert.equal(seen.headers["x-forwarded-host"], "shop.example");
  assert.equal(seen.headers.host, "shop.example");
  // A request target that is not a path is refused cleanly.
  const bad = await rawExchange(g.port, "GET * HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.match(bad, /^HTTP\/1\.1 400 /);
});

test("a hung (frozen, not crashed) endpoint is taken out and every request still succeeds; it returns once it answers again", { timeout: 60_000 }, async (t) => {
  const { port, child } = await startHelloPod(t, "frozen-pod");
  const b = await server(t, "b", () => "ok");
  const eps = new Endpoints();
  eps.set([
    ["frozen-pod", port],
    ["b", b.port],
  ]);
  const g = await gateway(t, eps);
  assert.match((await call(g.url)).body, /Running on frozen-pod\./);
  child.kill("SIGSTOP");
  // Requests in parallel bursts, as a busy client sends them: none fails, none answered by the frozen pod.
  for (let round = 0; round < 10; round++) {
    const answers = await Promise.all(Array.from({ length: 5 }, () => call(g.url)));
    for (const r of answers) assert.equal(r.status, 200, r.body);
    for (const r of answers) assert.equal(r.body, "from b");
  }
  const frozen = g.stats().endpoints.find((e) => e.pod === "frozen-pod")!;
  assert.ok(frozen.ejected || !frozen.healthy, JSON.stringify(frozen));
  child.kill("SIGCONT");
  await waitFor("the thawed pod answers through the gateway again", async () => (/frozen-pod/.test((await call(g.url)).body) ? true : undefined), 20_000, 50);
});

test("outlier ejection and return: an endpoint answering 500 is taken out, the client never sees it, and it comes back once healthy", { timeout: 30_000 }, async (t) => {
  let broken = true;
  const a = await server(t, "a", () => (broken ? "500" : "ok"));
  const b = await server(t, "b", () => "ok");
  const eps = new Endpoints();
  eps.set([
    ["a", a.port],
    ["b", b.port],
  ]);
  const g = await gateway(t, eps);
  for (let i = 0; i < 10; i++) {
    const r = await call(g.url);
    assert.equal(r.status, 200);
    assert.equal(r.body, "from b");
  }
  assert.equal(a.hits.count, 1, "one try reached the failing endpoint, then it was out");
  assert.ok(g.stats().retries >= 1);
  broken = false;
  await waitFor("a back in rotation", async () => ((await call(g.url)).body === "from a" ? true : undefined), 10_000, 50);
});

test("retries: budget spent → a clean 502; every endpoint failing → 502 after the per-request attempts", { timeout: 30_000 }, async (t) => {
  const a = await server(t, "a", () => "reset");
  const b = await server(t, "b", () => "ok");
  const eps = new Endpoints();
  eps.set([
    ["a", a.port],
    ["b", b.port],
  ]);
  const g = await gateway(t, eps, settings({ retry: { budgetPercent: 0, minRetries: 0 } }));
  const r = await call(g.url);
  assert.equal(r.status, 502);
  assert.match(r.body, /retry budget spent/);
  assert.equal(r.headers["x-akspilot-gateway"], "refused");
  assert.equal(b.hits.count, 0);
  assert.equal(g.stats().retriesRefused, 1);

  const c = await server(t, "c", () => "reset");
  const d = await server(t, "d", () => "reset");
  const eps2 = new Endpoints();
  eps2.set([
    ["c", c.port],
    ["d", d.port],
  ]);
  const g2 = await gateway(t, eps2);
  const r2 = await call(g2.url);
  assert.equal(r2.status, 502);
  assert.match(r2.body, /failed/);
  assert.equal(c.hits.count + d.hits.count, 2, "each endpoint tried once, none twice");
});

test("a POST that may have reached the app is not retried; one refused at connect is", { timeout: 30_000 }, async (t) => {
  const a = await server(t, "a", () => "reset");
  const b = await server(t, "b", () => "ok");
  const eps = new Endpoints();
  eps.set([
    ["a", a.port],
    ["b", b.port],
  ]);
  const g = await gateway(t, eps);
  const r = await call(g.url, { method: "POST", body: "pay once" });
  assert.equal(r.status, 502);
  assert.match(r.body, /not retried/);
  assert.deepEqual(a.hits.methods, ["POST"]);
  assert.equal(b.hits.count, 0);

  const closed = await freePort(); // nothing listens there: the connection is refused, the app never saw it
  const eps2 = new Endpoints();
  eps2.set([
    ["gone", closed],
    ["b", b.port],
  ]);
  const g2 = await gateway(t, eps2);
  const r2 = await call(g2.url, { method: "POST", body: "pay once" });
  assert.equal(r2.status, 200);
  assert.equal(r2.body, "from b");
  assert.deepEqual(b.hits.methods, ["POST"]);
});

/** Writes raw bytes and returns everything the gateway answers until it closes the connection. */
function rawExchange(port: number, text: string, holdOpen = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let got = "";
    sock.on("data", (d: Buffer) => (got += d.toString("latin1")));
    sock.on("close", () => resolve(got));
    sock.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" ? resolve(got) : reject(e)));
    sock.setTimeout(10_000, () => sock.destroy());
    sock.write(text);
    if (!holdOpen && !text.endsWith("\r\n\r\n")) sock.end();
  });
}

test("limits: oversize headers → 431, oversize body → 413, no endpoint → 503 with Retry-After", { timeout: 30_000 }, async (t) => {
  const a = await server(t, "a", () => "ok");
  const eps = new Endpoints();
  eps.set([["a", a.port]]);
  const g = await gateway(t, eps);
  const big = await rawExchange(g.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
  assert.match(big, /^HTTP\/1\.1 431 /);
  const body = await call(g.url, { method: "POST", body: "b".repeat(2000) });
  assert.equal(body.status, 413);
  const chunked = await rawExchange(g.port, `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n${"c".repeat(2000)}\r\n0\r\n\r\n`);
  assert.match(chunked, /^HTTP\/1\.1 413 /);
  assert.equal(a.hits.count, 0);
  eps.set([]);
  const none = await call(g.url);
  assert.equal(none.status, 503);
  assert.equal(none.headers["retry-after"], "1");
});

test("a slow client gets 408 and does not hold up anyone else", { timeout: 30_000 }, async (t) => {
  const a = await server(t, "a", () => "ok");
  const eps = new Endpoints();
  eps.set([["a", a.port]]);
  const g = await gateway(t, eps);
  // Headers that never finish: the first line and one header, then silence.
  const slow = rawExchange(g.port, "GET / HTTP/1.1\r\nHost: x\r\n", true);
  for (let i = 0; i < 5; i++) assert.equal((await call(g.url)).body, "from a");
  const answer = await slow;
  assert.match(answer, /^HTTP\/1\.1 408 /);
  assert.equal((await call(g.url)).status, 200);
});

test("draining: an endpoint leaving the Service finishes its in-flight request and gets no new ones", { timeout: 30_000 }, async (t) => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  const slowSrv = createServer((req, res) => {
    if (req.url === "/healthz") return res.end("ok");
    void held.then(() => res.end("from slow"));
  });
  await new Promise<void>((r) => slowSrv.listen(0, "127.0.0.1", () => r()));
  t.after(
    () =>
      new Promise<void>((r) => {
        slowSrv.close(() => r());
        slowSrv.closeAllConnections();
      }),
  );
  const b = await server(t, "b", () => "ok");
  const eps = new Endpoints();
  eps.set([["slow", (slowSrv.address() as AddressInfo).port]]);
  const g = await gateway(t, eps, settings({ retry: { perTryTimeoutMs: 3000, deadlineMs: 5000 } }));
  const inFlight = call(g.url);
  await waitFor("request in flight", () => (g.stats().endpoints[0]?.inFlight === 1 ? true : undefined), 5000, 20);
  eps.set([["b", b.port]]);
  for (let i = 0; i < 3; i++) assert.equal((await call(g.url)).body, "from b");
  release();
  const r = await inFlight;
  assert.equal(r.status, 200);
  assert.equal(r.body, "from slow");
});

test("scale from zero: a request that finds no endpoint while a replica starts is held, then answered", { timeout: 30_000 }, async (t) => {
  const a = await server(t, "a", () => "ok");
  const eps = new Endpoints();
  const events: string[] = [];
  let asked = 0;
  const g = await gateway(t, eps, settings(), {
    onEvent: (_type, reason) => events.push(reason),
    // The runtime scales the Deployment to 1 here; its pod becomes an endpoint a moment later.
    activate: () => {
      if (asked++ === 0) setTimeout(() => eps.set([["a", a.port]]), 300);
      return true;
    },
  });
  const answers = await Promise.all([call(g.url), call(g.url), call(g.url)]);
  for (const r of answers) assert.equal(r.body, "from a");
  assert.equal(g.stats().held, 3);
  assert.deepEqual(
    events.filter((e) => e.startsWith("Requests")),
    ["RequestsHeld", "RequestsReleased"],
  );
});

test("scale from zero beyond its bounds: 503 with Retry-After when the queue is full or the wait runs out; at once when no replica is coming", { timeout: 30_000 }, async (t) => {
  const eps = new Endpoints();
  const g = await gateway(t, eps, settings({ hold: { maxQueue: 1, timeoutMs: 300 } }), { activate: () => true });
  const [first, second] = await Promise.all([call(g.url), new Promise<Answer>((r) => setTimeout(() => r(call(g.url)), 50))]);
  assert.equal(second.status, 503);
  assert.match(second.body, /1 request\(s\) already waiting/);
  assert.equal(first.status, 503);
  assert.match(first.body, /no endpoint became ready within 300 ms/);
  for (const r of [first, second]) assert.equal(r.headers["retry-after"], "1");
  const g2 = await gateway(t, eps, settings(), { activate: () => false });
  const none = await call(g2.url);
  assert.equal(none.status, 503);
  assert.match(none.body, /no healthy endpoint/);
  assert.equal(g2.stats().held, 0);
});

test("the request deadline: tries that never answer end in a clean 504 at the deadline", { timeout: 30_000 }, async (t) => {
  const silent = async () => {
    const srv = createServer((req, res) => {
      if (req.url === "/healthz") res.end("ok"); // probes pass: only requests hang
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    t.after(
      () =>
        new Promise<void>((r) => {
          srv.close(() => r());
          srv.closeAllConnections();
        }),
    );
    return (srv.address() as AddressInfo).port;
  };
  const eps = new Endpoints();
  eps.set([
    ["x", await silent()],
    ["y", await silent()],
  ]);
  const g = await gateway(t, eps, settings({ retry: { perTryTimeoutMs: 400, deadlineMs: 600 } }));
  const r = await call(g.url);
  assert.equal(r.status, 504);
  assert.match(r.body, /no answer within 600 ms/);
  assert.equal(
    g.stats().endpoints.every((e) => e.inFlight === 0),
    true,
  );
});

// What the status adds for the dashboard, on injected clocks: the gateway's recent latency window, a
// launching node's expected Ready time, the rates and blue-green view the page draws, and the load
// request's refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LatencyWindow } from "../../src/local/gateway/latency-window.js";
import { statusSnapshot } from "../../src/local/status.js";
import type { LocalRuntime } from "../../src/local/runtime.js";
import { parseLoad } from "../../src/local/control-actions.js";
import { UserError } from "../../src/errors.js";
import { CounterRates, TrafficRates, blueGreenOf, sampleOf, viewOf } from "../../src/dashboard/snapshot.js";
import type { StatusV1 } from "../../src/local/status.js";
import { SMALL, T0, harness } from "../runtime/harness.js";

test("the latency window: percentiles from its buckets (never below the truth, within 5 %), only the last seconds, failures counted", () => {
  let now = 1_000_000;
  const w = new LatencyWindow(10, () => now);
  assert.equal(w.percentiles(), null, "nothing recorded: no figures");
  // 1..1000 ms, one each: p50 = 500, p95 = 950, p99 = 990.
  for (let ms = 1; ms <= 1000; ms++) w.record(ms, ms % 100 === 0);
  const p = w.percentiles()!;
  for (const [got, want] of [
    [p.p50, 500],
    [p.p95, 950],
    [p.p99, 990],
  ] as const) {
    assert.ok(got >= want && got <= want * 1.05 + 0.1, `${got} for ${want}`);
  }
  assert.equal(w.failed, 10);
  assert.equal(w.count(), 1000);
  // Five seconds later, slow requests: both seconds count.
  now += 5000;
  for (let i = 0; i < 1000; i++) w.record(5000);
  assert.ok(w.percentiles()!.p50 >= 1000 && w.percentiles()!.p99 >= 5000);
  assert.equal(w.count(), 2000);
  // Eleven seconds after the first burst, it has left the window; the second has not.
  now += 6000;
  assert.equal(w.count(), 1000);
  assert.ok(w.percentiles()!.p50 >= 5000 && w.percentiles()!.p50 <= 5250);
  // Beyond the window, no figures; the failure counter is a counter and stays.
  now += 10_000;
  assert.equal(w.percentiles(), null);
  assert.equal(w.failed, 10);
  // A slot reused after the window holds only its new second.
  w.record(2);
  assert.equal(w.count(), 1);
  assert.throws(() => new LatencyWindow(0), /whole number of seconds/);
});

test("a launching node in the status: when it started, when it is expected Ready, why it was launched; Ready clears the expectation", async () => {
  const h = harness();
  h.node("static-1");
  const node = h.cluster.addNode(SMALL, { kind: "nodePool", pool: "burst" }, 30_000, "3 pending pod(s) fit no ready node");
  const rt = {
    clock: h.clock,
    clusters: new Map([[h.cluster.name, h.cluster]]),
    services: [],
    blueprint: { name: "test" },
    gatewayUrl: undefined,
    podSeconds: () => 0,
    nodeSeconds: () => 0,
  } as unknown as LocalRuntime;
  await h.run(10_000);
  const s = await statusSnapshot({ runtime: rt });
  const n = s.nodes.find((x) => x.name === node.name)!;
  assert.equal(n.phase, "Provisioning");
  assert.equal(n.launchedAt, T0);
  assert.equal(n.expectedReadyAt, T0 + 30_000);
  assert.equal(n.launchReason, "3 pending pod(s) fit no ready node");
  assert.equal(s.time, T0 + 10_000, "the page counts down from the status time: 20 s left");
  const view = viewOf(s);
  assert.equal(view.nodes.find((x) => x.name === node.name)!.expectedReadyAt, T0 + 30_000);
  await h.run(21_000);
  const after = (await statusSnapshot({ runtime: rt })).nodes.find((x) => x.name === node.name)!;
  assert.equal(after.phase, "Ready");
  assert.equal(after.expectedReadyAt, null);
});

test("the page's rates: failed requests and each cluster's requests per second; a missing field draws nothing", () => {
  const rates = new TrafficRates();
  const status = (time: number, gateway: unknown) => ({ time, gateway, pods: [], deployments: [], nodes: [], extra: {}, queueDepth: null }) as unknown as StatusV1;
  const gw = (failed: number, blue: number, green: number) => ({
    mode: "akspilot",
    requests: blue + green,
    failed,
    latencyMs: { p50: 2, p95: 5, p99: 9 },
    endpoints: [],
    byCluster: { blue: { requests: blue, failed: 0 }, green: { requests: green, failed } },
  });
  assert.deepEqual(rates.next(status(0, gw(0, 100, 0))), { f: 0, c: { blue: 0, green: 0 } });
  assert.deepEqual(rates.next(status(2000, gw(4, 280, 20))), { f: 2, c: { blue: 90, green: 10 } });
  const s = status(3000, gw(4, 300, 100));
  const sample = sampleOf(s, 0, [1, 0, 0, 0], rates.next(s));
  assert.deepEqual(sample.c, { blue: 20, green: 80 });
  assert.deepEqual(sample.l, [2, 5, 9]);
  assert.equal(sample.f, 0);
  // No byCluster (one cluster, or before the blue-green work): no share chart.
  assert.deepEqual(new TrafficRates().next(status(0, { mode: "kube", requests: null, endpoints: [] })), { f: null, c: null });
  const counters = new CounterRates();
  counters.next(0, { a: 10 });
  assert.deepEqual(counters.next(1000, { a: 3 }), { a: 3 }, "a counter that went down counts from zero");

  assert.equal(blueGreenOf(status(0, null)), null);
  const bg = blueGreenOf({
    ...status(0, null),
    blueGreen: {
      stage: "T3",
      phase: "canary",
      activeCluster: "blue",
      standbyCluster: "green",
      targetVersion: "1.31",
      weights: { blue: 90, green: 10, bad: "x" },
      owner: { holder: "blue", generation: 2 },
    },
  } as unknown as StatusV1);
  assert.deepEqual(bg, {
    stage: "T3",
    phase: "canary",
    activeCluster: "blue",
    standbyCluster: "green",
    targetVersion: "1.31",
    weights: { blue: 90, green: 10 },
    owner: "blue (generation 2)",
  });
  assert.deepEqual(sampleOf({ ...status(0, null), extra: { latency: { p50Ms: 120, p95Ms: 800, samples: 10, windowSeconds: 30 } } } as unknown as StatusV1).x, [120, 800]);
});

test("a load request: messages or requests, whole numbers in bounds, one of the two; each refusal names the field", () => {
  assert.deepEqual(parseLoad({ messages: 500 }), { kind: "messages", count: 500, wait: false });
  // `akspilot load` waits for the outcome; the dashboard's button does not.
  assert.deepEqual(parseLoad({ messages: 500, wait: true }), { kind: "messages", count: 500, wait: true });
  assert.deepEqual(parseLoad({ requests: 10 }), { kind: "requests", count: 10, rate: 100 });
  assert.deepEqual(parseLoad({ requests: 10, rate: 5 }), { kind: "requests", count: 10, rate: 5 });
  const refused = (body: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => parseLoad(body),
      (e: unknown) => e instanceof UserError && re.test(e.line()),
    );
  refused({}, /either "messages".*or "requests"/);
  refused({ messages: 1, requests: 1 }, /either "messages"/);
  refused({ messages: 0 }, /"messages" must be a whole number from 1 to 100000, got 0/);
  refused({ messages: 1.5 }, /"messages" must be a whole number/);
  refused({ messages: "500" }, /got "500"/);
  refused({ requests: 10, rate: 5000 }, /"rate" must be a whole number from 1 to 1000/);
  refused({ messages: "x".repeat(500) }, /got "x+…/);
  refused({ messages: 5, wait: "yes" }, /"wait" must be true or false, with "messages" only; got "yes"/);
  refused({ requests: 5, wait: true }, /"wait" must be true or false, with "messages" only/);
});

// Where the gateway's probe and retry settings come from, and the retry budget's arithmetic.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resilientWebBlueprint } from "../../src/blueprints/resilient-web.js";
import { gatewaySettingsFor } from "../../src/local/gateway/settings.js";
import { RetryBudget } from "../../src/local/gateway/retry-budget.js";
import { UserError } from "../../src/errors.js";

const app = () => structuredClone(resilientWebBlueprint().apps[0]!);

test("resilient-web: the Service's Azure LB probe annotations, then the readiness probe; intervals follow the time scale", () => {
  const s = gatewaySettingsFor(app(), 10);
  assert.equal(s.probe.path, "/healthz");
  assert.equal(s.probe.intervalMs, 500); // 5 s annotation ÷ 10
  assert.equal(s.probe.unhealthyThreshold, 2); // num-of-probe
  assert.equal(s.probe.timeoutMs, 1000); // readiness timeoutSeconds, real time
  assert.equal(s.probe.healthyThreshold, 1);
  assert.equal(s.retry.perTryTimeoutMs, 1000);
  assert.equal(s.drainTimeoutMs, 30_000); // the pod's termination grace period
});

test("AGIC ingress annotations win over the Service's; the readiness probe fills the gaps; own annotations tune retries", () => {
  const a = app();
  a.ingress = {
    className: "azure-application-gateway",
    path: "/",
    annotations: {
      "appgw.ingress.kubernetes.io/health-probe-path": "/ready",
      "appgw.ingress.kubernetes.io/health-probe-interval": "3",
      "appgw.ingress.kubernetes.io/health-probe-timeout": "2",
      "appgw.ingress.kubernetes.io/health-probe-unhealthy-threshold": "4",
      "gateway.akspilot.dev/attempts": "2",
      "gateway.akspilot.dev/per-try-timeout": "0.25",
    },
  };
  const s = gatewaySettingsFor(a, 1);
  assert.deepEqual(s.probe, { path: "/ready", intervalMs: 3000, timeoutMs: 2000, healthyThreshold: 1, unhealthyThreshold: 4 });
  assert.equal(s.retry.attempts, 2);
  assert.equal(s.retry.perTryTimeoutMs, 250);
  delete a.ingress;
  delete a.service!.annotations;
  const r = gatewaySettingsFor(a, 1);
  assert.equal(r.probe.path, "/healthz");
  assert.equal(r.probe.intervalMs, 2000); // readiness periodSeconds
  assert.equal(r.probe.unhealthyThreshold, 2); // readiness failureThreshold
});

test("a bad annotation is one clear error naming it", () => {
  for (const [key, value, what] of [
    ["appgw.ingress.kubernetes.io/health-probe-interval", "soon", /health-probe-interval must be a whole number/],
    ["appgw.ingress.kubernetes.io/health-probe-path", "healthz", /must be a path starting with "\/"/],
    ["gateway.akspilot.dev/attempts", "0", /attempts must be a whole number from 1 to 10/],
    ["gateway.akspilot.dev/request-timeout", "0.1", /request-timeout .* is shorter than one try/],
  ] as const) {
    const a = app();
    a.ingress = { className: "x", path: "/", annotations: { [key]: value } };
    assert.throws(
      () => gatewaySettingsFor(a, 1),
      (e: unknown) => e instanceof UserError && what.test(e.message),
      key,
    );
  }
});

test("retry budget: at most the share of the window's requests, with a floor; the window slides", () => {
  let now = 0;
  const b = new RetryBudget(20, 2, 10_000, () => now);
  for (let i = 0; i < 20; i++) b.requestStarted();
  // 20 % of 20 requests = 4 retries.
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => b.tryRetry()),
    [true, true, true, true, false],
  );
  assert.equal(b.refused, 1);
  now = 11_000; // the old second has left the window: only the floor is left
  assert.deepEqual([b.tryRetry(), b.tryRetry(), b.tryRetry()], [true, true, false]);
  const none = new RetryBudget(0, 0, 10_000, () => now);
  none.requestStarted();
  assert.equal(none.tryRetry(), false);
});

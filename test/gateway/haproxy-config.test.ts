// The haproxy engine's configuration is generated from the app's gateway settings: each option lands on
// the haproxy keyword that does the same job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resilientWebBlueprint } from "../../src/blueprints/resilient-web.js";
import { gatewaySettingsFor } from "../../src/local/gateway/settings.js";
import { addServerCommand, haproxyConfig } from "../../src/local/gateway/haproxy-config.js";

const app = () => structuredClone(resilientWebBlueprint().apps[0]!);
const place = { host: "127.0.0.1", port: 18080, socket: "/run/x/api.sock", holdPort: 18081, slots: 8 };

/** The config's lines, trimmed, so that each assertion names one whole line. */
function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trim());
}

test("resilient-web: probe, timeouts, retries and limits map onto haproxy's keywords", () => {
  const a = app();
  a.service!.annotations = { ...a.service!.annotations, "gateway.akspilot.dev/attempts": "4", "gateway.akspilot.dev/max-body-bytes": "2048" };
  const s = gatewaySettingsFor(a, 10);
  const cfg = lines(haproxyConfig(s, place));
  // Loopback bind only, the runtime API on the run's socket, one thread.
  assert.ok(cfg.includes("bind 127.0.0.1:18080"));
  assert.ok(cfg.includes("stats socket /run/x/api.sock mode 600 level admin"));
  assert.ok(cfg.includes("nbthread 1"));
  // Active health check: the LB probe's path; interval, thresholds on each server (below).
  assert.ok(cfg.includes("option httpchk"));
  assert.ok(cfg.includes("http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost"));
  assert.ok(cfg.includes("timeout check 1000ms")); // readiness timeoutSeconds 1
  // Retries: attempts − 1, on another server, for failures a retry can fix; never L7 retries of POST.
  assert.ok(cfg.includes("retries 3"));
  assert.ok(cfg.includes("option redispatch 1"));
  assert.ok(cfg.includes("retry-on conn-failure empty-response response-timeout 0rtt-rejected 502 503 504"));
  assert.ok(cfg.includes("http-request disable-l7-retry unless { method GET HEAD OPTIONS }"));
  assert.ok(cfg.includes(`timeout server ${s.retry.perTryTimeoutMs}ms`));
  assert.ok(cfg.includes(`timeout connect ${s.connectTimeoutMs}ms`));
  // Limits.
  assert.ok(cfg.includes("http-request deny deny_status 413 if { req.hdr_val(content-length) gt 2048 }"));
  assert.ok(cfg.includes(`timeout http-request ${s.limits.headersTimeoutMs}ms`));
  assert.ok(cfg.includes(`timeout http-keep-alive ${s.limits.idleTimeoutMs}ms`));
  assert.ok(cfg.includes(`tune.bufsize ${s.limits.maxHeaderBytes + 1024}`));
  // Forwarded headers, keep-alive to the pods.
  assert.ok(cfg.includes("option forwardfor"));
  assert.ok(cfg.includes("http-request set-header X-Forwarded-Proto http"));
  assert.ok(cfg.includes("http-request set-header X-Forwarded-Host %[req.hdr(host)] if { req.hdr(host) -m found }"));
  assert.ok(cfg.includes("http-reuse always"));
  // Scale from zero: the Node gateway that holds requests is the backup server, and the only static one.
  assert.ok(cfg.includes("server hold 127.0.0.1:18081 backup"));
  assert.equal(cfg.filter((l) => l.startsWith("server ")).length, 1);
  // Pod endpoints take declared slots (kept-alive connections), in maintenance until a pod is given one.
  assert.ok(cfg.includes(`server-template slot 1-8 127.0.0.1:1 disabled check inter 500ms rise 1 fall 2 observe layer7 error-limit 1 on-error mark-down`));
});

test("each pod endpoint is added with the probe's interval and thresholds and passive outlier detection", () => {
  const s = gatewaySettingsFor(app(), 10);
  assert.equal(
    addServerCommand("helloworld-abc_40001", 40001, s),
    "add server app/helloworld-abc_40001 127.0.0.1:40001 check inter 500ms rise 1 fall 2 observe layer7 error-limit 1 on-error mark-down",
  );
});

test("without a hold gateway or slots there is no server at all; a large header limit grows the buffer", () => {
  const s = gatewaySettingsFor(app(), 1);
  s.limits.maxHeaderBytes = 64 * 1024;
  const cfg = lines(haproxyConfig(s, { ...place, holdPort: undefined, slots: 0 }));
  assert.ok(!cfg.some((l) => l.startsWith("server")));
  assert.ok(cfg.includes(`tune.bufsize ${64 * 1024 + 1024}`));
  assert.ok(cfg.includes("timeout check 1000ms"));
});

import type { GatewaySettings } from "./settings.js";

/** Where the haproxy data plane listens and is steered from. */
export interface HaproxyPlace {
  host: string;
  port: number;
  /** The runtime API's unix socket (admin level, owner only). */
  socket: string;
  /** The Node gateway that holds requests while no pod is ready (scale from zero); haproxy's backup server. */
  holdPort?: number;
  /** Server slots declared up front for the pod endpoints (see SLOT_PREFIX). */
  slots: number;
}

/**
 * Pod endpoints take pre-declared server slots (`server-template`), given an address and made ready through
 * the runtime API: haproxy 2.6 keeps no idle connections for servers added at run time (`add server`), so
 * every request through one would open a new connection to the pod; a declared slot reuses them. Past the
 * slots, endpoints are added as dynamic servers (correct, only slower).
 */
export const SLOT_PREFIX = "slot";

/** haproxy's backend and the frontend's name, used by the runtime API commands too. */
export const HAPROXY_BACKEND = "app";

/** Methods safe to send twice: only these are retried once they may have reached the app. */
const IDEMPOTENT_METHODS = "GET HEAD OPTIONS";

/**
 * The per-server keywords of every pod endpoint, static or added through the runtime API (dynamic servers
 * inherit no `default-server` line, so the same text goes to both): active HTTP health checks with the
 * probe's interval and thresholds, and passive outlier detection — the first failed or 5xx answer marks the
 * endpoint down at once, the health check brings it back after `rise` passes (the back-off).
 */
export function haproxyServerOptions(s: GatewaySettings): string {
  const p = s.probe;
  return ["check", `inter ${ms(p.intervalMs)}`, `rise ${p.healthyThreshold}`, `fall ${p.unhealthyThreshold}`, "observe layer7", "error-limit 1", "on-error mark-down"].join(" ");
}

/** Whole milliseconds, at least 1 (haproxy refuses 0 for most of these). */
function ms(x: number): string {
  return `${Math.max(1, Math.round(x))}ms`;
}

/**
 * The haproxy.cfg of one app's gateway, from its gateway settings: akspilot stays the control plane (the
 * endpoints come and go through the runtime API), haproxy is the data plane. Pure: the same settings give
 * the same text, which the unit test reads.
 *
 * What maps to what: the probe → `option httpchk` + `inter/rise/fall` + `timeout check`; outlier detection
 * → `observe layer7`, `error-limit 1`, `on-error mark-down`; the retry policy → `retries` (attempts − 1) on
 * another server (`option redispatch 1`) for the failures a retry can fix, with response-based retries
 * disabled for non-idempotent methods (a connect failure is retried whatever the method: it never reached
 * the app); the per-try timeout → `timeout server`; limits → `tune.bufsize` (headers), a 413 rule on
 * Content-Length, `timeout http-request` (408), `timeout http-keep-alive` and `timeout client`.
 */
export function haproxyConfig(s: GatewaySettings, at: HaproxyPlace): string {
  // Request headers must fit in one buffer less the rewrite reserve (tune.maxrewrite, 1024 by default).
  const bufsize = Math.max(16_384, s.limits.maxHeaderBytes + 1024);
  const lines = [
    "global",
    // One thread: the pods and the client share a small machine; more threads only contend.
    "  nbthread 1",
    "  maxconn 4096",
    `  tune.bufsize ${bufsize}`,
    `  stats socket ${at.socket} mode 600 level admin`,
    "",
    "defaults",
    "  mode http",
    "  option http-keep-alive",
    "  option forwardfor",
    // Keep-alive pools to the endpoints, shared by every client connection.
    "  http-reuse always",
    `  timeout connect ${ms(s.connectTimeoutMs)}`,
    `  timeout http-request ${ms(s.limits.headersTimeoutMs)}`,
    `  timeout http-keep-alive ${ms(s.limits.idleTimeoutMs)}`,
    `  timeout client ${ms(s.limits.requestTimeoutMs)}`,
    `  timeout server ${ms(s.retry.perTryTimeoutMs)}`,
    `  timeout check ${ms(s.probe.timeoutMs)}`,
    `  timeout queue ${ms(s.connectTimeoutMs)}`,
    `  retries ${Math.max(0, s.retry.attempts - 1)}`,
    "  retry-on conn-failure empty-response response-timeout 0rtt-rejected 502 503 504",
    "  option redispatch 1",
    "",
    "frontend gateway",
    `  bind ${at.host}:${at.port}`,
    "  http-request set-header X-Forwarded-Proto http",
    "  http-request set-header X-Forwarded-Host %[req.hdr(host)] if { req.hdr(host) -m found }",
    `  http-request deny deny_status 413 if { req.hdr_val(content-length) gt ${s.limits.maxBodyBytes} }`,
    `  http-request disable-l7-retry unless { method ${IDEMPOTENT_METHODS} }`,
    // Hop-by-hop (RFC 9110 §7.6.1): the pod's keep-alive terms are for haproxy's connection, not the client's.
    "  http-response del-header Keep-Alive",
    `  default_backend ${HAPROXY_BACKEND}`,
    "",
    `backend ${HAPROXY_BACKEND}`,
    // Least in flight first: an endpoint that stops answering (a frozen VM) keeps its stuck requests and so
    // gets no new ones, and a retry goes to an endpoint that is answering — before any check has failed.
    "  balance leastconn",
    "  option httpchk",
    `  http-check send meth GET uri ${s.probe.path} ver HTTP/1.1 hdr Host localhost`,
    "  http-check expect status 200-399",
  ];
  // Slots start in maintenance on a placeholder address: no traffic, no check, until a pod takes one.
  if (at.slots > 0) lines.push(`  server-template ${SLOT_PREFIX} 1-${at.slots} 127.0.0.1:1 disabled ${haproxyServerOptions(s)}`);
  if (at.holdPort !== undefined) {
    // No pod ready: requests go to the Node gateway, which holds them while a replica starts.
    lines.push(`  server hold 127.0.0.1:${at.holdPort} backup`);
  }
  return `${lines.join("\n")}\n`;
}

/** The runtime API command that adds a pod endpoint (in maintenance: it is made ready once its check is on). */
export function addServerCommand(name: string, port: number, s: GatewaySettings): string {
  return `add server ${HAPROXY_BACKEND}/${name} 127.0.0.1:${port} ${haproxyServerOptions(s)}`;
}

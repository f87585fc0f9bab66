import type { AppSpec } from "../../blueprints/types.js";
import { UserError } from "../../errors.js";
import { clip } from "../../util/text.js";

/** How the gateway checks, ejects, retries and bounds. Times in real milliseconds. */
export interface GatewaySettings {
  probe: {
    path: string;
    intervalMs: number;
    timeoutMs: number;
    /** Consecutive passes before an unhealthy endpoint takes traffic again. */
    healthyThreshold: number;
    /** Consecutive failures before a healthy endpoint is taken out. */
    unhealthyThreshold: number;
  };
  outlier: {
    /** First ejection after a connect failure, reset, timeout or 5xx; doubles per repeat, up to the max. */
    baseEjectionMs: number;
    maxEjectionMs: number;
  };
  retry: {
    /** Tries per request, the first included. */
    attempts: number;
    /** One try waits this long for the response headers before it counts as failed. */
    perTryTimeoutMs: number;
    /** The whole request, every try included; past it the client gets 504. */
    deadlineMs: number;
    /** Retries over the last 10 s stay under this share of the requests over the same 10 s… */
    budgetPercent: number;
    /** …but this many are always allowed, so a quiet gateway can still retry. */
    minRetries: number;
  };
  limits: {
    maxHeaderBytes: number;
    maxBodyBytes: number;
    /** Time to receive the request headers (408 after). */
    headersTimeoutMs: number;
    /** Time to receive the whole request (408 after). */
    requestTimeoutMs: number;
    /** A kept-alive client connection with nothing to do is closed after this. */
    idleTimeoutMs: number;
  };
  /** Scale from zero: requests that find no endpoint while a replica starts wait, this many for this long. */
  hold: { maxQueue: number; timeoutMs: number };
  connectTimeoutMs: number;
  /** A leaving endpoint finishes its in-flight requests within this, then its connections are closed. */
  drainTimeoutMs: number;
}

export const DEFAULT_GATEWAY_SETTINGS: GatewaySettings = {
  probe: { path: "/", intervalMs: 5000, timeoutMs: 1000, healthyThreshold: 1, unhealthyThreshold: 3 },
  outlier: { baseEjectionMs: 1000, maxEjectionMs: 30_000 },
  retry: { attempts: 3, perTryTimeoutMs: 1000, deadlineMs: 5000, budgetPercent: 20, minRetries: 10 },
  limits: { maxHeaderBytes: 16 * 1024, maxBodyBytes: 1024 * 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, idleTimeoutMs: 60_000 },
  hold: { maxQueue: 100, timeoutMs: 10_000 },
  connectTimeoutMs: 500,
  drainTimeoutMs: 30_000,
};

/** AGIC's ingress annotations (Application Gateway health probe), then the Azure Load Balancer's Service ones. */
const AGIC = "appgw.ingress.kubernetes.io/";
const AZLB = "service.beta.kubernetes.io/azure-load-balancer-health-probe-";
/** What only this gateway has: its retry policy. */
const OWN = "gateway.akspilot.dev/";

function num(annotations: Record<string, string>, key: string, min: number, max: number, integer: boolean): number | undefined {
  const raw = annotations[key];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UserError(`annotation ${key} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}, got "${clip(raw)}"`, "fix the blueprint's annotation");
  }
  return n;
}

function path(annotations: Record<string, string>, key: string): string | undefined {
  const raw = annotations[key];
  if (raw === undefined) return undefined;
  if (!/^\/[\x21-\x7e]*$/.test(raw)) throw new UserError(`annotation ${key} must be a path starting with "/", got "${clip(raw)}"`, "fix the blueprint's annotation");
  return raw;
}

/**
 * The gateway's settings for an app: its ingress annotations where present (as AGIC turns them into an
 * Application Gateway probe), else its Service's Azure Load Balancer probe annotations, else its readiness
 * probe (AGIC's own fallback: interval = periodSeconds, timeout = timeoutSeconds, unhealthy threshold =
 * failureThreshold), else the defaults. Probe intervals are cluster time (divided by the time scale),
 * timeouts stay real, as for the kubelet's probes. A bad annotation is refused before anything starts.
 */
export function gatewaySettingsFor(app: AppSpec, timeScale: number): GatewaySettings {
  const ing = app.ingress?.annotations ?? {};
  const svc = app.service?.annotations ?? {};
  const own = { ...svc, ...ing };
  const r = app.readiness;
  const d = DEFAULT_GATEWAY_SETTINGS;
  const intervalS = num(ing, `${AGIC}health-probe-interval`, 1, 86_400, true) ?? num(svc, `${AZLB}interval`, 1, 86_400, true) ?? r?.periodSeconds ?? d.probe.intervalMs / 1000;
  const timeoutS = num(ing, `${AGIC}health-probe-timeout`, 1, 86_400, true) ?? r?.timeoutSeconds ?? d.probe.timeoutMs / 1000;
  const perTryS = num(own, `${OWN}per-try-timeout`, 0.01, 3600, false);
  const settings: GatewaySettings = {
    probe: {
      path: path(ing, `${AGIC}health-probe-path`) ?? path(svc, `${AZLB}request-path`) ?? r?.path ?? d.probe.path,
      intervalMs: (intervalS * 1000) / timeScale,
      timeoutMs: timeoutS * 1000,
      healthyThreshold: num(own, `${OWN}healthy-threshold`, 1, 20, true) ?? r?.successThreshold ?? d.probe.healthyThreshold,
      unhealthyThreshold:
        num(ing, `${AGIC}health-probe-unhealthy-threshold`, 1, 20, true) ??
        num(svc, `${AZLB}num-of-probe`, 1, 20, true) ??
        (r ? Math.min(r.failureThreshold, 20) : d.probe.unhealthyThreshold),
    },
    outlier: { ...d.outlier },
    retry: {
      ...d.retry,
      attempts: num(own, `${OWN}attempts`, 1, 10, true) ?? d.retry.attempts,
      // A try waits as long as a probe would: an endpoint that cannot answer a probe in time is not answering.
      perTryTimeoutMs: perTryS !== undefined ? perTryS * 1000 : timeoutS * 1000,
      deadlineMs: (num(own, `${OWN}request-timeout`, 0.01, 3600, false) ?? d.retry.deadlineMs / 1000) * 1000,
      budgetPercent: num(own, `${OWN}retry-budget-percent`, 0, 100, false) ?? d.retry.budgetPercent,
    },
    limits: { ...d.limits, maxBodyBytes: num(own, `${OWN}max-body-bytes`, 0, 1024 ** 3, true) ?? d.limits.maxBodyBytes },
    hold: {
      maxQueue: num(own, `${OWN}hold-queue`, 0, 100_000, true) ?? d.hold.maxQueue,
      timeoutMs: (num(own, `${OWN}hold-timeout`, 0.01, 3600, false) ?? d.hold.timeoutMs / 1000) * 1000,
    },
    connectTimeoutMs: d.connectTimeoutMs,
    drainTimeoutMs: app.terminationGracePeriodSeconds * 1000,
  };
  if (settings.retry.deadlineMs < settings.retry.perTryTimeoutMs) {
    throw new UserError(
      `${OWN}request-timeout (${settings.retry.deadlineMs / 1000} s) is shorter than one try (${settings.retry.perTryTimeoutMs / 1000} s)`,
      "raise the request timeout or lower the per-try timeout",
    );
  }
  return settings;
}

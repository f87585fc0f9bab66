import type { AppSpec } from "../../blueprints/types.js";
import type { Cluster } from "../cluster/cluster.js";
import type { Endpoints } from "../cluster/service.js";
import { startGateway, type Gateway } from "./gateway.js";
import { gatewaySettingsFor } from "./settings.js";
import { startHttpScaler } from "./http-scaler.js";
import { checkHttpScaling } from "../../scaling/http.js";
import { LatencyWindow } from "./latency-window.js";
import { findHaproxy, startHaproxyGateway } from "./haproxy.js";
import { tmpdir } from "node:os";

export type { Gateway, GatewayStats } from "./gateway.js";
export type { LatencyPercentiles } from "./latency-window.js";

/** Each app gateway's recent request durations and failures (read by the status). */
const windows = new WeakMap<Gateway, LatencyWindow>();

/** The recent latency window of a gateway started by startAppGateway or given one by watchLatency. */
export function gatewayWindow(g: Gateway): LatencyWindow | undefined {
  return windows.get(g);
}

/** A latency window for a gateway started elsewhere (an ingress in front of several clusters): pass `observe` to it, then `attach` the gateway. */
export function watchLatency(): { observe: (ms: number, failed: boolean) => void; attach(g: Gateway): void } {
  const window = new LatencyWindow(10);
  return { observe: (ms, failed) => window.record(ms, failed), attach: (g) => void windows.set(g, window) };
}

/**
 * What answers at `gatewayUrl`: `kube` is the LoadBalancer Service's L4 proxy (AKS's default path: no
 * health checks of its own, no retries), `akspilot` is the health-checked, retrying HTTP gateway.
 */
export type GatewayMode = "kube" | "akspilot";
export const GATEWAY_MODES: readonly GatewayMode[] = ["kube", "akspilot"];

/**
 * What carries the `akspilot` gateway's requests: `node` is the built-in Node.js gateway; `haproxy` is an
 * haproxy child process that akspilot configures and steers (its control plane), for less overhead per request.
 */
export type GatewayEngine = "node" | "haproxy";
export const GATEWAY_ENGINES: readonly GatewayEngine[] = ["node", "haproxy"];

/** Refuses bad gateway annotations, and a bad HTTP scale rule, of an app before any process starts. */
export function checkGatewaySettings(app: AppSpec, timeScale: number): void {
  gatewaySettingsFor(app, timeScale);
  if (app.httpScaling) checkHttpScaling(app.name, app.httpScaling);
}

/** The HTTP gateway for an app's LoadBalancer Service; its decisions are the cluster's events. */
export async function startAppGateway(
  app: AppSpec,
  endpoints: Endpoints,
  cluster: Cluster,
  o: { timeScale: number; host?: string; port?: number; engine?: GatewayEngine; stateDir?: string },
): Promise<Gateway> {
  const window = new LatencyWindow(10);
  const gateway =
    o.engine === "haproxy"
      ? await startHaproxyFor(app, endpoints, cluster, { ...o, stateDir: o.stateDir ?? tmpdir() }, window)
      : await startGatewayFor(app, endpoints, cluster, o, window);
  if (!app.httpScaling) {
    windows.set(gateway, window);
    return gateway;
  }
  // The app's HTTP scale rule runs next to its gateway, and stops with it.
  const scaler = startHttpScaler({ app: app.name, spec: app.httpScaling, cluster, timeScale: o.timeScale, stats: () => gateway.stats() });
  const wrapped: Gateway = {
    ...gateway,
    port: gateway.port,
    url: gateway.url,
    stats: () => gateway.stats(),
    close: () => {
      scaler.stop();
      return gateway.close();
    },
  };
  windows.set(wrapped, window);
  return wrapped;
}

/**
 * haproxy in front of the pods, with the Node gateway behind it as its backup server: when no pod is ready
 * (scale from zero), haproxy sends requests there, and the Node gateway holds them while a replica starts.
 * The latency window is the Node gateway's alone (haproxy's per-request times are not read back).
 */
async function startHaproxyFor(
  app: AppSpec,
  endpoints: Endpoints,
  cluster: Cluster,
  o: { timeScale: number; host?: string; port?: number; stateDir: string },
  window: LatencyWindow,
): Promise<Gateway> {
  const settings = gatewaySettingsFor(app, o.timeScale);
  findHaproxy(); // before the hold gateway starts: one clear error if the program is missing
  const hold = await startGatewayFor(app, endpoints, cluster, { timeScale: o.timeScale }, window);
  try {
    const g = await startHaproxyGateway(endpoints, {
      settings,
      stateDir: o.stateDir,
      host: o.host,
      port: o.port,
      hold,
      onEvent: (type, reason, message) => cluster.event(type, `gateway/${app.name}`, reason, message),
    });
    return {
      port: g.port,
      url: g.url,
      stats: () => g.stats(),
      close: async () => {
        await g.close();
        await hold.close();
      },
    };
  } catch (e) {
    await hold.close();
    throw e;
  }
}

function startGatewayFor(app: AppSpec, endpoints: Endpoints, cluster: Cluster, o: { timeScale: number; host?: string; port?: number }, window: LatencyWindow): Promise<Gateway> {
  return startGateway(endpoints, {
    observe: (ms, failed) => window.record(ms, failed),
    settings: gatewaySettingsFor(app, o.timeScale),
    host: o.host,
    port: o.port,
    onEvent: (type, reason, message) => cluster.event(type, `gateway/${app.name}`, reason, message),
    // Scale from zero: a Deployment at 0 gets its first replica; one with replicas has pods on their way.
    activate: () => {
      const d = cluster.deployments.get(app.name);
      if (!d) return false;
      if (d.replicas === 0) cluster.setReplicas(app.name, 1, "gateway", "a request is waiting at the gateway (scale from zero)");
      return true;
    },
  });
}

import type { AppSpec } from "../../blueprints/types.js";
import type { Cluster } from "../cluster/cluster.js";
import type { Endpoints } from "../cluster/service.js";
import { startGateway, type Gateway } from "./gateway.js";
import { gatewaySettingsFor } from "./settings.js";
import { startHttpScaler } from "./http-scaler.js";
import { checkHttpScaling } from "../../scaling/http.js";

export type { Gateway, GatewayStats } from "./gateway.js";

/**
 * What answers at `gatewayUrl`: `kube` is the LoadBalancer Service's L4 proxy (AKS's default path: no
 * health checks of its own, no retries), `akspilot` is the health-checked, retrying HTTP gateway.
 */
export type GatewayMode = "kube" | "akspilot";
export const GATEWAY_MODES: readonly GatewayMode[] = ["kube", "akspilot"];

/** Refuses bad gateway annotations, and a bad HTTP scale rule, of an app before any process starts. */
export function checkGatewaySettings(app: AppSpec, timeScale: number): void {
  gatewaySettingsFor(app, timeScale);
  if (app.httpScaling) checkHttpScaling(app.name, app.httpScaling);
}

/** The HTTP gateway for an app's LoadBalancer Service; its decisions are the cluster's events. */
export async function startAppGateway(app: AppSpec, endpoints: Endpoints, cluster: Cluster, o: { timeScale: number; host?: string; port?: number }): Promise<Gateway> {
  const gateway = await startGatewayFor(app, endpoints, cluster, o);
  if (!app.httpScaling) return gateway;
  // The app's HTTP scale rule runs next to its gateway, and stops with it.
  const scaler = startHttpScaler({ app: app.name, spec: app.httpScaling, cluster, timeScale: o.timeScale, stats: () => gateway.stats() });
  return { ...gateway, port: gateway.port, url: gateway.url, stats: () => gateway.stats(), close: () => { scaler.stop(); return gateway.close(); } };
}

function startGatewayFor(app: AppSpec, endpoints: Endpoints, cluster: Cluster, o: { timeScale: number; host?: string; port?: number }): Promise<Gateway> {
  return startGateway(endpoints, {
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

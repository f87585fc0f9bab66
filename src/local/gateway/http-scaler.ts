import type { HttpScalingSpec } from "../../blueprints/types.js";
import { httpScalingDecision, initialHttpScalingState } from "../../scaling/http.js";
import type { Cluster } from "../cluster/cluster.js";
import type { GatewayStats } from "./gateway.js";

/**
 * The KEDA HTTP add-on's role for one app: every second of cluster time it reads the gateway's pending
 * requests (in flight to the app, or held for a replica) and the requests since the last look, runs the
 * HTTP scale rule (src/scaling/http.ts) and sets the Deployment's replicas, with the rule's reason as the
 * event. Scale from zero on a request is the gateway's own (it asks for a replica and holds the request).
 */
export function startHttpScaler(o: { app: string; spec: HttpScalingSpec; cluster: Cluster; timeScale: number; stats: () => GatewayStats }): { stop(): void } {
  const clusterNow = (() => {
    const t0 = Date.now();
    return () => ((Date.now() - t0) / 1000) * o.timeScale;
  })();
  const replicasNow = () => o.cluster.deployments.get(o.app)?.replicas ?? 0;
  let state = initialHttpScalingState(replicasNow(), clusterNow());
  let seen = o.stats().requests;
  const tick = () => {
    const st = o.stats();
    const pending = st.waiting + st.endpoints.reduce((a, e) => a + e.inFlight, 0);
    const arrived = st.requests - seen;
    seen = st.requests;
    const current = replicasNow();
    const d = httpScalingDecision(o.spec, state, { now: clusterNow(), pending, arrived, replicas: current });
    state = d.state;
    if (d.replicas !== current && o.cluster.deployments.has(o.app)) o.cluster.setReplicas(o.app, d.replicas, "http-scaling", d.reason.replace(/^http scaling: /, ""));
  };
  const timer = setInterval(tick, Math.max(10, 1000 / o.timeScale));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

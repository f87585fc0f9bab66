import type { AppSpec, Blueprint } from "../../blueprints/types.js";
import type { BlueprintDriver } from "../drivers/driver.js";
import type { AppOverrides, LocalRuntime } from "../runtime.js";

export interface WebDriverOptions {
  blueprint: Blueprint;
  /** Scripted: stop once every Deployment has all its replicas ready, and report. */
  exitWhenReady: boolean;
  readyTimeoutSeconds: number;
}

export interface WebReport {
  blueprint: string;
  ready: boolean;
  /** Start to every replica of every Deployment Ready, seconds. */
  readySeconds: number;
  gatewayUrl: string | null;
  pods: number;
  nodes: number;
  podSeconds: number;
  nodeSeconds: number;
}

/** Web blueprints need nothing beyond Kubernetes: the driver watches readiness and shows the gateway. */
export class WebDriver implements BlueprintDriver<WebReport> {
  private readonly t0 = performance.now();
  private readySeconds?: number;
  private gatewayUrl?: string;

  constructor(private readonly o: WebDriverOptions) {}

  async prepare(): Promise<void> {}

  app(_app: AppSpec): AppOverrides | "driver" {
    return {};
  }

  async run(rt: LocalRuntime, ctx: { signal: AbortSignal; status(line: string): void }): Promise<void> {
    this.gatewayUrl = rt.gatewayUrl;
    while (!ctx.signal.aborted) {
      const clusters = [...rt.clusters.values()];
      const deployments = clusters.flatMap((c) => [...c.deployments.values()].map((d) => ({ c, d })));
      const ready = deployments.reduce((a, { c, d }) => a + c.podsOf(d.name).filter((p) => p.phase === "Running" && p.ready).length, 0);
      const desired = deployments.reduce((a, { d }) => a + d.replicas, 0);
      const nodes = clusters.flatMap((c) => c.liveNodes());
      if (ready >= desired && desired > 0) this.readySeconds ??= (performance.now() - this.t0) / 1000;
      ctx.status(
        `${rt.gatewayUrl ? `gateway ${rt.gatewayUrl} (${rt.gatewayMode}) | ` : ""}pods ready ${ready}/${desired} | nodes ${nodes.filter((n) => n.phase === "Ready").length}/${nodes.length} Ready`,
      );
      if (this.o.exitWhenReady && this.readySeconds !== undefined) break;
      if (this.o.exitWhenReady && (performance.now() - this.t0) / 1000 > this.o.readyTimeoutSeconds) {
        ctx.status(`not ready after ${this.o.readyTimeoutSeconds} s; stopping`);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async report(rt: LocalRuntime): Promise<WebReport> {
    return {
      blueprint: this.o.blueprint.name,
      ready: this.readySeconds !== undefined,
      readySeconds: Math.round((this.readySeconds ?? (performance.now() - this.t0) / 1000) * 1000) / 1000,
      gatewayUrl: this.gatewayUrl ?? null,
      pods: [...rt.clusters.values()].reduce((a, c) => a + [...c.deployments.values()].reduce((b, d) => b + d.replicas, 0), 0),
      nodes: [...rt.clusters.values()].reduce((a, c) => a + c.liveNodes().length, 0),
      podSeconds: Math.round(rt.podSeconds()),
      nodeSeconds: Math.round(rt.nodeSeconds()),
    };
  }

  async stop(): Promise<void> {}
}

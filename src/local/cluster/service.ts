import type { Cluster } from "./cluster.js";

/** A Service as the local cluster serves it: a selector, a port, and the pods' port it forwards to. */
export interface ServiceSpec {
  name: string;
  type: "ClusterIP" | "LoadBalancer";
  selector: Record<string, string>;
  /** The Service's port in the cluster (80 for the seed's web app). */
  port: number;
}

export interface Endpoint {
  pod: string;
  node: string;
  /** The pod's loopback port (its "IP:targetPort"). */
  port: number;
  ready: boolean;
  terminating: boolean;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * The endpoints controller for one Service: the pods its selector picks, bound to a node with a port;
 * ready ones serve. A pod leaves the ready set only when the cluster says so (readiness probe failed,
 * terminating, or its node marked NotReady) — a frozen pod on a switched-off VM stays in until then.
 * Every change of the ready set is an event.
 */
export class Endpoints {
  private current: Endpoint[] = [];
  private readyKey = "";
  private readonly off: () => void;
  private readonly listeners = new Set<(eps: Endpoint[]) => void>();

  constructor(
    private readonly cluster: Cluster,
    readonly spec: ServiceSpec,
  ) {
    this.off = cluster.onChange(() => queueMicrotask(() => this.sync()));
    this.sync();
  }

  list(): Endpoint[] {
    return this.current;
  }

  ready(): Endpoint[] {
    return this.current.filter((e) => e.ready);
  }

  onUpdate(fn: (eps: Endpoint[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  sync(): void {
    const eps: Endpoint[] = [];
    for (const p of this.cluster.pods.values()) {
      if (!p.bound || p.port === undefined || !selects(this.spec.selector, p.template.labels)) continue;
      eps.push({ pod: p.name, node: p.nodeName!, port: p.port, ready: p.ready && p.phase === "Running", terminating: p.phase === "Terminating" });
    }
    eps.sort((a, b) => a.pod.localeCompare(b.pod));
    const before = new Set(this.ready().map((e) => e.pod));
    this.current = eps;
    const key = this.ready()
      .map((e) => `${e.pod}:${e.port}`)
      .join(",");
    if (key === this.readyKey) return;
    this.readyKey = key;
    const now = new Set(this.ready().map((e) => e.pod));
    const added = [...now].filter((p) => !before.has(p));
    const removed = [...before].filter((p) => !now.has(p));
    this.cluster.event(
      "Normal",
      `service/${this.spec.name}`,
      "EndpointsUpdated",
      `${now.size} ready endpoint(s)${added.length ? `; added ${added.join(", ")}` : ""}${removed.length ? `; removed ${removed.join(", ")}` : ""}`,
    );
    for (const l of this.listeners) l(this.current);
  }

  close(): void {
    this.off();
    this.listeners.clear();
  }
}

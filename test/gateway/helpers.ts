import type { EndpointSource } from "../../src/local/gateway/upstreams.js";

export interface AfterHost {
  after: (fn: () => void | Promise<void>) => void;
}

/** Endpoints as the endpoints controller would publish them (the gateway's only input from the cluster). */
export class Endpoints implements EndpointSource {
  private eps: { pod: string; node: string; port: number; ready: boolean; terminating: boolean }[] = [];
  private readonly fns = new Set<() => void>();
  list() {
    return this.eps;
  }
  onUpdate(fn: () => void) {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }
  /** Publishes these pods as ready; the ones named in `terminating` as leaving. */
  set(ports: [string, number][], terminating: string[] = []) {
    this.eps = ports.map(([pod, port]) => ({ pod, node: "n", port, ready: true, terminating: terminating.includes(pod) }));
    for (const f of this.fns) f();
  }
}

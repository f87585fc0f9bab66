import { realClock, type Clock, type Timer } from "../cluster/clock.js";

/**
 * Cluster time: seconds since start, running `timeScale` times faster than the wall clock. Timers go
 * through a base Clock (the real one in a run, a FakeClock in tests), so the autoscaler and the node
 * provisioner can be driven deterministically, like the cluster's own controllers.
 */
export class ClusterClock {
  private readonly t0: number;
  constructor(
    readonly timeScale: number,
    readonly base: Clock = realClock,
  ) {
    this.t0 = base.now();
  }

  now(): number {
    return ((this.base.now() - this.t0) / 1000) * this.timeScale;
  }

  /** Wall-clock milliseconds for a span of cluster seconds. */
  ms(clusterSeconds: number): number {
    return (clusterSeconds * 1000) / this.timeScale;
  }

  /** Base-clock milliseconds (epoch ms in a run). */
  wallNow(): number {
    return this.base.now();
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.base.setInterval(fn, ms);
  }

  clearInterval(t: Timer): void {
    this.base.clearInterval(t);
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.base.setTimeout(fn, ms);
  }
}

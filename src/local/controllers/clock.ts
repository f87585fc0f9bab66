/** Cluster time: seconds since start, running `timeScale` times faster than the wall clock. */
export class ClusterClock {
  private readonly t0 = Date.now();
  constructor(readonly timeScale: number) {}

  now(): number {
    return ((Date.now() - this.t0) / 1000) * this.timeScale;
  }

  /** Wall-clock milliseconds for a span of cluster seconds. */
  ms(clusterSeconds: number): number {
    return (clusterSeconds * 1000) / this.timeScale;
  }
}

/**
 * The kubelet's container restart backoff (CrashLoopBackOff): 10 s, doubling, capped at 300 s, and reset
 * once a container has run for 10 minutes (kubelet backOffPeriod / MaxContainerBackOff). Times are
 * divided by the run's time scale like every other cluster timing.
 */
export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
  /** A container that ran this long before exiting starts the backoff over. */
  resetAfterMs: number;
}

export function kubeletBackoff(timeScale: number): BackoffSettings {
  return { baseMs: 10_000 / timeScale, maxMs: 300_000 / timeScale, resetAfterMs: 600_000 / timeScale };
}

/** Delay before the restart that follows the `streak`-th consecutive crash (1 = first crash). */
export function crashLoopDelayMs(streak: number, b: BackoffSettings): number {
  return Math.min(b.baseMs * 2 ** Math.max(0, streak - 1), b.maxMs);
}

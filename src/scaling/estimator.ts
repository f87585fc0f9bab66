/**
 * The arrival rate the predictive policy sizes for, measured the one way the runtime and the simulator
 * both can: between two samples, arrivals = Δ(queue length as the trigger reads it) + Δ(messages
 * completed), over the interval. `alpha` < 1 smooths (EWMA, weight alpha on the newest interval); the
 * default is the plain interval rate, because the predictive policy's own scale-down window already damps
 * flapping and smoothing only delays the reaction to a burst (in the simulator, a burst after idle cost
 * 6 % more pod-seconds with alpha 0.5). Times in seconds.
 */
export class ArrivalRateEstimator {
  private last?: { t: number; queue: number; completed: number };
  private rate?: number;

  constructor(readonly alpha = 1) {}

  /** Records a sample; returns the estimate (undefined until two samples are apart in time). */
  sample(t: number, queue: number, completedTotal: number): number | undefined {
    const prev = this.last;
    if (prev && t - prev.t <= 0) return this.rate;
    this.last = { t, queue, completed: completedTotal };
    if (!prev) return this.rate;
    const arrivals = Math.max(0, queue - prev.queue + Math.max(0, completedTotal - prev.completed));
    const r = arrivals / (t - prev.t);
    this.rate = this.rate === undefined ? r : (1 - this.alpha) * this.rate + this.alpha * r;
    return this.rate;
  }

  get value(): number | undefined {
    return this.rate;
  }
}

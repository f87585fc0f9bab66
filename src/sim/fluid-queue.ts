/**
 * A FIFO message queue as a fluid: arrivals and service are rates that stay constant between
 * simulator events, so a day of millions of messages costs a few operations per event. Arrivals are
 * kept as chunks (count, uniform over an arrival interval); serving a slice of a chunk gives a
 * uniform spread of latencies, recorded as a segment so percentiles can be computed exactly.
 */
export class FluidQueue {
  /** Messages waiting (not yet picked up by a pod). */
  waiting = 0;
  arrived = 0;
  /** Messages picked up (each completes serviceSeconds later). */
  processed = 0;
  /** Seconds during which messages were waiting. */
  backlogSeconds = 0;
  /** When a backlog last cleared (undefined while none has). */
  lastEmptiedAt?: number;
  /** Pod-seconds and messages served while every ready pod was busy (to measure per-pod throughput). */
  saturatedPodSeconds = 0;
  saturatedProcessed = 0;

  // Arrival chunks (struct of arrays, consumed from `head`).
  private n: number[] = [];
  private a0: number[] = [];
  private a1: number[] = [];
  private head = 0;

  // Latency segments in seconds: uniform between lo and hi, weight w.
  private lo = new Float64Array(1024);
  private hi = new Float64Array(1024);
  private w = new Float64Array(1024);
  private segs = 0;

  constructor(readonly serviceSeconds: number) {}

  /** Pick-up rate right now: full capacity while a backlog exists, else what arrives. */
  serviceRate(arrivalRate: number, capacity: number): number {
    return this.waiting > 0 ? capacity : Math.min(arrivalRate, capacity);
  }

  /** KEDA's `all` view: waiting plus in flight (dequeued, not yet deleted). */
  observed(arrivalRate: number, capacity: number): number {
    return this.waiting + this.serviceRate(arrivalRate, capacity) * this.serviceSeconds;
  }

  /** Advances from t0 to t1 with `lambda` msgs/s arriving and `capacity` msgs/s of ready pods (`pods` of them). */
  advance(t0: number, t1: number, lambda: number, capacity: number, pods: number): void {
    const dt = t1 - t0;
    if (dt <= 0) return;
    const w0 = this.waiting;
    let emptiedAt: number | undefined;
    if (lambda > 0) {
      this.n.push(lambda * dt);
      this.a0.push(t0);
      this.a1.push(t1);
      this.arrived += lambda * dt;
      this.waiting += lambda * dt;
    }
    if (capacity <= 0) {
      if (this.waiting > 0) this.backlogSeconds += dt;
      return;
    }
    if (w0 > 0 && capacity > lambda) {
      const tEmpty = t0 + w0 / (capacity - lambda);
      if (tEmpty < t1) {
        emptiedAt = tEmpty;
        this.serve(t0, tEmpty, capacity, pods, true);
        this.backlogSeconds += tEmpty - t0;
        if (lambda > 0) this.serve(tEmpty, t1, lambda, pods, false);
      } else {
        this.serve(t0, t1, capacity, pods, true);
        this.backlogSeconds += dt;
      }
    } else if (w0 > 0 || lambda > capacity) {
      this.serve(t0, t1, capacity, pods, true);
      this.backlogSeconds += dt;
    } else if (lambda > 0) {
      this.serve(t0, t1, lambda, pods, false);
    }
    if (this.waiting < 1e-9) {
      if (w0 > 0) this.lastEmptiedAt = emptiedAt ?? t1;
      this.clear();
    }
  }

  private clear(): void {
    this.waiting = 0;
    this.n.length = this.a0.length = this.a1.length = 0;
    this.head = 0;
  }

  /** Picks up rate × (s1 − s0) messages from the front, recording their latencies. */
  private serve(s0: number, s1: number, rate: number, pods: number, saturated: boolean): void {
    let k = Math.min(rate * (s1 - s0), this.waiting);
    const served = k;
    let s = s0;
    while (k > 1e-12 && this.head < this.n.length) {
      const i = this.head;
      const n = this.n[i]!;
      const m = Math.min(n, k);
      const aStart = this.a0[i]!;
      const aEnd = m === n ? this.a1[i]! : aStart + (m / n) * (this.a1[i]! - aStart);
      const sEnd = s + m / rate;
      this.record(Math.max(0, s - aStart) + this.serviceSeconds, Math.max(0, sEnd - aEnd) + this.serviceSeconds, m);
      k -= m;
      s = sEnd;
      if (m === n || n - m < 1e-12) this.head++;
      else {
        this.n[i] = n - m;
        this.a0[i] = aEnd;
      }
    }
    this.waiting -= served;
    this.processed += served;
    if (saturated) {
      this.saturatedPodSeconds += pods * (s1 - s0);
      this.saturatedProcessed += served;
    }
    // Drop consumed chunks now and then so the arrays stay small.
    if (this.head > 4096 && this.head * 2 > this.n.length) {
      this.n = this.n.slice(this.head);
      this.a0 = this.a0.slice(this.head);
      this.a1 = this.a1.slice(this.head);
      this.head = 0;
    }
  }

  private record(l0: number, l1: number, weight: number): void {
    const lo = Math.min(l0, l1);
    const hi = Math.max(l0, l1);
    const j = this.segs - 1;
    // Zero-wait service repeats the same point latency: merge it.
    if (j >= 0 && lo === hi && this.lo[j] === lo && this.hi[j] === hi) {
      this.w[j]! += weight;
      return;
    }
    if (this.segs === this.lo.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.lo = grow(this.lo);
      this.hi = grow(this.hi);
      this.w = grow(this.w);
    }
    this.lo[this.segs] = lo;
    this.hi[this.segs] = hi;
    this.w[this.segs] = weight;
    this.segs++;
  }

  /** Fraction-q latency in seconds of the messages picked up so far (exact for the fluid model). */
  latencyQuantile(q: number): number | undefined {
    if (this.segs === 0) return undefined;
    let total = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < this.segs; i++) {
      total += this.w[i]!;
      min = Math.min(min, this.lo[i]!);
      max = Math.max(max, this.hi[i]!);
    }
    const goal = q * total;
    const cdf = (x: number) => {
      let c = 0;
      for (let i = 0; i < this.segs; i++) {
        const lo = this.lo[i]!;
        const hi = this.hi[i]!;
        if (x >= hi) c += this.w[i]!;
        else if (x > lo) c += (this.w[i]! * (x - lo)) / (hi - lo);
      }
      return c;
    };
    if (cdf(min) >= goal) return min;
    let a = min;
    let b = max;
    for (let it = 0; it < 60 && b - a > 1e-6; it++) {
      const m = (a + b) / 2;
      if (cdf(m) >= goal) b = m;
      else a = m;
    }
    return b;
  }
}

/**
 * Request durations over a recent window, for the status and the dashboard: p50/p95/p99 and failures.
 * A fixed set of one-second slots, each a histogram of log-spaced buckets (about 5 % wide), reused as
 * time moves on: recording is a few arithmetic operations and no allocation, memory is fixed whatever
 * the traffic, and a percentile is read by merging the slots still inside the window.
 */
export interface LatencyPercentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** Bucket i holds durations up to LOWEST_MS · GROWTH^i; the last bucket holds everything longer. */
const LOWEST_MS = 0.05;
const GROWTH = 1.05;
const BUCKETS = Math.ceil(Math.log(600_000 / LOWEST_MS) / Math.log(GROWTH)) + 1;
const LOG_GROWTH = Math.log(GROWTH);

function bucketOf(ms: number): number {
  if (!(ms > LOWEST_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / LOWEST_MS) / LOG_GROWTH));
}

/** The upper bound of a bucket: what a percentile that lands in it reports (never under the truth). */
function upperOf(bucket: number): number {
  return LOWEST_MS * GROWTH ** bucket;
}

export class LatencyWindow {
  private readonly counts: Uint32Array;
  /** The second each slot holds, or -1 for a slot never used. */
  private readonly seconds: Float64Array;
  private readonly slots: number;
  /** Failed requests since the start (a counter, like the gateway's request count). */
  failed = 0;

  /**
   * @param windowSeconds how far back percentiles look
   * @param now the clock in ms (injected in tests)
   */
  constructor(
    readonly windowSeconds = 10,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new RangeError(`window must be a whole number of seconds ≥ 1, got ${windowSeconds}`);
    this.slots = windowSeconds;
    this.counts = new Uint32Array(this.slots * BUCKETS);
    this.seconds = new Float64Array(this.slots).fill(-1);
  }

  /** One request's duration, and whether it failed (a 5xx answer, the gateway's own or the app's). */
  record(ms: number, failed = false): void {
    if (failed) this.failed++;
    const second = Math.floor(this.now() / 1000);
    const slot = second % this.slots;
    if (this.seconds[slot] !== second) {
      this.counts.fill(0, slot * BUCKETS, (slot + 1) * BUCKETS);
      this.seconds[slot] = second;
    }
    this.counts[slot * BUCKETS + bucketOf(ms)]!++;
  }

  /** Requests recorded within the window. */
  count(): number {
    return this.merged().total;
  }

  /** Percentiles over the window, in ms rounded to 0.1; null when no request finished within it. */
  percentiles(): LatencyPercentiles | null {
    const { sums, total } = this.merged();
    if (total === 0) return null;
    const at = (p: number) => {
      const rank = Math.max(1, Math.ceil((p / 100) * total));
      let seen = 0;
      for (let b = 0; b < BUCKETS; b++) {
        seen += sums[b]!;
        if (seen >= rank) return Math.round(upperOf(b) * 10) / 10;
      }
      return Math.round(upperOf(BUCKETS - 1) * 10) / 10;
    };
    return { p50: at(50), p95: at(95), p99: at(99) };
  }

  private merged(): { sums: Uint32Array; total: number } {
    const current = Math.floor(this.now() / 1000);
    const sums = new Uint32Array(BUCKETS);
    let total = 0;
    for (let s = 0; s < this.slots; s++) {
      const second = this.seconds[s]!;
      if (second < 0 || current - second >= this.slots) continue;
      for (let b = 0; b < BUCKETS; b++) {
        const c = this.counts[s * BUCKETS + b]!;
        sums[b]! += c;
        total += c;
      }
    }
    return { sums, total };
  }
}

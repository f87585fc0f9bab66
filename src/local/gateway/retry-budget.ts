/**
 * The global retry budget: over the last `windowMs`, retries stay under `percent` of requests, with a floor
 * of `minRetries` so that a quiet gateway can still retry. When every endpoint is failing, retries would
 * multiply the load exactly when the app can least take it; the budget caps that, and a request that finds
 * it spent gets its failure answered at once.
 */
export class RetryBudget {
  /** Per-second buckets of [requests, retries], newest last. */
  private buckets: { second: number; requests: number; retries: number }[] = [];
  /** Retries refused because the budget was spent (shown in status). */
  refused = 0;

  constructor(
    private readonly percent: number,
    private readonly minRetries: number,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  private bucket() {
    const second = Math.floor(this.now() / 1000);
    let b = this.buckets[this.buckets.length - 1];
    // The window moves once a second: old buckets are dropped then, not on every request.
    if (b && b.second === second) return b;
    const oldest = second - Math.ceil(this.windowMs / 1000) + 1;
    this.buckets = this.buckets.filter((x) => x.second >= oldest);
    this.buckets.push((b = { second, requests: 0, retries: 0 }));
    return b;
  }

  requestStarted(): void {
    this.bucket().requests++;
  }

  /** Takes a retry from the budget if there is one left. */
  tryRetry(): boolean {
    const current = this.bucket();
    const requests = this.buckets.reduce((a, b) => a + b.requests, 0);
    const retries = this.buckets.reduce((a, b) => a + b.retries, 0);
    if (retries + 1 > Math.max(this.minRetries, (this.percent / 100) * requests)) {
      this.refused++;
      return false;
    }
    current.retries++;
    return true;
  }
}

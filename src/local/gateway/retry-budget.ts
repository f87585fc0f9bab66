/**
 * Envoy's retry budget: retries in flight stay under a share of the requests in flight, with a floor.
 * When every endpoint is failing, retries would multiply the load exactly when the app can least take
 * it; the budget caps that, and a request that finds it spent gets its failure answered at once.
 */
export class RetryBudget {
  private requests = 0;
  private retries = 0;
  /** Retries refused because the budget was spent (shown in status). */
  refused = 0;

  constructor(private readonly percent: number, private readonly minConcurrency: number) {}

  requestStarted(): void {
    this.requests++;
  }

  requestEnded(): void {
    this.requests--;
  }

  /** Takes a retry slot if there is one; the caller must `retryEnded()` when the retry finishes. */
  tryRetry(): boolean {
    const allowed = Math.max(this.minConcurrency, (this.percent / 100) * this.requests);
    if (this.retries + 1 > allowed) {
      this.refused++;
      return false;
    }
    this.retries++;
    return true;
  }

  retryEnded(): void {
    this.retries--;
  }
}

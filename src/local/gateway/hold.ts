import type { GatewayEventFn } from "./upstreams.js";

export type HoldOutcome = "ready" | "full" | "timeout" | "none";

/**
 * Scale from zero without errors: a request that finds no endpoint while a replica is on its way waits
 * here, in a bounded queue for a bounded time, instead of failing; it goes on as soon as an endpoint is
 * there. Beyond the bounds the caller answers 503 with Retry-After. One event when holding starts and one
 * when the held requests are released say why requests waited, and how long.
 */
export class HoldQueue {
  private readonly waiting = new Set<() => void>();
  private since = 0;

  constructor(
    private readonly o: { maxQueue: number; timeoutMs: number },
    private readonly emit: GatewayEventFn,
  ) {}

  get size(): number {
    return this.waiting.size;
  }

  /** `activate` asks for a replica and says whether one is coming; if not, there is nothing to wait for. */
  hold(activate: () => boolean): Promise<HoldOutcome> {
    if (this.waiting.size >= this.o.maxQueue) return Promise.resolve("full");
    if (!activate()) return Promise.resolve("none");
    if (this.waiting.size === 0) {
      this.since = Date.now();
      this.emit("Normal", "RequestsHeld", `no ready endpoint: holding requests (up to ${this.o.maxQueue}, ${this.o.timeoutMs} ms each) while a replica starts`);
    }
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        resolve("ready");
      };
      const timer = setTimeout(() => {
        this.waiting.delete(release);
        resolve("timeout");
      }, this.o.timeoutMs);
      this.waiting.add(release);
    });
  }

  /** An endpoint is there: every held request goes on. */
  release(pod: string): void {
    if (this.waiting.size === 0) return;
    this.emit("Normal", "RequestsReleased", `${this.waiting.size} held request(s) go on to ${pod} after ${Date.now() - this.since} ms`);
    const all = [...this.waiting];
    this.waiting.clear();
    for (const f of all) f();
  }
}

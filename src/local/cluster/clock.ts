/**
 * The cluster's sense of time, injected so that controllers (scheduler, ReplicaSet, node lifecycle,
 * probes, endpoints) can be driven deterministically in tests, as Karpenter's suites drive theirs.
 * Times are wall-clock milliseconds; controller periods are divided by the run's time scale by the caller.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(t: Timer | undefined): void;
  setInterval(fn: () => void, ms: number): Timer;
  clearInterval(t: Timer | undefined): void;
}

/** An opaque timer handle (a Node timer for the real clock, a number for the fake one). */
export type Timer = { readonly __timer: true };

/** The real clock. Timers never keep the process alive on their own: the runtime decides when it ends. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t as unknown as Timer;
  },
  clearTimeout(t) {
    if (t) clearTimeout(t as unknown as NodeJS.Timeout);
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    t.unref();
    return t as unknown as Timer;
  },
  clearInterval(t) {
    if (t) clearInterval(t as unknown as NodeJS.Timeout);
  },
};

interface FakeTimer {
  id: number;
  at: number;
  every?: number;
  fn: () => void;
}

/** A clock that moves only when told to: `advance(ms)` fires every timer due, in time order. */
export class FakeClock implements Clock {
  private t: number;
  private serial = 0;
  private readonly timers = new Map<number, FakeTimer>();

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const id = ++this.serial;
    this.timers.set(id, { id, at: this.t + Math.max(0, ms), fn });
    return id as unknown as Timer;
  }

  clearTimeout(t: Timer | undefined): void {
    if (t !== undefined) this.timers.delete(t as unknown as number);
  }

  setInterval(fn: () => void, ms: number): Timer {
    const id = ++this.serial;
    const every = Math.max(1, ms);
    this.timers.set(id, { id, at: this.t + every, every, fn });
    return id as unknown as Timer;
  }

  clearInterval(t: Timer | undefined): void {
    this.clearTimeout(t);
  }

  /** Moves time forward by `ms`, firing due timers in order (a timer set while firing runs too if due). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const timer of this.timers.values()) if (timer.at <= end && (!next || timer.at < next.at || (timer.at === next.at && timer.id < next.id))) next = timer;
      if (!next) break;
      this.t = Math.max(this.t, next.at);
      if (next.every) next.at += next.every;
      else this.timers.delete(next.id);
      next.fn();
    }
    this.t = end;
  }

  /** Timers still pending (for tests that check nothing is left scheduled). */
  get pending(): number {
    return this.timers.size;
  }
}

/** Something with a deadline in a `Deadlines` queue: linked in place, so adding and removing allocate nothing. */
export interface Deadline {
  /** When it expires (ms, on the queue's clock). Set by `add`. */
  expiresAt: number;
  prev: Deadline | undefined;
  next: Deadline | undefined;
  /** Whether it is in a queue now. */
  queued: boolean;
  /** Called once, at its deadline, unless removed before. */
  expire(): void;
}

/**
 * Deadlines that all last the same time (each request's deadline, one length per gateway), with one timer for
 * all of them instead of one per request. Equal lengths expire in the order they were added, so the queue is
 * a FIFO list: add at the tail and remove anywhere in O(1); the single timer waits for the head and, when it
 * fires, expires every head that is due and waits for the next one.
 */
export class Deadlines {
  private head: Deadline | undefined;
  private tail: Deadline | undefined;
  private timer: { cancel(): void } | undefined;
  /** When the armed timer fires. */
  private armedFor = 0;

  /**
   * @param ms how long each deadline lasts
   * @param now the clock in ms (injected in tests)
   * @param schedule runs `fn` after `delayMs` (injected in tests); the default uses an unref'd setTimeout
   */
  constructor(
    readonly ms: number,
    private readonly now: () => number = Date.now,
    private readonly schedule: (fn: () => void, delayMs: number) => { cancel(): void } = unrefTimeout,
  ) {}

  add(d: Deadline): void {
    if (d.queued) this.remove(d);
    d.expiresAt = this.now() + this.ms;
    d.queued = true;
    d.next = undefined;
    d.prev = this.tail;
    if (this.tail) this.tail.next = d;
    else this.head = d;
    this.tail = d;
    if (!this.timer) this.arm(d.expiresAt);
  }

  remove(d: Deadline): void {
    if (!d.queued) return;
    d.queued = false;
    if (d.prev) d.prev.next = d.next;
    else this.head = d.next;
    if (d.next) d.next.prev = d.prev;
    else this.tail = d.prev;
    d.prev = d.next = undefined;
    // The timer stays armed: when it fires early it finds nothing due and waits for the new head.
  }

  /** How many are waiting (for tests and stats). */
  get size(): number {
    let n = 0;
    for (let d = this.head; d; d = d.next) n++;
    return n;
  }

  /** Stops the timer; what is queued never expires. */
  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    for (let d = this.head; d; ) {
      const next = d.next;
      d.queued = false;
      d.prev = d.next = undefined;
      d = next;
    }
    this.head = this.tail = undefined;
  }

  private arm(at: number): void {
    this.armedFor = at;
    this.timer = this.schedule(() => this.fire(), Math.max(1, at - this.now()));
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.now();
    // A timer can fire a little before its time (clock granularity): what is due within it expires now.
    while (this.head && this.head.expiresAt <= Math.max(now, this.armedFor)) {
      const d = this.head;
      this.remove(d);
      d.expire();
    }
    if (this.head && !this.timer) this.arm(this.head.expiresAt);
  }
}

function unrefTimeout(fn: () => void, delayMs: number): { cancel(): void } {
  const t = setTimeout(fn, delayMs);
  t.unref();
  return { cancel: () => clearTimeout(t) };
}

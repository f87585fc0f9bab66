import type { QueueClient } from "@azure/storage-queue";
import { errorMessage } from "../errors.js";

/** Azure's limit for one peek. */
const PEEK_MAX = 32;

/** One look at a queue: what it counts against what it will show. */
export interface QueueConsistency {
  /** Get Queue Metadata's approximate count: visible and invisible messages. */
  approximate: number;
  /** Visible messages a peek returned (at most 32; peeking changes nothing). */
  peeked: number;
  /** 32 came back: more may be visible, so the visible count is only a lower bound. */
  peekLimited: boolean;
  /** The peek failed. Azurite answers 500 to any read whose batch holds a body that is not XML 1.0 text. */
  peekError?: string;
}

/**
 * Reads the approximate count, then peeks. `approximate − peeked` messages are invisible: held by
 * consumers, or never given back by storage. Only the caller knows how many its consumers hold.
 */
export async function queueConsistency(queue: QueueClient, abortSignal?: AbortSignal): Promise<QueueConsistency> {
  const approximate = (await queue.getProperties({ abortSignal })).approximateMessagesCount ?? 0;
  try {
    const p = await queue.peekMessages({ numberOfMessages: PEEK_MAX, abortSignal });
    const peeked = p.peekedMessageItems.length;
    return { approximate, peeked, peekLimited: peeked >= PEEK_MAX };
  } catch (e) {
    if (abortSignal?.aborted) throw e;
    return { approximate, peeked: 0, peekLimited: false, peekError: errorMessage(e).split("\n")[0] || "peek failed" };
  }
}

/** Messages the queue counts that nobody can read, and for how long that has been so. */
export interface Unreadable {
  count: number;
  sinceSeconds: number;
  /** One line for `status` and events. */
  line: string;
}

/**
 * Tells messages that storage will not give back from messages merely in flight. A count that exceeds what
 * is visible plus what the consumers hold is normal for up to a visibility timeout (a killed consumer's
 * messages come back then); past it, storage keeps messages that no receive returns. Feed one reading
 * per look with the consumers' in-flight total; `observe` answers once the gap has outlasted the timeout.
 */
export class UnreadableWatch {
  private since: number | undefined;

  constructor(
    private readonly visibilityTimeoutMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Counted but neither visible nor held now (0 when a full peek leaves the visible count open). */
  static gap(c: QueueConsistency, heldByConsumers: number): number {
    if (c.peekError !== undefined) return Math.max(0, c.approximate - heldByConsumers);
    if (c.peekLimited) return 0;
    return Math.max(0, c.approximate - c.peeked - heldByConsumers);
  }

  observe(c: QueueConsistency, heldByConsumers: number): Unreadable | undefined {
    const count = UnreadableWatch.gap(c, heldByConsumers);
    if (count === 0) {
      this.since = undefined;
      return undefined;
    }
    const t = this.now();
    this.since ??= t;
    const ms = t - this.since;
    if (ms <= this.visibilityTimeoutMs) return undefined;
    const sinceSeconds = Math.round(ms / 1000);
    const why = c.peekError !== undefined ? `reads of the queue fail (${c.peekError})` : `the queue counts ${c.approximate}, shows ${c.peeked}, consumers hold ${heldByConsumers}`;
    return {
      count,
      sinceSeconds,
      line: `${count} message(s) counted but not readable for ${sinceSeconds} s, longer than the ${Math.round(this.visibilityTimeoutMs / 1000)} s visibility timeout: ${why}; storage keeps a body it cannot return (e.g. one that is not XML 1.0 text)`,
    };
  }
}

import { setMaxListeners } from "node:events";
import type { QueueClient } from "@azure/storage-queue";
import { buildMessage } from "../message.js";
import { queueText } from "../../storage/message-text.js";
import { sleep } from "../../util/time.js";

export interface ProducerOptions {
  queue: QueueClient;
  /** Messages to send in all; Infinity runs until aborted (the seed sends forever). */
  count: number;
  /** Steady rate in messages per second (the seed: 1). 0 sends only bursts. */
  rate: number;
  /** Extra messages sent at once, at the start and then every `burstEverySeconds`. */
  burst: number;
  burstEverySeconds?: number;
  /** Index of the first message ("COUNT <i>"); the seed starts at 1. */
  startIndex: number;
  /** Sends in flight at once: high rates need concurrency because each send is a round trip. */
  concurrency: number;
  signal?: AbortSignal;
  onSent?: (index: number) => void;
}

export interface ProducerReport {
  sent: number;
  failed: number;
  /** Sends cut off by the stop signal: they may or may not have reached the queue. */
  cancelled: number;
  elapsedSeconds: number;
  /** Steady-rate messages per second actually achieved (bursts excluded). */
  achievedRate: number;
  firstError?: string;
}

/**
 * A failed send in one line with the service's status and error code first (`403 AuthorizationPermissionMismatch: …`),
 * as Azure answers it: the code is what says which role is missing.
 */
export function sendErrorLine(e: unknown): string {
  const err = e as { statusCode?: number; code?: string; message?: string };
  const msg = String(err.message ?? e).split("\n")[0]!;
  const prefix = `${err.statusCode ? `${err.statusCode} ` : ""}${err.code && !msg.startsWith(err.code) ? `${err.code}: ` : ""}`;
  return `${prefix}${msg}`;
}

/** How many messages are due `t` seconds after the start, bursts included. */
export function dueAt(t: number, o: Pick<ProducerOptions, "rate" | "burst" | "burstEverySeconds" | "count">): number {
  const steady = o.rate > 0 ? Math.floor(t * o.rate) + 1 : 0;
  const bursts = o.burst > 0 ? (o.burstEverySeconds ? Math.floor(t / o.burstEverySeconds) + 1 : 1) : 0;
  return Math.min(o.count, steady + bursts * o.burst);
}

/**
 * Sends seed-format messages on an absolute schedule: message k is sent when it is due, so the rate
 * does not drift with send latency; up to `concurrency` sends overlap. Stops at `count`, on abort,
 * or on a send that still fails after the SDK's retries (as the seed's producer does).
 */
export async function runProducer(o: ProducerOptions): Promise<ProducerReport> {
  // Every send in flight listens on the signal (and the SDK adds its own): more than the default ten.
  if (o.signal) setMaxListeners(Math.max(64, o.concurrency * 4), o.signal);
  const start = performance.now();
  let dispatched = 0;
  let sent = 0;
  let failed = 0;
  let cancelled = 0;
  let firstError: string | undefined;
  const inFlight = new Set<Promise<void>>();

  const sendOne = (index: number) => {
    // The stop signal goes with each send, so a stop is prompt even while storage does not answer.
    const p = o.queue
      .sendMessage(queueText(buildMessage(index)), { abortSignal: o.signal })
      .then(() => {
        sent++;
        o.onSent?.(index);
      })
      .catch((e: unknown) => {
        if (o.signal?.aborted) {
          cancelled++;
          return;
        }
        failed++;
        firstError ??= sendErrorLine(e);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  while (dispatched < o.count && !o.signal?.aborted && firstError === undefined) {
    const t = (performance.now() - start) / 1000;
    const due = dueAt(t, o);
    while (dispatched < due && inFlight.size < o.concurrency) sendOne(o.startIndex + dispatched++);
    if (dispatched >= o.count) break;
    if (inFlight.size >= o.concurrency) {
      await Promise.race(inFlight);
      continue;
    }
    // Sleep until the next message is due (bounded so bursts and aborts are noticed promptly).
    const nextSteady = o.rate > 0 ? (Math.floor(t * o.rate) + 1) / o.rate : Infinity;
    const nextBurst = o.burst > 0 && o.burstEverySeconds ? (Math.floor(t / o.burstEverySeconds) + 1) * o.burstEverySeconds : Infinity;
    const waitMs = Math.max(0, Math.min(nextSteady, nextBurst) - t) * 1000;
    if (!Number.isFinite(waitMs)) break; // nothing more will ever be due
    await sleep(Math.min(waitMs, 250), o.signal).catch(() => undefined);
  }
  await Promise.all(inFlight);
  const elapsedSeconds = (performance.now() - start) / 1000;
  const steadySent = Math.max(0, sent - Math.max(o.burst, 0));
  return {
    sent,
    failed,
    cancelled,
    elapsedSeconds,
    achievedRate: elapsedSeconds > 0 && o.rate > 0 ? steadySent / elapsedSeconds : 0,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

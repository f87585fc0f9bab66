import type { DequeuedMessageItem, QueueClient } from "@azure/storage-queue";
import type { TableClient, TransactionAction } from "@azure/data-tables";
import type { CallCounter } from "../../storage/clients.js";
import { isPermanentFailure } from "../../storage/permanent.js";
import { formatStamp, nowMicros, parseMessage } from "../message.js";
import { sleep, Waker } from "../../util/time.js";
import { entityKeys, type ProcessedEntity } from "./entity.js";
import { poisonRecord, type PoisonReason } from "./poison.js";
import type { ConsumerSettings } from "./settings.js";

/** The consumer's tuning (documented with its flags in settings.ts) plus the clients it works with. */
export interface ConsumerOptions
  extends Pick<ConsumerSettings, "batchSize" | "concurrency" | "workMs" | "visibilityTimeoutSeconds" | "maxDequeue" | "idleMinMs" | "idleMaxMs" | "failMatch"> {
  queue: QueueClient;
  poisonQueue: QueueClient;
  table: TableClient;
  counter: CallCounter;
  log?: (line: string) => void;
  /**
   * Limit of one receive, all tries included (default RECEIVE_DEADLINE_MS). Past it the receive is abandoned
   * and the loop goes on, so a receive that never returns cannot leave a replica deaf to new work.
   */
  receiveDeadlineMs?: number;
}

/** A receive is one short call; storage that has not answered within this is treated as a failed try. */
export const RECEIVE_DEADLINE_MS = 10_000;

export interface ConsumerStats {
  received: number;
  processed: number;
  failed: number;
  poisoned: number;
  released: number;
  renewed: number;
  deleteConflicts: number;
  receiveErrors: number;
  storageCalls: number;
  emptyReceives: number;
  inFlight: number;
  /** End-to-end latency of the last processed message (srcStamp → stored). */
  lastLatencyMs: number;
  startedAt: number;
  firstReceiveAt?: number;
  stopping: boolean;
  rssBytes: number;
  /** Receives that answered after their deadline and whose messages were still taken in (not left hidden). */
  lateReceives: number;
}

/** Per-message state. The pop receipt changes on every update, so renewals and the delete are serialised. */
interface Tracked {
  item: DequeuedMessageItem;
  popReceipt: string;
  renewing?: Promise<void>;
  settled: boolean;
}

export { defaultVisibilitySeconds } from "./settings.js";

/** Messages held (in work or being stored) per work slot: one batch stored while the next is worked on. */
const HOLD_FACTOR = 2;

/**
 * Competing consumer with at-least-once delivery and an exactly-once effect: the table entity is
 * written first (keyed by message id, so a redelivery overwrites), the message deleted only after.
 */
export class Consumer {
  private stopping = false;
  private readonly workAbort = new AbortController();
  private readonly idle = new Waker();
  private readonly slotFree = new Waker();
  private idleMs: number;
  private readonly batches = new Set<Promise<void>>();
  /**
   * Messages in work (parse, simulated work): at most `concurrency`, the figure the scaling model divides by
   * the work time. `stats.inFlight` counts every message held (in work or being stored), at most HOLD_FACTOR ×
   * concurrency: a batch whose table write and delete are still running holds no work slot, so the next batch is
   * received and worked on meanwhile instead of the replica waiting on storage's round trips.
   */
  private working = 0;
  /** A receive past its deadline that may still answer (at most one; see receive()). */
  private late?: { abort: AbortController };
  private loop?: Promise<void>;
  /** A permanent failure (access refused) that ended the receive loop. */
  fatal?: unknown;
  private fatalListener?: (e: unknown) => void;
  readonly stats: ConsumerStats;

  constructor(private readonly o: ConsumerOptions) {
    this.idleMs = o.idleMinMs;
    this.stats = {
      received: 0,
      processed: 0,
      failed: 0,
      poisoned: 0,
      released: 0,
      renewed: 0,
      deleteConflicts: 0,
      receiveErrors: 0,
      storageCalls: 0,
      emptyReceives: 0,
      inFlight: 0,
      lastLatencyMs: 0,
      startedAt: Date.now(),
      stopping: false,
      rssBytes: 0,
      lateReceives: 0,
    };
  }

  snapshot(): ConsumerStats {
    return { ...this.stats, storageCalls: this.o.counter.calls, stopping: this.stopping, rssBytes: process.memoryUsage.rss() };
  }

  start(): void {
    this.loop ??= this.receiveLoop();
  }

  /** Called once if the consumer must stop for good (e.g. storage refused access). */
  onFatal(fn: (e: unknown) => void): void {
    this.fatalListener = fn;
  }

  /** Ends an idle wait now: work has arrived (the local runtime knows the queue depth). */
  wake(): void {
    this.idleMs = this.o.idleMinMs;
    this.idle.wake();
  }

  /**
   * Graceful stop: no new receives; in-flight work may finish until `graceMs` is nearly spent, then the
   * rest is released (visibility 0) so another consumer takes it at once. Resolves when nothing is held.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.idle.wake();
      this.slotFree.wake();
    }
    // A receive still outstanding past its deadline is given up: stopping must not wait on silent storage.
    this.late?.abort.abort(new Error("stopping"));
    // Leave time after the abort to release what is still held.
    const deadline = setTimeout(() => this.workAbort.abort(new Error("stopping")), Math.max(0, graceMs - 1500));
    await this.loop;
    await Promise.all(this.batches);
    clearTimeout(deadline);
  }

  private async receiveLoop(): Promise<void> {
    const o = this.o;
    while (!this.stopping) {
      const free = this.room();
      // Wait for room for a worthwhile batch instead of receiving one message at a time.
      if (free < 1 || (this.stats.inFlight > 0 && free < Math.min(o.batchSize, Math.ceil(o.concurrency / 2)))) {
        await this.slotFree.wait(1000);
        continue;
      }
      let items: DequeuedMessageItem[];
      const deadlineMs = o.receiveDeadlineMs ?? RECEIVE_DEADLINE_MS;
      try {
        items = await this.receive(Math.min(o.batchSize, free), deadlineMs);
        this.stats.firstReceiveAt ??= Date.now();
      } catch (e) {
        this.stats.receiveErrors++;
        if (isPermanentFailure(e)) {
          // Missing RBAC or federation does not heal by retrying: stop, as a pod would crash-loop on AKS.
          this.fatal = e;
          this.stopping = true;
          this.fatalListener?.(e);
          break;
        }
        const timedOut = (e as Error).name === "AbortError";
        o.log?.(timedOut ? `receive got no answer within ${deadlineMs} ms; receiving again` : `receive failed: ${(e as Error).message}`);
        await this.idle.wait(Math.min(this.backoff(), 5000));
        continue;
      }
      if (items.length === 0) {
        this.stats.emptyReceives++;
        if (this.stats.inFlight === 0) await this.idle.wait(this.backoff());
        else await this.slotFree.wait(1000);
        continue;
      }
      this.idleMs = o.idleMinMs;
      this.begin(items);
    }
  }

  /** Free work slots, within the bound on all messages held. */
  private room(): number {
    return Math.min(this.o.concurrency - this.working, HOLD_FACTOR * this.o.concurrency - this.stats.inFlight);
  }

  private begin(items: DequeuedMessageItem[]): void {
    this.stats.received += items.length;
    this.stats.inFlight += items.length;
    this.working += items.length;
    this.track(this.handleBatch(items));
  }

  private track(p: Promise<void>): void {
    const tracked = p.finally(() => {
      this.batches.delete(tracked);
    });
    this.batches.add(tracked);
  }

  /**
   * One receive with a deadline. Storage that stalls (Azurite blocks its event loop for seconds while it
   * collects deleted messages' extents: BENCHMARKS.md, "Consumer crawl") still executes a receive the client
   * has given up on, and the messages it takes stay invisible for the whole visibility timeout. So at the
   * deadline the loop goes on, but the request is not aborted: if it answers late, its messages are taken in
   * (or released at once when there is no room). One such receive at a time; while one is outstanding, a
   * further receive is aborted at its deadline as before, so silent storage never piles up requests.
   */
  private async receive(n: number, deadlineMs: number): Promise<DequeuedMessageItem[]> {
    const abort = new AbortController();
    const call = this.o.queue.receiveMessages({ numberOfMessages: n, visibilityTimeout: this.o.visibilityTimeoutSeconds, abortSignal: abort.signal });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"deadline">((resolve) => {
      timer = setTimeout(() => resolve("deadline"), deadlineMs);
    });
    try {
      const first = await Promise.race([call, deadline]);
      if (first !== "deadline") return first.receivedMessageItems;
    } finally {
      clearTimeout(timer);
    }
    const timedOut = Object.assign(new Error(`no answer within ${deadlineMs} ms`), { name: "AbortError" });
    if (this.late || this.stopping) {
      abort.abort(timedOut);
      call.catch(() => undefined);
      throw timedOut;
    }
    const late = { abort };
    this.late = late;
    this.track(
      call
        .then((res) => this.adoptLate(res.receivedMessageItems))
        .catch(() => undefined)
        .finally(() => {
          if (this.late === late) this.late = undefined;
        }),
    );
    throw timedOut;
  }

  /** Messages of a receive that answered after its deadline: worked on if there is room, else released now. */
  private async adoptLate(items: DequeuedMessageItem[]): Promise<void> {
    if (items.length === 0) return;
    this.stats.lateReceives++;
    const take = this.stopping ? 0 : Math.max(0, Math.min(items.length, this.room()));
    if (take > 0) this.begin(items.slice(0, take));
    const rest = items.slice(take).map((item): Tracked => ({ item, popReceipt: item.popReceipt, settled: false }));
    await Promise.all(rest.map((t) => this.release(t, 0)));
  }

  /** Exponential idle backoff: after a few empty polls, about one receive per idleMaxMs. */
  private backoff(): number {
    const ms = this.idleMs;
    this.idleMs = Math.min(this.o.idleMaxMs, this.idleMs * 2);
    return ms;
  }

  private done(n: number): void {
    this.stats.inFlight -= n;
    this.slotFree.wake();
  }

  private workDone(n: number): void {
    this.working -= n;
    this.slotFree.wake();
  }

  private async handleBatch(items: DequeuedMessageItem[]): Promise<void> {
    const o = this.o;
    const tracked = items.map((item): Tracked => ({ item, popReceipt: item.popReceipt, settled: false }));
    const renewal = this.startRenewal(tracked);
    let working = true;
    try {
      const ready: { t: Tracked; entity: ProcessedEntity }[] = [];
      await Promise.all(
        tracked.map(async (t) => {
          const verdict = this.classify(t.item);
          if (verdict.kind === "poison") {
            await this.poison(t, verdict.reason);
            return;
          }
          try {
            await this.work(t.item);
          } catch (e) {
            if (this.workAbort.signal.aborted) await this.release(t, 0);
            else {
              this.stats.failed++;
              o.log?.(`message ${t.item.messageId} failed (delivery ${t.item.dequeueCount}): ${(e as Error).message}`);
              // Back off a little per delivery; after maxDequeue deliveries it is poisoned.
              await this.release(t, Math.min(30, t.item.dequeueCount));
            }
            return;
          }
          const stored = nowMicros();
          ready.push({ t, entity: toEntity(t.item, verdict.srcMicros, verdict.msg, verdict.srcStamp, stored) });
        }),
      );
      // The work is done: its slots go to the next batch while this one is stored (it stays held, and renewed).
      working = false;
      this.workDone(tracked.length);
      const written = await this.write(ready);
      await Promise.all(written.map(({ t, entity }) => this.remove(t, entity)));
    } finally {
      clearInterval(renewal);
      const unsettled = tracked.filter((t) => !t.settled);
      // Anything not settled (an unexpected error) is released rather than held until the timeout.
      await Promise.all(unsettled.map((t) => this.release(t, 0)));
      if (working) this.workDone(tracked.length);
      this.done(tracked.length);
    }
  }

  private classify(item: DequeuedMessageItem): { kind: "poison"; reason: PoisonReason } | { kind: "ok"; msg: string; srcStamp: string; srcMicros: number } {
    if (item.dequeueCount > this.o.maxDequeue) {
      return { kind: "poison", reason: { code: "MaxDequeueExceeded", detail: `delivered ${item.dequeueCount} times (max-dequeue ${this.o.maxDequeue})` } };
    }
    const parsed = parseMessage(item.messageText);
    if (!parsed.ok) return { kind: "poison", reason: { code: "Unparseable", detail: parsed.reason } };
    return { kind: "ok", msg: parsed.message.msg, srcStamp: parsed.message.srcStamp, srcMicros: parsed.srcMicros };
  }

  private async work(item: DequeuedMessageItem): Promise<void> {
    if (this.o.workMs > 0) await sleep(this.o.workMs, this.workAbort.signal);
    else if (this.workAbort.signal.aborted) throw this.workAbort.signal.reason;
    if (this.o.failMatch?.test(item.messageText)) throw new Error("processing failed (fault injected by --fail-match)");
  }

  /** Upserts in one transaction per partition (≤100 entities); a failed transaction falls back to single upserts. */
  private async write(ready: { t: Tracked; entity: ProcessedEntity }[]): Promise<{ t: Tracked; entity: ProcessedEntity }[]> {
    const byPartition = new Map<string, { t: Tracked; entity: ProcessedEntity }[]>();
    for (const r of ready) {
      const list = byPartition.get(r.entity.partitionKey) ?? [];
      list.push(r);
      byPartition.set(r.entity.partitionKey, list);
    }
    const ok: { t: Tracked; entity: ProcessedEntity }[] = [];
    const chunks: { t: Tracked; entity: ProcessedEntity }[][] = [];
    for (const list of byPartition.values()) for (let i = 0; i < list.length; i += 100) chunks.push(list.slice(i, i + 100));
    await Promise.all(
      chunks.map(async (chunk) => {
        try {
          if (chunk.length === 1) await this.o.table.upsertEntity(chunk[0]!.entity, "Replace");
          else await this.o.table.submitTransaction(chunk.map((c): TransactionAction => ["upsert", c.entity, "Replace"]));
          ok.push(...chunk);
        } catch (e) {
          this.o.log?.(`table write of ${chunk.length} failed: ${(e as Error).message}`);
          for (const c of chunk) {
            try {
              if (chunk.length > 1) {
                await this.o.table.upsertEntity(c.entity, "Replace");
                ok.push(c);
                continue;
              }
            } catch {
              /* falls through to release */
            }
            this.stats.failed++;
            await this.release(c.t, Math.min(30, c.t.item.dequeueCount));
          }
        }
      }),
    );
    return ok;
  }

  private async remove(t: Tracked, entity: ProcessedEntity): Promise<void> {
    await t.renewing;
    try {
      await this.o.queue.deleteMessage(t.item.messageId, t.popReceipt);
    } catch (e) {
      // The entity is stored; if the message reappears its redelivery overwrites the same row.
      this.stats.deleteConflicts++;
      this.o.log?.(`delete of ${t.item.messageId} failed after the write: ${(e as Error).message}`);
    }
    t.settled = true;
    this.stats.processed++;
    this.stats.lastLatencyMs = entity.latencyMs;
  }

  private async poison(t: Tracked, reason: PoisonReason): Promise<void> {
    try {
      await this.o.poisonQueue.sendMessage(poisonRecord(t.item, reason, this.o.queue.name));
      await t.renewing;
      await this.o.queue.deleteMessage(t.item.messageId, t.popReceipt);
      t.settled = true;
      this.stats.poisoned++;
      this.o.log?.(`message ${t.item.messageId} → ${this.o.poisonQueue.name}: ${reason.code}: ${reason.detail}`);
    } catch (e) {
      this.o.log?.(`could not move ${t.item.messageId} to the poison queue: ${(e as Error).message}`);
    }
  }

  /** Makes the message visible again after `seconds` (0 = at once). */
  private async release(t: Tracked, seconds: number): Promise<void> {
    if (t.settled) return;
    await t.renewing;
    try {
      await this.o.queue.updateMessage(t.item.messageId, t.popReceipt, undefined, seconds);
      this.stats.released++;
    } catch {
      // Lost the message already (visibility expired): it is back in the queue either way.
    }
    t.settled = true;
  }

  /** Extends visibility of unfinished messages whenever half the timeout has passed. */
  private startRenewal(tracked: Tracked[]): NodeJS.Timeout {
    const every = (this.o.visibilityTimeoutSeconds * 1000) / 2;
    const timer = setInterval(() => {
      for (const t of tracked) {
        if (t.settled || t.renewing) continue;
        t.renewing = this.o.queue
          .updateMessage(t.item.messageId, t.popReceipt, undefined, this.o.visibilityTimeoutSeconds)
          .then((r) => {
            if (r.popReceipt) t.popReceipt = r.popReceipt;
            this.stats.renewed++;
          })
          .catch(() => undefined)
          .finally(() => {
            t.renewing = undefined;
          });
      }
    }, every);
    timer.unref();
    return timer;
  }
}

function toEntity(item: DequeuedMessageItem, srcMicros: number, msg: string, srcStamp: string, storedMicros: number): ProcessedEntity {
  return {
    ...entityKeys(item),
    data: msg,
    srcStamp,
    dateStamp: formatStamp(storedMicros),
    latencyMs: Math.max(0, (storedMicros - srcMicros) / 1000),
    messageId: item.messageId,
    dequeueCount: item.dequeueCount,
  };
}

import type { TableClient } from "@azure/data-tables";
import { formatStamp, parseStamp } from "../../apps/message.js";
import { percentile } from "../../util/time.js";

/** What the status shows: end-to-end latency (the producer's stamp → the row stored) of recent messages. */
export interface RecentLatency {
  p50Ms: number;
  p95Ms: number;
  /** Messages stored within the window that the figures are over. */
  samples: number;
  windowSeconds: number;
}

interface Row {
  rowKey?: string;
  dateStamp?: string;
  latencyMs?: number;
}

/**
 * End-to-end latency of the messages stored lately, read from the table the consumers write (each row
 * carries its own `latencyMs` and `dateStamp`), so nothing in the consumer changes for it. Each poll lists
 * only rows stamped since the newest one seen, less an overlap: pods stamp a row before the write lands,
 * so a row may appear after a later-stamped one; the overlap catches it and row keys keep it counted once.
 * Memory is bounded by `maxSamples` whatever the throughput.
 */
export class StoredLatency {
  private samples: { at: number; ms: number }[] = [];
  /** Row keys seen within the overlap, with their stored time. */
  private seen = new Map<string, number>();
  private newest: number;
  private polling?: Promise<void>;

  constructor(
    private readonly table: TableClient,
    sinceMicros: number,
    private readonly o: { windowSeconds?: number; overlapMs?: number; maxSamples?: number; now?: () => number } = {},
  ) {
    this.newest = sinceMicros / 1000;
  }

  private get windowMs(): number {
    return (this.o.windowSeconds ?? 30) * 1000;
  }

  /** Reads the rows stored since the last poll; one poll at a time (a slow storage skips beats). */
  poll(): Promise<void> {
    return (this.polling ??= this.read()
      .catch(() => undefined)
      .finally(() => (this.polling = undefined)));
  }

  private async read(): Promise<void> {
    const overlap = this.o.overlapMs ?? 5000;
    const fromMs = this.newest - overlap;
    const from = formatStamp(Math.round(fromMs * 1000));
    // Rows are partitioned by the hour their message was enqueued (q + YYYYMMDDHH); an hour before `from` is kept for slow messages.
    const partition = `q${new Date(fromMs - 3_600_000).toISOString().slice(0, 13).replace(/[-T]/g, "")}`;
    const max = this.o.maxSamples ?? 20_000;
    for await (const e of this.table.listEntities<Row>({ queryOptions: { filter: `PartitionKey ge '${partition}' and dateStamp ge '${from}'` } })) {
      const micros = typeof e.dateStamp === "string" ? parseStamp(e.dateStamp) : undefined;
      if (micros === undefined || typeof e.latencyMs !== "number" || typeof e.rowKey !== "string") continue;
      if (this.seen.has(e.rowKey)) continue;
      const at = micros / 1000;
      this.seen.set(e.rowKey, at);
      this.samples.push({ at, ms: e.latencyMs });
      if (at > this.newest) this.newest = at;
    }
    for (const [k, at] of this.seen) if (at < this.newest - overlap * 2) this.seen.delete(k);
    this.prune();
    if (this.samples.length > max) this.samples = this.samples.slice(this.samples.length - max);
    if (this.seen.size > max) this.seen = new Map([...this.seen].slice(this.seen.size - max));
  }

  private prune(): void {
    const cutoff = (this.o.now ?? Date.now)() - this.windowMs;
    // Listed by key, not by time: any sample may be the oldest.
    if (this.samples.some((s) => s.at < cutoff)) this.samples = this.samples.filter((s) => s.at >= cutoff);
  }

  /** p50/p95 over the window; null when no message was stored within it. */
  recent(): RecentLatency | null {
    this.prune();
    if (this.samples.length === 0) return null;
    const sorted = this.samples.map((s) => s.ms).sort((a, b) => a - b);
    return { p50Ms: Math.round(percentile(sorted, 50)), p95Ms: Math.round(percentile(sorted, 95)), samples: sorted.length, windowSeconds: this.windowMs / 1000 };
  }
}

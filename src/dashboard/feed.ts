import type { StatusV1 } from "../local/status.js";
import type { ClusterEvent } from "../scaling/events.js";
import { Ring } from "./history.js";
import { GatewayRate, ProcessedRate, TrafficRates, sampleOf, viewOf, type Backfill, type Push, type View } from "./snapshot.js";

export interface FeedOptions {
  controlUrl: string;
  token: string;
  /** Seconds of one-second samples kept (the charts' window). */
  windowSeconds: number;
  intervalMs: number;
  /** Events kept for a page that (re)connects. */
  eventCapacity: number;
}

/**
 * Reads the runtime through its control API, over HTTP like any client, once per interval: the status and
 * the events since the last read. Keeps a bounded history and tells listeners about every new push.
 */
export class Feed {
  private readonly samples: Ring<Push["sample"]>;
  private readonly events: Ring<ClusterEvent>;
  private view: View | null = null;
  private readonly listeners = new Set<(p: Push) => void>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** The time of the newest event seen, and how many events carry that time (the API's `since` is inclusive). */
  private lastTime = 0;
  private atLastTime = 0;
  private reading?: AbortController;
  private readonly rate = new ProcessedRate();
  private readonly gatewayRate = new GatewayRate();
  private readonly trafficRates = new TrafficRates();
  /** The page's own actions and their answers, sent with the next push. */
  private notes: ClusterEvent[] = [];

  constructor(private readonly o: FeedOptions) {
    this.samples = new Ring(Math.max(1, Math.round((o.windowSeconds * 1000) / o.intervalMs)));
    this.events = new Ring(o.eventCapacity);
  }

  start(): void {
    const tick = () => {
      // One read at a time: a slow runtime skips a beat instead of piling requests up.
      this.running ??= this.read()
        .catch(() => undefined)
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.o.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.reading?.abort();
    await this.running;
    this.listeners.clear();
  }

  backfill(): Backfill {
    return { samples: this.samples.toArray(), events: this.events.toArray(), view: this.view, windowSeconds: this.o.windowSeconds };
  }

  /** An action taken from the page: an event of the dashboard's own in the feed (what was asked, what came back). */
  note(type: ClusterEvent["type"], reason: string, message: string): void {
    const e: ClusterEvent = { time: Date.now(), type, object: "dashboard/action", reason, message };
    this.events.push(e);
    this.notes.push(e);
    // Bounded even if the control API stops answering (no push takes them).
    if (this.notes.length > this.o.eventCapacity) this.notes.splice(0, this.notes.length - this.o.eventCapacity);
  }

  subscribe(fn: (p: Push) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private async get<T>(path: string, signal: AbortSignal): Promise<T> {
    const res = await fetch(`${this.o.controlUrl}${path}`, { headers: { authorization: `Bearer ${this.o.token}` }, signal });
    if (!res.ok) throw new Error(`control API ${path.split("?")[0]}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  private async read(): Promise<void> {
    // One controller per read, ended with it: a listener added to a long-lived signal on every read
    // would pile up for the whole run.
    const ac = new AbortController();
    this.reading = ac;
    const timer = setTimeout(() => ac.abort(), 10_000);
    let status: StatusV1;
    let listed: ClusterEvent[];
    try {
      [status, listed] = await Promise.all([this.get<StatusV1>("/v1/status", ac.signal), this.get<ClusterEvent[]>(`/v1/events?since=${this.lastTime}`, ac.signal)]);
    } finally {
      clearTimeout(timer);
      this.reading = undefined;
    }
    const fresh = this.newEvents(listed);
    for (const e of fresh) this.events.push(e);
    // Kept already when noted; pushed now, after the runtime's own events of this read.
    fresh.push(...this.notes.splice(0));
    const push: Push = { sample: sampleOf(status, this.rate.next(status), this.gatewayRate.next(status), this.trafficRates.next(status)), events: fresh, view: viewOf(status) };
    this.samples.push(push.sample);
    this.view = push.view;
    for (const l of this.listeners) l(push);
  }

  /** Drops the events already seen: those before the last time, and the first `atLastTime` at it. */
  private newEvents(listed: ClusterEvent[]): ClusterEvent[] {
    let skip = this.atLastTime;
    const fresh: ClusterEvent[] = [];
    for (const e of listed) {
      if (e.time < this.lastTime) continue;
      if (e.time === this.lastTime && skip > 0) {
        skip--;
        continue;
      }
      fresh.push(e);
    }
    for (const e of fresh) {
      if (e.time > this.lastTime) {
        this.lastTime = e.time;
        this.atLastTime = 0;
      }
      if (e.time === this.lastTime) this.atLastTime++;
    }
    return fresh;
  }
}

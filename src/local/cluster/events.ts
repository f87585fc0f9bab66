/** A cluster event, as `kubectl get events` shows it: every decision says why, with the numbers. */
export interface ClusterEvent {
  /** Milliseconds since the epoch. */
  time: number;
  type: "Normal" | "Warning";
  /** kind/name, e.g. "pod/aqs-app-3", "node/local-d2-1", "scaledobject/aws2az-queue-scaleobj". */
  object: string;
  reason: string;
  message: string;
  /** The cluster it happened in (a runtime may run several). */
  cluster?: string;
}

/** Keeps the latest events and tells subscribers about new ones. */
export class EventRecorder {
  private readonly buffer: ClusterEvent[] = [];
  private readonly listeners = new Set<(e: ClusterEvent) => void>();

  constructor(private readonly capacity = 5000, private readonly now: () => number = Date.now) {}

  record(type: ClusterEvent["type"], object: string, reason: string, message: string, cluster?: string): ClusterEvent {
    const e: ClusterEvent = { time: this.now(), type, object, reason, message, ...(cluster ? { cluster } : {}) };
    this.buffer.push(e);
    if (this.buffer.length > this.capacity) this.buffer.splice(0, this.buffer.length - this.capacity);
    for (const l of this.listeners) l(e);
    return e;
  }

  normal(object: string, reason: string, message: string): ClusterEvent {
    return this.record("Normal", object, reason, message);
  }

  warning(object: string, reason: string, message: string): ClusterEvent {
    return this.record("Warning", object, reason, message);
  }

  list(since = 0): ClusterEvent[] {
    return this.buffer.filter((e) => e.time >= since);
  }

  subscribe(fn: (e: ClusterEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

export function formatEvent(e: ClusterEvent): string {
  const t = new Date(e.time).toISOString().slice(11, 23);
  return `${t}  ${e.type.padEnd(7)}  ${e.object.padEnd(34)}  ${e.reason.padEnd(22)}  ${e.message}`;
}

import { percentile } from "../../util/time.js";
import type { Sample } from "./load.js";

/** What the local and the AKS node-failure drills both take: the load they drive and how long they wait. */
export interface DrillLoadOptions {
  /** Requests per second at the drilled address. */
  rate: number;
  /** The load runs at least this long, seconds (the drill's steps may make it longer). */
  durationSeconds: number;
  /** A request without an answer after this is a failure ("timeout"), like `curl --max-time`. */
  requestTimeoutMs: number;
  /** Give up waiting for the replicas to be restored after this, seconds. */
  restoreTimeoutSeconds: number;
  signal: AbortSignal;
  progress: (line: string) => void;
}

export interface NodeFailureReport {
  drill: "node-failure";
  /** What answered at gatewayUrl: `kube` (the Service's L4 proxy) or `akspilot` (the HTTP gateway). */
  mode: string;
  node: string;
  /** Replicas the stopped node held. */
  replicasOnNode: number;
  rate: number;
  requests: number;
  failed: number;
  /** Failures by kind: "timeout", an HTTP status, a connection error code. */
  failures: Record<string, number>;
  /** Over every request, failed ones at the time they failed. */
  p50Ms: number;
  p99Ms: number;
  /** p99 before the node was stopped, for comparison. */
  steadyP99Ms: number;
  /** The longest time without a successful answer while the load ran. */
  maxGapMs: number;
  /** Node stopped → every replica Ready again, none on the stopped node; null if that did not happen in time. */
  replicasRestoredSeconds: number | null;
  durationSeconds: number;
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/** The drill's figures, counted from the client's own samples. */
export function summarize(
  samples: Sample[],
  o: { mode: string; node: string; replicasOnNode: number; rate: number; stoppedAt: number; restoredSeconds: number | null; durationMs: number },
): NodeFailureReport {
  const failures: Record<string, number> = {};
  for (const s of samples) if (!s.ok) failures[s.why ?? "error"] = (failures[s.why ?? "error"] ?? 0) + 1;
  const lat = samples.map((s) => s.end - s.start).sort((a, b) => a - b);
  const steady = samples
    .filter((s) => s.end < o.stoppedAt)
    .map((s) => s.end - s.start)
    .sort((a, b) => a - b);
  // Gaps between successful answers, and from the load's start to the first / from the last to its end.
  const okEnds = samples
    .filter((s) => s.ok)
    .map((s) => s.end)
    .sort((a, b) => a - b);
  let gap = 0;
  let prev = 0;
  for (const e of okEnds) {
    gap = Math.max(gap, e - prev);
    prev = e;
  }
  gap = Math.max(gap, o.durationMs - prev);
  return {
    drill: "node-failure",
    mode: o.mode,
    node: o.node,
    replicasOnNode: o.replicasOnNode,
    rate: o.rate,
    requests: samples.length,
    failed: samples.filter((s) => !s.ok).length,
    failures,
    p50Ms: r1(percentile(lat, 50)),
    p99Ms: r1(percentile(lat, 99)),
    steadyP99Ms: r1(percentile(steady, 99)),
    maxGapMs: Math.round(gap),
    replicasRestoredSeconds: o.restoredSeconds === null ? null : Math.round(o.restoredSeconds * 100) / 100,
    durationSeconds: Math.round(o.durationMs / 100) / 10,
  };
}

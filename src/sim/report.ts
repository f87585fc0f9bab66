import type { SimResult } from "./engine.js";

const MAX_ROWS = 200;

/** Human-readable output: the replica/node changes as a table, then the summary. */
export function formatSimResult(r: SimResult, withEvents: boolean): string {
  const out: string[] = [];
  const rows = r.timeline.filter((e, i, all) => i === 0 || e.replicas !== all[i - 1]!.replicas || e.ready !== all[i - 1]!.ready || e.nodes !== all[i - 1]!.nodes);
  out.push(`${pad("t (s)", 10)}${pad("replicas", 10)}${pad("ready", 8)}${pad("nodes", 7)}queueLength`);
  for (const e of rows.slice(0, MAX_ROWS)) out.push(`${pad(String(e.t), 10)}${pad(String(e.replicas), 10)}${pad(String(e.ready), 8)}${pad(String(e.nodes), 7)}${e.queueLength}`);
  if (rows.length > MAX_ROWS) out.push(`… ${rows.length - MAX_ROWS} more changes (use --json for all of them)`);
  if (withEvents) {
    out.push("", "events:");
    for (const ev of r.events) out.push(`  ${pad(String(ev.time / 1000), 10)}${pad(ev.object, 34)}${pad(ev.reason, 26)}${ev.type === "Warning" ? "Warning: " : ""}${ev.message}`);
  }
  const s = r.summary;
  out.push("", `summary (${s.policy}, ${s.durationSeconds} s simulated):`);
  const line = (k: string, v: unknown) => out.push(`  ${pad(k, 16)}${v === null || v === undefined ? "—" : String(v)}`);
  line("maxReplicas", s.maxReplicas);
  line("maxNodes", s.maxNodes);
  line("podSeconds", s.podSeconds);
  line("nodeSeconds", s.nodeSeconds);
  line("poolNodeSeconds", s.poolNodeSeconds);
  line("staticNodes", s.staticNodes);
  const ds = s.daemonSetsPerNode;
  line("daemonSets/node", `${ds.cpuMillis}m CPU, ${Math.round(ds.memoryBytes / 2 ** 20)}Mi, ${ds.pods} pods (taken from every node's allocatable)`);
  line("nodeCost", `$${s.nodeCost}`);
  line("firstScaleUpAt", s.firstScaleUpAt);
  line("backToZeroAt", s.backToZeroAt);
  if (s.arrived !== undefined) {
    line("drainSeconds", s.drainSeconds);
    line("backlogSeconds", s.backlogSeconds);
    line("p50LatencyMs", s.p50LatencyMs);
    line("p95LatencyMs", s.p95LatencyMs);
    line("arrived", s.arrived);
    line("processed", s.processed);
    line("backlogAtEnd", s.backlogAtEnd);
  }
  return `${out.join("\n")}\n`;
}

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s + " ".repeat(n - s.length));

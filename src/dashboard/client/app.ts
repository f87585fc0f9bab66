// The dashboard page's script (runs in the browser; compiled by tsc and served as /assets/app.js).
// Type-only imports: nothing is loaded at run time but uPlot, which /assets/uplot.js defines globally.
import type UPlot from "uplot";
import type { Backfill, Push, Sample, View } from "../snapshot.js";
import type { ClusterEvent } from "../../scaling/events.js";
import { markerOf, markerPlugin, type Mark } from "./markers.js";

declare const uPlot: typeof UPlot;

const EVENTS_SHOWN = 300;

const $ = <T extends HTMLElement>(sel: string): T => document.querySelector<T>(sel)!;

function el(tag: string, text?: string, attrs: Record<string, string> = {}): HTMLElement {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function age(s: number): string {
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`;
}

let samples: Sample[] = [];
let events: ClusterEvent[] = [];
let view: View | null = null;
let windowSeconds = 900;

// ---- charts ----------------------------------------------------------------------------------------

interface ChartDef {
  id: string;
  series: { label: string; color: string; dash?: number[] }[];
  values: (s: Sample, v: View | null) => (number | null)[];
  /** Hidden while no sample has this chart's data (a web blueprint has no queue; an EDW one no gateway). */
  absent?: (all: Sample[], v: View | null) => boolean;
}

const noQueue = (all: Sample[], v: View | null) => v?.queueDepth === null && all.every((s) => s.q === null);
const noGateway = (all: Sample[]) => all.every((s) => !s.g);

const CHARTS: ChartDef[] = [
  {
    id: "chart-queue",
    series: [
      { label: "queue depth", color: "#0969da" },
      { label: "activation (>)", color: "#bf8700", dash: [6, 4] },
      { label: "target per replica", color: "#1a7f37", dash: [2, 4] },
    ],
    values: (s, v) => [s.q, v?.scaledObject?.activationQueueLength ?? null, v?.scaledObject?.queueLength ?? null],
    absent: noQueue,
  },
  {
    id: "chart-processed",
    series: [{ label: "messages processed per second", color: "#1a7f37" }],
    values: (s) => [s.m],
    absent: noQueue,
  },
  {
    id: "chart-replicas",
    series: [
      { label: "desired", color: "#6f42c1" },
      { label: "current", color: "#0969da" },
      { label: "ready", color: "#1a7f37" },
      { label: "pending", color: "#bf8700", dash: [4, 3] },
    ],
    values: (s) => [...s.r],
  },
  {
    id: "chart-nodes",
    series: [
      { label: "Ready", color: "#1a7f37" },
      { label: "NotReady", color: "#cf222e" },
      { label: "Provisioning", color: "#bf8700" },
      { label: "Draining", color: "#57606a", dash: [4, 3] },
    ],
    values: (s) => [...s.n],
  },
  {
    id: "chart-pools",
    series: [
      { label: "agent pools", color: "#57606a" },
      { label: "Karpenter NodePools", color: "#0969da" },
    ],
    values: (s) => [...s.k],
  },
  {
    id: "chart-latency",
    series: [
      { label: "p50 ms", color: "#1a7f37" },
      { label: "p95 ms", color: "#cf222e", dash: [4, 3] },
    ],
    values: (s) => (s.x ? [s.x[0], s.x[1]] : [null, null]),
    absent: noQueue,
  },
  {
    id: "chart-gw-requests",
    series: [
      { label: "requests per second", color: "#0969da" },
      { label: "failed (5xx) per second", color: "#cf222e" },
    ],
    values: (s) => [s.g ? s.g[0] : null, s.g ? (s.f ?? 0) : null],
    absent: noGateway,
  },
  {
    id: "chart-gw-latency",
    series: [
      { label: "p50 ms", color: "#1a7f37" },
      { label: "p95 ms", color: "#bf8700", dash: [4, 3] },
      { label: "p99 ms", color: "#cf222e" },
    ],
    values: (s) => (s.l ? [...s.l] : [null, null, null]),
    absent: noGateway,
  },
  {
    id: "chart-gw-retries",
    series: [
      { label: "retries", color: "#bf8700" },
      { label: "retries refused", color: "#cf222e", dash: [4, 3] },
      { label: "held for an endpoint", color: "#6f42c1" },
    ],
    values: (s) => (s.g ? [s.g[1], s.g[2], s.g[3]] : [null, null, null]),
    absent: noGateway,
  },
];

const CLUSTER_COLORS = ["#1a7f37", "#0969da", "#bf8700", "#6f42c1", "#cf222e", "#57606a"];
/** Clusters named after a colour (blue-green) are drawn in it. */
const NAMED_COLORS: Record<string, string> = { blue: "#0969da", green: "#1a7f37" };

/**
 * A chart with one series per cluster: ready endpoints, or each cluster's share of the requests (percent).
 * Its series are the clusters the run reports, known only once it does, so the definition is made from
 * the samples (and remade when the set of clusters changes).
 */
function clusterChart(id: string, all: Sample[], pick: (s: Sample) => Record<string, number> | null | undefined, share: boolean): ChartDef {
  const clusters = [...new Set(all.flatMap((s) => Object.keys(pick(s) ?? {})))].sort();
  return {
    id,
    series: clusters.map((c, i) => ({ label: c || "ready endpoints", color: NAMED_COLORS[c] ?? CLUSTER_COLORS[i % CLUSTER_COLORS.length]! })),
    values: (s) => {
      const by = pick(s);
      if (!by) return clusters.map(() => null);
      if (!share) return clusters.map((c) => by[c] ?? 0);
      const total = clusters.reduce((a, c) => a + (by[c] ?? 0), 0);
      return clusters.map((c) => (total > 0 ? Math.round(((by[c] ?? 0) / total) * 100) : null));
    },
    absent: (xs) => xs.every((s) => !pick(s)),
  };
}

/** The per-cluster charts, made from the samples: their element id, what they count, and whether as shares. */
const CLUSTER_CHARTS: [string, (s: Sample) => Record<string, number> | null | undefined, boolean][] = [
  ["chart-endpoints", (s) => s.e, false],
  ["chart-share", (s) => s.c, true],
];

/** The marked events, on the charts' time scale (seconds), remade with every render. */
let marks: Mark[] = [];

function updateMarks(): void {
  marks = [];
  for (const e of events) {
    const m = markerOf(e.reason);
    if (m) marks.push({ t: e.time / 1000, color: m.color });
  }
}

const plots = new Map<string, UPlot>();

function chartWidth(fig: HTMLElement): number {
  return Math.max(300, fig.clientWidth - 12);
}

const perCluster = new Map<string, { def: ChartDef; key: string }>();

function buildCharts(): void {
  for (const def of CHARTS) makePlot(def);
  addEventListener("resize", () => {
    for (const def of [...CHARTS, ...[...perCluster.values()].map((x) => x.def)]) plots.get(def.id)!.setSize({ width: chartWidth($(`#${def.id}`)), height: 180 });
  });
}

function makePlot(def: ChartDef): void {
  const fig = $(`#${def.id}`);
  const target = fig.querySelector<HTMLElement>(".plot")!;
  plots.get(def.id)?.destroy();
  const opts: UPlot.Options = {
    width: chartWidth(fig),
    height: 180,
    plugins: [markerPlugin(() => marks)],
    // At least a minute across, so the first seconds of a run do not show sub-second ticks.
    scales: {
      x: { time: true, range: (_u: UPlot, min: number, max: number) => [Math.min(min, max - 60), max] },
      y: { range: (_u: UPlot, _min: number, max: number) => [0, Math.max(1, Math.ceil(max * 1.1))] },
    },
    axes: [{}, { size: 52 }],
    series: [{}, ...def.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, ...(s.dash ? { dash: s.dash } : {}), spanGaps: false }))],
  };
  plots.set(def.id, new uPlot(opts, [[], ...def.series.map(() => [])] as UPlot.AlignedData, target));
}

function drawCharts(): void {
  const xs = samples.map((s) => s.t / 1000);
  for (const [id, pick, share] of CLUSTER_CHARTS) {
    const def = clusterChart(id, samples, pick, share);
    const key = def.series.map((x) => x.label).join("\n");
    if (perCluster.get(id)?.key !== key) {
      perCluster.set(id, { def, key });
      makePlot(def);
    }
  }
  for (const def of [...CHARTS, ...[...perCluster.values()].map((x) => x.def)]) {
    const rows = samples.map((s) => def.values(s, view));
    const data = [xs, ...def.series.map((_, i) => rows.map((r) => r[i] ?? null))] as UPlot.AlignedData;
    plots.get(def.id)!.setData(data);
    // The numbers the chart shows, as text: for screen readers, and a check anyone can read.
    const fig = $(`#${def.id}`);
    fig.hidden = def.absent?.(samples, view) ?? false;
    const last = rows[rows.length - 1] ?? [];
    const peaks = def.series.map((_, i) => Math.max(0, ...rows.map((r) => r[i] ?? 0)));
    const lows = def.series.map((_, i) => Math.min(...rows.map((r) => r[i] ?? Infinity)));
    fig.dataset.samples = String(rows.length);
    fig.dataset.now = JSON.stringify(last);
    fig.dataset.peak = JSON.stringify(peaks);
    fig.dataset.low = JSON.stringify(lows.map((x) => (Number.isFinite(x) ? x : null)));
    const summary = def.series.map((s, i) => `${s.label} ${last[i] ?? "–"} (peak ${peaks[i]})`).join(" · ");
    // Several clusters: each one's share of the ready endpoints, the balance a multi-cluster Service is about.
    const total = def.id === "chart-endpoints" ? last.reduce<number>((a, x) => a + (x ?? 0), 0) : 0;
    const share =
      def.id === "chart-endpoints" && def.series.length > 1 && total > 0
        ? `; share ${def.series.map((s, i) => `${s.label} ${Math.round(((last[i] ?? 0) / total) * 100)}%`).join(", ")}`
        : "";
    fig.querySelector(".chart-summary")!.textContent = `now: ${summary}${share}; last ${Math.round(xs.length ? xs[xs.length - 1]! - xs[0]! : 0)} s`;
  }
}

// ---- why, tables, events ---------------------------------------------------------------------------

function list(title: string, items: string[]): HTMLElement {
  const box = el("div");
  box.append(el("h3", title));
  const ul = el("ul");
  for (const i of items) ul.append(el("li", i));
  box.append(ul);
  return box;
}

/** A booting node: since when, when it should be Ready (its startup time), and why it was launched. */
function bootLine(n: View["nodes"][number], now: number): string {
  let eta = "";
  if (n.expectedReadyAt !== null) {
    const left = Math.round((n.expectedReadyAt - now) / 1000);
    const at = new Date(n.expectedReadyAt).toISOString().slice(11, 19);
    eta = left >= 0 ? `; Ready in ~${left} s (at ${at})` : `; expected Ready ${-left} s ago (${at}), still registering`;
  }
  return `${n.name} (${n.type}, pool ${n.pool}) booting for ${age(n.ageSeconds)}${eta}${n.launchReason ? `; launched: ${n.launchReason}` : ""}`;
}

function blueGreenLines(b: NonNullable<View["blueGreen"]>): string[] {
  const weights = Object.entries(b.weights)
    .map(([c, w]) => `${c} ${w}%`)
    .join(", ");
  return [
    `upgrade stage ${b.stage || "–"}${b.phase ? ` (${b.phase})` : ""}${b.targetVersion ? `, to version ${b.targetVersion}` : ""}`,
    `active ${b.activeCluster ?? "–"}, standby ${b.standbyCluster ?? "–"}${b.owner ? `; the gateway is owned by ${b.owner}` : ""}`,
    ...(weights ? [`weights: ${weights}`] : []),
  ];
}

function renderWhy(v: View): void {
  const body = $("#why-body");
  const parts: HTMLElement[] = [];
  const so = v.scaledObject;
  const auto = [`policy ${v.policy}${v.paused ? " (paused: replicas stay where they are put)" : ""}`];
  if (so)
    auto.push(
      `ScaledObject ${so.name}: active when queue > ${so.activationQueueLength}; target ${so.queueLength} messages per replica; poll every ${so.pollingIntervalSeconds} s; ${so.minReplicas}–${so.maxReplicas} replicas`,
    );
  if (v.queueDepth !== null) auto.push(`queue depth now ${v.queueDepth}`);
  for (const [loop, note] of Object.entries(v.notes)) auto.push(`${loop}: ${note}`);
  const next = Object.entries(v.nextTicks).map(([loop, at]) => `${loop} in ${Math.max(0, (at - v.time) / 1000).toFixed(1)} s`);
  if (next.length && !v.paused) auto.push(`next check: ${next.join(", ")}`);
  if (Object.keys(v.notes).length === 0 && v.policy !== "fixed") auto.push("no decision yet (the autoscaler has not ticked)");
  parts.push(list("Autoscaler", auto));
  for (const d of v.deployments) {
    parts.push(
      list(`Deployment ${d.name}${v.deployments.length > 1 || d.cluster ? ` (${d.cluster})` : ""}`, [
        `desired ${d.desired}, running ${d.current}, ready ${d.ready}, pending ${d.pending}, terminating ${d.terminating}`,
      ]),
    );
  }
  const pending = v.pods.filter((p) => p.phase === "Pending" || (p.waiting && !p.ready));
  // Pods wait for the same reason in batches (a burst): one line per reason, not one per pod.
  const byReason = new Map<string, string[]>();
  for (const p of pending) byReason.set(p.waiting ?? p.phase, [...(byReason.get(p.waiting ?? p.phase) ?? []), p.name]);
  const reasons = [...byReason].map(
    ([why, names]) => `${names.length} pod${names.length > 1 ? "s" : ""} (${names.slice(0, 3).join(", ")}${names.length > 3 ? ", …" : ""}): ${why}`,
  );
  parts.push(list("Pending pods", reasons.length ? reasons : ["none"]));
  const booting = v.nodes.filter((n) => n.phase === "Provisioning");
  parts.push(list("Nodes provisioning", booting.length ? booting.map((n) => bootLine(n, v.time)) : ["none"]));
  if (v.blueGreen) parts.push(list("Traffic", blueGreenLines(v.blueGreen)));
  const down = v.nodes.filter((n) => n.phase === "NotReady" || !n.powered);
  if (down.length)
    parts.push(
      list(
        "Nodes down",
        down.map((n) => `${n.name}: ${n.powered ? "" : "VM off, "}${n.phase}`),
      ),
    );
  body.replaceChildren(...parts);
}

/** Updates a table in place, row per key, so that buttons survive the once-a-second refresh. */
function renderRows<T>(table: string, items: T[], key: (x: T) => string, cells: (x: T) => string[], actions?: (x: T) => HTMLElement[]): void {
  const tbody = $<HTMLTableSectionElement>(`#${table} tbody`);
  const existing = new Map<string, HTMLTableRowElement>();
  for (const tr of Array.from(tbody.rows)) existing.set(tr.dataset.key!, tr);
  const keep = new Set<string>();
  for (const item of items) {
    const k = key(item);
    keep.add(k);
    let tr = existing.get(k);
    const texts = cells(item);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.key = k;
      for (let i = 0; i < texts.length; i++) tr.append(el(i === 1 ? "th" : "td", undefined, i === 1 ? { scope: "row" } : {}));
      if (actions) {
        const td = el("td");
        td.append(...actions(item));
        tr.append(td);
      }
      tbody.append(tr);
    }
    texts.forEach((t, i) => {
      if (tr!.cells[i]!.textContent !== t) tr!.cells[i]!.textContent = t;
    });
  }
  for (const [k, tr] of existing) if (!keep.has(k)) tr.remove();
}

function nodeButton(node: string, action: "stop" | "start" | "drain" | "uncordon"): HTMLElement {
  const b = el("button", action, { type: "button", "aria-label": `${action} node ${node}` });
  b.addEventListener("click", () => void act(`/api/nodes/${encodeURIComponent(node)}/${action}`, {}, `${action} ${node}`));
  return b;
}

function renderTables(v: View): void {
  renderRows(
    "nodes-table",
    v.nodes,
    (n) => `${n.cluster}/${n.name}`,
    (n) => [
      n.cluster,
      n.name,
      `${n.pool} (${n.poolKind === "agentPool" ? "agent pool" : "NodePool"})`,
      n.type,
      `${n.phase}${n.powered ? "" : ", VM off"}${n.schedulable ? "" : ", unschedulable"}`,
      String(n.pods),
      `${n.cpuRequestedMillis}m / ${n.cpuAllocatableMillis}m`,
      age(n.ageSeconds),
    ],
    (n) => [nodeButton(n.name, "stop"), nodeButton(n.name, "start"), nodeButton(n.name, "drain"), nodeButton(n.name, "uncordon")],
  );
  renderRows(
    "pods-table",
    v.pods,
    (p) => `${p.cluster}/${p.name}`,
    (p) => [
      p.cluster,
      p.name,
      p.node ?? "<none>",
      p.waiting && p.phase !== "Terminating" ? `${p.phase}: ${p.waiting}` : p.phase,
      p.ready ? "1/1" : "0/1",
      String(p.restarts),
      age(p.ageSeconds),
      String(p.inFlight),
    ],
  );
}

function eventText(e: ClusterEvent): string {
  return `${new Date(e.time).toISOString().slice(11, 19)}  ${e.type}  ${e.cluster ? `${e.cluster} ` : ""}${e.object}  ${e.reason}  ${e.message}`;
}

function renderEvents(): void {
  const filter = $<HTMLInputElement>("#events-filter").value.trim().toLowerCase();
  const shown = events
    .filter((e) => !filter || eventText(e).toLowerCase().includes(filter))
    .slice(-EVENTS_SHOWN)
    .reverse();
  $("#events").replaceChildren(...shown.map((e) => el("li", eventText(e), { class: e.type, "data-reason": e.reason })));
}

function renderHeader(v: View): void {
  $("#blueprint").textContent = v.blueprint;
  const d = v.deployments.reduce((a, x) => [a[0]! + x.desired, a[1]! + x.ready], [0, 0]);
  $("#summary").textContent =
    `${v.queueDepth !== null ? `queue ${v.queueDepth} · ` : ""}replicas ${d[1]}/${d[0]} ready · nodes ${v.nodes.filter((n) => n.phase === "Ready").length}/${v.nodes.length} Ready · policy ${v.policy}${v.paused ? " (paused)" : ""}`;
}

function renderControls(v: View): void {
  $("#autoscaler-paused").hidden = !v.paused;
  $("#load-form").hidden = !v.load.messages && !v.load.requests;
  $("#load-label").textContent = v.load.messages ? "Messages" : "Requests (100 per second)";
  $("#drill").hidden = !v.load.requests;
  const bg = $("#bluegreen");
  bg.hidden = !v.blueGreen;
  if (v.blueGreen) {
    const text = blueGreenLines(v.blueGreen).join("; ");
    if ($("#bluegreen-state").textContent !== text) $("#bluegreen-state").textContent = text;
  }
}

function render(): void {
  updateMarks();
  drawCharts();
  if (view) {
    renderHeader(view);
    renderWhy(view);
    renderControls(view);
    renderTables(view);
  }
  renderEvents();
}

// ---- actions ---------------------------------------------------------------------------------------

/**
 * Calls an action and says how it went: "done" (200), "started" (202, it goes on in the background and
 * its events follow), or the refusal in the control API's words. With `answer`, the reply is shown too.
 */
async function act(path: string, body: unknown, what: string, answer = false): Promise<void> {
  const out = $("#action-result");
  out.textContent = `${what}…`;
  try {
    const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const text = await res.text();
    let msg = text.trim().split("\n").pop() ?? "";
    try {
      const j = JSON.parse(msg) as { error?: string };
      if (j.error) msg = j.error;
    } catch {
      /* a line of progress, shown as it is */
    }
    const reply = answer && res.ok && msg ? ` (${msg.length > 200 ? `${msg.slice(0, 199)}…` : msg})` : "";
    out.textContent = res.ok ? `${what}: ${res.status === 202 ? "started" : "done"}${reply}` : `${what}: ${msg}`;
  } catch (e) {
    out.textContent = `${what}: ${(e as Error).message}`;
  }
}

$("#scale-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const replicas = Number($<HTMLInputElement>("#scale-replicas").value);
  const pause = $<HTMLInputElement>("#scale-pause").checked;
  void act("/api/scale", pause ? { replicas, pause } : { replicas }, `scale to ${replicas}`);
});
$("#events-filter").addEventListener("input", renderEvents);
$("#resume").addEventListener("click", () => void act("/api/autoscaler", { paused: false }, "resume the autoscaler"));
$("#load-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const n = Number($<HTMLInputElement>("#load-count").value);
  const messages = view?.load.messages ?? false;
  void act("/api/load", messages ? { messages: n } : { requests: n }, `load burst of ${n} ${messages ? "messages" : "requests"}`);
});
$("#drill-node-failure").addEventListener("click", () => void act("/api/drill/node-failure", {}, "node-failure drill"));
$("#upgrade-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const to = $<HTMLInputElement>("#upgrade-to").value.trim();
  void act("/api/upgrade", { to }, `upgrade to ${to}`, true);
});
$("#upgrade-rollback").addEventListener("click", () => void act("/api/upgrade/rollback", {}, "rollback", true));
$("#upgrade-finish").addEventListener("click", () => void act("/api/upgrade/finish", {}, "finish the upgrade", true));

// ---- stream ----------------------------------------------------------------------------------------

function connect(): void {
  const source = new EventSource("/api/stream");
  const state = $("#connection");
  source.addEventListener("backfill", (m) => {
    // Every (re)connection starts from the server's history: a reload or a dropped stream loses nothing it kept.
    const b = JSON.parse((m as MessageEvent<string>).data) as Backfill;
    samples = b.samples;
    events = b.events;
    view = b.view;
    windowSeconds = b.windowSeconds;
    state.textContent = "live";
    state.className = "live";
    render();
  });
  source.addEventListener("push", (m) => {
    const p = JSON.parse((m as MessageEvent<string>).data) as Push;
    samples.push(p.sample);
    const cutoff = p.sample.t - windowSeconds * 1000;
    while (samples.length && samples[0]!.t < cutoff) samples.shift();
    events.push(...p.events);
    if (events.length > 2000) events.splice(0, events.length - 2000);
    view = p.view;
    render();
  });
  source.addEventListener("error", () => {
    state.textContent = "reconnecting…";
    state.className = "";
  });
}

buildCharts();
connect();

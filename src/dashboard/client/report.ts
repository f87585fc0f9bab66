// The simulator report's script (runs in the browser; compiled by tsc and inlined into the report file by
// src/dashboard/sim-report.ts). Type-only imports: the report carries uPlot inline, as a global, and its
// data as JSON in <script id="report-data">, so the file opens with no server and no network.
import type UPlot from "uplot";
import type { ReportData, ReportRun } from "../sim-report.js";
import { markerOf, markerPlugin } from "./markers.js";

declare const uPlot: typeof UPlot;

interface ChartDef {
  key: string;
  title: string;
  series: { label: string; color: string; dash?: number[] }[];
  /** Counts change in steps; drawn as steps, a slope between two samples would show pods that never were. */
  stepped?: boolean;
  values: (e: ReportRun["timeline"][number]) => number[];
}

const CHARTS: ChartDef[] = [
  { key: "queue", title: "Queue length", series: [{ label: "queue length", color: "#0969da" }], values: (e) => [e.queueLength] },
  {
    key: "replicas",
    title: "Replicas",
    series: [
      { label: "replicas", color: "#6f42c1" },
      { label: "ready", color: "#1a7f37", dash: [4, 3] },
    ],
    stepped: true,
    values: (e) => [e.replicas, e.ready],
  },
  { key: "nodes", title: "Nodes", series: [{ label: "nodes", color: "#1a7f37" }], stepped: true, values: (e) => [e.nodes] },
];

function el(tag: string, text?: string, attrs: Record<string, string> = {}): HTMLElement {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function summaryTable(run: ReportRun): HTMLElement {
  const table = el("table", undefined, { class: "summary" });
  for (const [k, v] of Object.entries(run.summary)) {
    const tr = el("tr");
    // A nested figure (daemonSetsPerNode) reads as its fields.
    const text =
      v === null
        ? "—"
        : typeof v === "object"
          ? Object.entries(v as Record<string, unknown>)
              .map(([f, x]) => `${f} ${String(x)}`)
              .join(", ")
          : String(v);
    tr.append(el("th", k, { scope: "row" }), el("td", text, { "data-key": k }));
    table.append(tr);
  }
  return table;
}

function render(data: ReportData): void {
  const root = document.getElementById("runs")!;
  // Side by side, every run's y axes share one range per chart, so the eye compares heights honestly.
  const peaks = CHARTS.map((c) => Math.max(1, ...data.runs.flatMap((r) => r.timeline.flatMap((e) => c.values(e)))));
  const width = Math.max(300, Math.floor(root.clientWidth / data.runs.length) - 24);
  for (const run of data.runs) {
    const col = el("section", undefined, { class: "run", "data-policy": run.label });
    col.append(el("h2", run.label));
    // The same reasons and colours the live dashboard marks on its charts.
    const markers = run.events.flatMap((e) => {
      const m = markerOf(e.reason);
      return m ? [{ t: e.time / 1000, color: m.color }] : [];
    });
    // The timeline lists changes; the last one holds until the end of the simulated time.
    const last = run.timeline[run.timeline.length - 1];
    const timeline = last && last.t < run.summary.durationSeconds ? [...run.timeline, { ...last, t: run.summary.durationSeconds }] : run.timeline;
    const xs = timeline.map((e) => e.t);
    CHARTS.forEach((def, i) => {
      const fig = el("figure", undefined, { class: `chart chart-${def.key}` });
      fig.append(el("figcaption", def.title));
      const plot = el("div", undefined, { class: "plot" });
      fig.append(plot);
      col.append(fig);
      const opts: UPlot.Options = {
        width,
        height: 180,
        plugins: [markerPlugin(() => markers)],
        scales: { x: { time: false, range: () => [0, Math.max(1, run.summary.durationSeconds)] }, y: { range: () => [0, Math.ceil(peaks[i]! * 1.1)] } },
        axes: [{ label: "simulated seconds" }, { size: 48 }],
        series: [
          { label: "t (s)" },
          ...def.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            points: { show: false },
            ...(s.dash ? { dash: s.dash } : {}),
            ...(def.stepped ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
          })),
        ],
      };
      const rows = timeline.map(def.values);
      new uPlot(opts, [xs, ...def.series.map((_, j) => rows.map((r) => r[j]!))] as UPlot.AlignedData, plot);
    });
    col.append(el("h3", "Summary"), summaryTable(run));
    if (run.events.length) col.append(el("p", `${run.events.length} events; markers: scale (purple), node launch (blue), node stop (red)`, { class: "muted" }));
    root.append(col);
  }
}

render(JSON.parse(document.getElementById("report-data")!.textContent!) as ReportData);

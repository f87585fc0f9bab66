// `akspilot simulate --report out.html`: one self-contained HTML file with the dashboard's kind of charts
// over simulated time. uPlot's script and style and the page's own script are inlined and the data is
// embedded as JSON, so the file opens from disk, offline, years later. The simulator's types are imported
// as types only: the dashboard draws results, it never runs the simulator.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { SimResult } from "../sim/engine.js";

export interface ReportRun {
  /** What the column is headed with: the policy's name. */
  label: string;
  timeline: SimResult["timeline"];
  summary: SimResult["summary"];
  events: SimResult["events"];
}

export interface ReportData {
  title: string;
  runs: ReportRun[];
}

const CSS = `
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); }
body { margin: 0; padding: .5rem 1rem; }
h1 { font-size: 1.2rem; margin: .25rem 0; }
h2 { font-size: 1rem; margin: .5rem 0; }
h3 { font-size: .9rem; margin: .5rem 0 .25rem; }
#runs { display: flex; gap: 1rem; align-items: flex-start; }
.run { flex: 1 1 0; min-width: 0; }
figure { margin: 0 0 .5rem; border: 1px solid var(--line); border-radius: 4px; padding: .25rem; }
figcaption { font-weight: 600; }
table.summary { border-collapse: collapse; font-size: .9rem; }
table.summary th, table.summary td { text-align: left; padding: .1rem .6rem; border-bottom: 1px solid var(--line); }
.muted { color: var(--muted); }
`;

/** JSON that is safe inside a <script> element: no "</script>" or "<!--" can end or change it. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Text inlined into a <script> or <style> element, with any closing tag of that element broken up. */
const inline = (text: string, tag: "script" | "style") => text.replace(new RegExp(`</${tag}`, "gi"), `<\\/${tag}`);

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

export function simReportHtml(data: ReportData): string {
  const require = createRequire(import.meta.url);
  const uplotJs = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8");
  const uplotCss = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
  const client = (name: string) => readFileSync(fileURLToPath(new URL(`./client/${name}`, import.meta.url)), "utf8").replace(/\n\/\/# sourceMappingURL=.*$/m, "");
  const appJs = client("report.js");
  // The page's script imports the shared marker module as "./markers.js": an import map hands it over as a
  // data: URL, so the one file still needs nothing beside it.
  const importMap = { imports: { "./markers.js": `data:text/javascript;base64,${Buffer.from(client("markers.js")).toString("base64")}` } };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title>
<link rel="icon" href="data:,">
<style>${inline(uplotCss, "style")}</style>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(data.title)}</h1>
<div id="runs"></div>
<script id="report-data" type="application/json">${scriptJson(data)}</script>
<script type="importmap">${scriptJson(importMap)}</script>
<script>${inline(uplotJs, "script")}</script>
<script type="module">${inline(appJs, "script")}</script>
</body>
</html>
`;
}

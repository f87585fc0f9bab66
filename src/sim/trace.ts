import { UserError } from "../errors.js";

/**
 * A workload trace: piecewise-constant values from each row's time until the next row's.
 * `queue`: the observed approximate message count (open loop: replicas do not change it).
 * `arrivals`: messages per second arriving (closed loop: pods drain what arrives).
 */
export interface Trace {
  kind: "queue" | "arrivals";
  points: { t: number; v: number }[];
}

const HEADERS: Record<string, Trace["kind"]> = { queueLength: "queue", arrivalsPerSecond: "arrivals" };

function bad(source: string, line: number, reason: string): never {
  throw new UserError(`${source} line ${line}: ${reason}`, "fix the trace (CSV with a header t,queueLength or t,arrivalsPerSecond)");
}

function parseNumber(cell: string | undefined, field: string, source: string, line: number): number {
  const s = (cell ?? "").trim();
  const n = s === "" ? NaN : Number(s);
  if (!Number.isFinite(n)) bad(source, line, `${field} must be a number, got ${JSON.stringify(s)}`);
  if (n < 0) bad(source, line, `${field} must not be negative, got ${s}`);
  return n;
}

/** Parses a trace CSV. Blank lines and lines starting with # are skipped; times must increase. */
export function parseTraceCsv(text: string, source: string): Trace {
  const lines = text.split(/\r?\n/);
  let kind: Trace["kind"] | undefined;
  let field = "";
  const points: Trace["points"] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === "" || raw.startsWith("#")) continue;
    const cells = raw.split(",").map((c) => c.trim());
    if (kind === undefined) {
      const k = cells.length === 2 && cells[0] === "t" ? HEADERS[cells[1]!] : undefined;
      if (k === undefined) bad(source, i + 1, `unknown header ${JSON.stringify(raw)} (expected t,queueLength or t,arrivalsPerSecond)`);
      kind = k;
      field = cells[1]!;
      continue;
    }
    if (cells.length !== 2) bad(source, i + 1, `expected 2 columns (t,${field}), got ${cells.length}`);
    const t = parseNumber(cells[0], "t", source, i + 1);
    const v = parseNumber(cells[1], field, source, i + 1);
    const prev = points[points.length - 1];
    if (prev && t <= prev.t) bad(source, i + 1, `t ${t} must be greater than the previous row's ${prev.t}`);
    points.push({ t, v });
  }
  if (kind === undefined) bad(source, 1, "empty file (expected a header t,queueLength or t,arrivalsPerSecond)");
  if (points.length === 0) throw new UserError(`${source}: no rows after the header`, "add at least one row, e.g. 0,100");
  return { kind, points };
}

/** Value of the trace at time t (0 before the first row). */
export function traceValueAt(trace: Trace, t: number): number {
  let v = 0;
  for (const p of trace.points) {
    if (p.t > t) break;
    v = p.v;
  }
  return v;
}

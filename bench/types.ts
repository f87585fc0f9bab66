// What every benchmark module `npm run bench` runs provides: a name, one line saying what it measures, and
// run({ full }) returning its figures (for the dated row in BENCHMARKS.md) and a table (printed).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./cli.js";

export interface BenchOptions {
  /** Longer, more rounds (the quick mode is what `npm run bench` runs for every benchmark). */
  full: boolean;
}

export type Figures = Record<string, number | string | null>;

export interface BenchResult {
  /** Absolute figures (msg/s, ms, MiB…). */
  figures: Figures;
  /** Side-by-side ratios: the numbers a claim rests on (name says which way is better). */
  ratios: Record<string, number | null>;
  /** Markdown table printed after the run. */
  table: string;
}

/** A benchmark that cannot run on this machine says why instead of failing (no Python SDK, no chromium…). */
export class Skip extends Error {}

export interface Benchmark {
  name: string;
  description: string;
  run(o: BenchOptions): Promise<BenchResult>;
}

export function markdownTable(head: string[], rows: (string | number | null | undefined)[][]): string {
  const cell = (v: string | number | null | undefined) => (v === null || v === undefined ? "—" : String(v));
  return [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

const memo = new Map<string, Promise<string>>();

/**
 * Runs one of the compiled benchmark scripts (dist/bench/<script>.js) and returns its stdout. Memoised per
 * argument list: benchmarks that read different figures from one script's run share it.
 */
export function runScript(script: string, args: string[]): Promise<string> {
  const key = [script, ...args].join("\0");
  let p = memo.get(key);
  if (!p) {
    p = new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [join(ROOT, "dist", "bench", `${script}.js`), ...args], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d));
      child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`bench/${script} ${args.join(" ")} exited ${code}`))));
    });
    memo.set(key, p);
  }
  return p;
}

/** Polls `check` every 100 ms until it gives a value (a thrown error counts as not yet); throws after `boundMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined>, boundMs: number): Promise<T> {
  const end = Date.now() + boundMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The first line of the output that is a JSON object. */
export function jsonLine<T>(out: string): T {
  const line = out.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error("no JSON summary in the benchmark's output");
  return JSON.parse(line) as T;
}

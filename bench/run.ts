// `npm run bench` runs every benchmark in quick mode; `npm run bench -- <name> [--full]` runs one. Each prints
// its table and appends a dated row to BENCHMARKS.md (machine, Node.js version, commit, figures, ratios).
// A benchmark that cannot run here (no Python SDK, no chromium) says why and is skipped. Run after `npm run build`.
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { ROOT } from "./cli.js";
import { Skip, type Benchmark, type BenchResult } from "./types.js";
import { consumerEfficiency, consumerThroughput, referenceConsumer } from "./suite/consumer.js";
import { backlogDrain, failover, gatewayOverhead, simulatorScale, startup } from "./suite/runtime.js";
import { blueGreenSwitch, fidelityBench, identity } from "./suite/upgrade-identity-fidelity.js";

/**
 * Every benchmark, in the order `npm run bench` runs them. To add one: a module exporting a `Benchmark`
 * (bench/types.ts), imported above and listed here.
 */
export const BENCHMARKS: Benchmark[] = [
  consumerEfficiency,
  consumerThroughput,
  referenceConsumer,
  backlogDrain,
  failover,
  gatewayOverhead,
  blueGreenSwitch,
  identity,
  simulatorScale,
  fidelityBench,
  startup,
];

const RESULTS_HEADING = "## Results of `npm run bench`";

function commit(): string {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    // The rows this runner appends do not make the measured code "changed".
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md"], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return dirty ? `${sha}+changes` : sha;
  } catch {
    return "unknown";
  }
}

function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, load ${loadavg()[0]!.toFixed(1)}`;
}

const fmt = (o: Record<string, unknown>) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${v ?? "—"}`)
    .join("; ");

/** One row: date, benchmark, mode, machine, Node.js, commit, figures, ratios (or why it was skipped). */
function record(b: Benchmark, full: boolean, r: BenchResult | { skipped: string }): void {
  const file = join(ROOT, "BENCHMARKS.md");
  let text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  let add = "";
  if (!text.includes(RESULTS_HEADING)) {
    add += `${text.endsWith("\n") ? "" : "\n"}\n${RESULTS_HEADING}\n\nOne row per run, appended by \`npm run bench\` (quick) or \`npm run bench -- <name> --full\`.\n\n`;
    add += "| date (UTC) | benchmark | mode | machine | Node.js | commit | figures | ratios |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n";
  }
  const date = new Date().toISOString().slice(0, 16).replace("T", " ");
  const [figures, ratios] = "skipped" in r ? [`skipped: ${r.skipped}`, "—"] : [fmt(r.figures), fmt(r.ratios)];
  add += `| ${date} | ${b.name} | ${full ? "full" : "quick"} | ${cell(machine())} | ${process.version} | ${commit()} | ${cell(figures)} | ${cell(ratios)} |\n`;
  text += add;
  appendFileSync(file, add);
}

async function main(argv: string[]): Promise<number> {
  const full = argv.includes("--full");
  const names = argv.filter((a) => !a.startsWith("--"));
  const unknownFlag = argv.find((a) => a.startsWith("--") && a !== "--full");
  const list = () => BENCHMARKS.map((b) => `  ${b.name.padEnd(20)} ${b.description}`).join("\n");
  if (unknownFlag) {
    process.stderr.write(`npm run bench: unknown flag ${unknownFlag}; usage: npm run bench [-- <name> [--full]]\n`);
    return 2;
  }
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length) {
    process.stderr.write(`npm run bench: no benchmark named ${unknown.map((n) => `"${n}"`).join(", ")}; the benchmarks are:\n${list()}\n`);
    return 2;
  }
  if (!existsSync(join(ROOT, "dist", "bundle", "consumer.mjs"))) {
    process.stderr.write("npm run bench: the pod bundle is missing; run `npm run build` first\n");
    return 2;
  }
  const chosen = names.length ? BENCHMARKS.filter((b) => names.includes(b.name)) : BENCHMARKS;
  let failed = 0;
  for (const b of chosen) {
    process.stdout.write(`\n## ${b.name} (${full ? "full" : "quick"}): ${b.description}\n${machine()}, Node.js ${process.version}, commit ${commit()}\n\n`);
    const t0 = performance.now();
    try {
      const r = await b.run({ full });
      process.stdout.write(`${r.table}\n\n(${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
      record(b, full, r);
    } catch (e) {
      if (e instanceof Skip) {
        process.stdout.write(`skipped: ${e.message}\n`);
        record(b, full, { skipped: e.message });
      } else {
        failed++;
        process.stdout.write(`failed: ${(e as Error).message}\n`);
      }
    }
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`npm run bench: ${(e as Error).message}\n`);
    process.exit(1);
  },
);

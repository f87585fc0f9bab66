// Benchmark for the gateway (issue "A gateway that fails no request"), not run by `npm test`:
//  1. the node-failure drill in both gateway modes, side by side: `up resilient-web --gateway kube|akspilot`,
//     then `akspilot drill node-failure --json` (its own counted load, 50 req/s by default), figures as reported;
//  2. the HTTP gateway's overhead against calling a pod directly: autocannon on loopback, the same pod behind
//     both (the gateway's endpoints narrowed to it by scaling to 1 replica), alternating rounds so that the
//     machine's drift hits both sides alike. Reported: p50 added, throughput ratio (gateway / direct);
//  3. cold start from zero: `scale 0`, then one GET through the gateway — time to its answer (held while
//     the first pod starts), --time-scale 1 (the readiness probe's real 1 s initial delay included).
//
// Run after `npm run build`:  node dist/bench/gateway.js [--time-scale 1] [--rounds 3] [--seconds 5] [--json]
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { BIN, run } from "./cli.js";
import type { RuntimeFile } from "../src/local/runtime-file.js";
import type { StatusV1 } from "../src/local/status.js";
import type { NodeFailureReport } from "../src/local/drill/report.js";
import { waitFor } from "./types.js";

async function status(rt: RuntimeFile): Promise<StatusV1> {
  const res = await fetch(`${rt.controlUrl}/v1/status`, { headers: { authorization: `Bearer ${rt.token}` } });
  return (await res.json()) as StatusV1;
}

/** `up resilient-web` in a fresh directory until `fn` is done with it; always stopped after. */
async function withUp<T>(args: string[], fn: (rt: RuntimeFile, cwd: string) => Promise<T>): Promise<T> {
  const cwd = mkdtempSync(join(tmpdir(), "akspilot-bench-gw-"));
  const child: ChildProcess = spawn(process.execPath, [BIN, "up", "resilient-web", "--quiet", ...args], { cwd, stdio: "ignore" });
  try {
    const rt = await waitFor(async () => JSON.parse(readFileSync(join(cwd, ".akspilot", "runtime.json"), "utf8")) as RuntimeFile, 60_000);
    await waitFor(async () => ((await status(rt)).deployments[0]?.ready === 4 ? true : undefined), 120_000);
    return await fn(rt, cwd);
  } finally {
    child.kill("SIGINT");
    await new Promise((r) => child.once("exit", r));
    rmSync(cwd, { recursive: true, force: true });
  }
}

async function drill(mode: "kube" | "akspilot", timeScale: number, rate: number): Promise<NodeFailureReport> {
  return withUp(["--gateway", mode, "--time-scale", String(timeScale)], async (_rt, cwd) => {
    const r = await run(["drill", "node-failure", "--json", "--rate", String(rate)], cwd);
    if (r.code !== 0) throw new Error(`drill failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim()) as NodeFailureReport;
  });
}

interface Cannon {
  p50Ms: number;
  p99Ms: number;
  rps: number;
  errors: number;
}

async function cannon(url: string, seconds: number, connections: number): Promise<Cannon> {
  const r = await autocannon({ url, duration: seconds, connections, pipelining: 1 });
  return { p50Ms: r.latency.p50, p99Ms: r.latency.p99, rps: r.requests.average, errors: r.errors + r.timeouts + r.non2xx };
}

async function overhead(rounds: number, seconds: number, connections: number) {
  return withUp(["--gateway", "akspilot"], async (rt, cwd) => {
    // One pod behind the gateway, the same one called directly: the difference is the gateway alone.
    const scaled = await run(["scale", "1"], cwd);
    if (scaled.code !== 0) throw new Error(scaled.stderr);
    const s = await waitFor(async () => {
      const x = await status(rt);
      const ready = x.pods.filter((p) => p.ready && p.phase === "Running");
      return ready.length === 1 && x.pods.length === 1 ? x : undefined;
    }, 120_000);
    const pod = `http://127.0.0.1:${s.pods[0]!.port}/`;
    const gw = `${rt.gatewayUrl}/`;
    await cannon(pod, 1, connections);
    await cannon(gw, 1, connections);
    const direct: Cannon[] = [];
    const gateway: Cannon[] = [];
    for (let i = 0; i < rounds; i++) {
      direct.push(await cannon(pod, seconds, connections));
      gateway.push(await cannon(gw, seconds, connections));
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const d = {
      p50Ms: med(direct.map((x) => x.p50Ms)),
      p99Ms: med(direct.map((x) => x.p99Ms)),
      rps: med(direct.map((x) => x.rps)),
      errors: direct.reduce((a, x) => a + x.errors, 0),
    };
    const g = {
      p50Ms: med(gateway.map((x) => x.p50Ms)),
      p99Ms: med(gateway.map((x) => x.p99Ms)),
      rps: med(gateway.map((x) => x.rps)),
      errors: gateway.reduce((a, x) => a + x.errors, 0),
    };
    // Cold start: no pod at all, then a request.
    const zero = await run(["scale", "0"], cwd);
    if (zero.code !== 0) throw new Error(zero.stderr);
    await waitFor(async () => ((await status(rt)).pods.length === 0 ? true : undefined), 120_000);
    const t0 = performance.now();
    const first = await fetch(gw);
    const coldBody = await first.text();
    const coldStartMs = Math.round(performance.now() - t0);
    if (first.status !== 200) throw new Error(`cold start answered ${first.status}: ${coldBody}`);
    return {
      connections,
      seconds,
      rounds,
      direct: d,
      gateway: g,
      addedP50Ms: Math.round((g.p50Ms - d.p50Ms) * 100) / 100,
      throughputRatio: Math.round((g.rps / d.rps) * 100) / 100,
      coldStartMs,
    };
  });
}

const { values } = parseArgs({
  options: {
    "time-scale": { type: "string", default: "1" },
    rate: { type: "string", default: "50" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "10" },
    json: { type: "boolean", default: false },
  },
});
const timeScale = Number(values["time-scale"]);
const rate = Number(values.rate);
const result = {
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at start`,
  drill: { timeScale, kube: await drill("kube", timeScale, rate), akspilot: await drill("akspilot", timeScale, rate) },
  overhead: await overhead(Number(values.rounds), Number(values.seconds), Number(values.connections)),
};
if (values.json) process.stdout.write(JSON.stringify(result) + "\n");
else {
  process.stdout.write(`${result.machine}\n`);
  process.stdout.write(`node-failure drill, 4 replicas on 2 nodes, ${rate} req/s, --time-scale ${timeScale}:\n`);
  for (const m of ["kube", "akspilot"] as const) {
    const r = result.drill[m];
    process.stdout.write(
      `  --gateway ${m.padEnd(8)} requests ${r.requests}, failed ${r.failed} ${JSON.stringify(r.failures)}, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms (steady p99 ${r.steadyP99Ms} ms), max gap ${r.maxGapMs} ms, replicas restored ${r.replicasRestoredSeconds} s\n`,
    );
  }
  const o = result.overhead;
  process.stdout.write(`gateway overhead, autocannon ${o.connections} connections, ${o.rounds} × ${o.seconds} s per side, one pod:\n`);
  process.stdout.write(`  direct  p50 ${o.direct.p50Ms} ms, p99 ${o.direct.p99Ms} ms, ${Math.round(o.direct.rps)} req/s, errors ${o.direct.errors}\n`);
  process.stdout.write(`  gateway p50 ${o.gateway.p50Ms} ms, p99 ${o.gateway.p99Ms} ms, ${Math.round(o.gateway.rps)} req/s, errors ${o.gateway.errors}\n`);
  process.stdout.write(`  added p50 ${o.addedP50Ms} ms; throughput ratio ${o.throughputRatio}\n`);
  process.stdout.write(`cold start from zero through the gateway: first answer after ${o.coldStartMs} ms, status 200\n`);
}

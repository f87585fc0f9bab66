// Benchmark for the local runtime's web path (issue "One local runtime for every blueprint"):
//  1. `akspilot up resilient-web` to 4 Ready pods: the report's readySeconds over several real runs
//     (the CLI as a user starts it, time scale 1: the readiness probe's 1 s initial delay included);
//  2. the Service proxy's cost: sequential keep-alive GETs straight to one pod's port and through the
//     gateway (the LoadBalancer Service's loopback proxy), alternating blocks in one run, so the machine's
//     drift hits both sides alike. Reported as p50/p99 per side and the difference of the medians.
//
// Run after `npm run build`:  node dist/bench/web.js [--runs 5] [--requests 4000] [--json]
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BIN, run } from "./cli.js";
import { waitFor } from "./types.js";
import type { RuntimeFile } from "../src/local/runtime-file.js";
import type { StatusV1 } from "../src/local/status.js";
import { percentile } from "../src/util/time.js";

async function readySeconds(runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cwd = mkdtempSync(join(tmpdir(), "akspilot-bench-web-"));
    const r = await run(["up", "resilient-web", "--exit-when-ready", "--json", "--quiet"], cwd);
    rmSync(cwd, { recursive: true, force: true });
    if (r.code !== 0) throw new Error(`up failed: ${r.stderr}`);
    const report = JSON.parse(r.stdout.trim().split("\n").pop()!) as { readySeconds: number; ready: boolean };
    if (!report.ready) throw new Error("not ready");
    out.push(report.readySeconds);
  }
  return out;
}

function getOnce(agent: Agent, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
    });
    req.on("error", reject);
    req.end();
  });
}

async function proxyCost(requests: number): Promise<{ direct: number[]; proxied: number[] }> {
  const cwd = mkdtempSync(join(tmpdir(), "akspilot-bench-web-"));
  const child: ChildProcess = spawn(process.execPath, [BIN, "up", "resilient-web", "--gateway", "kube", "--quiet"], { cwd, stdio: "ignore" });
  try {
    const rt = await waitFor(async () => JSON.parse(readFileSync(join(cwd, ".akspilot", "runtime.json"), "utf8")) as RuntimeFile, 30_000);
    const s = await waitFor(async () => {
      const res = await fetch(`${rt.controlUrl}/v1/status`, { headers: { authorization: `Bearer ${rt.token}` } });
      const x = (await res.json()) as StatusV1;
      return x.deployments[0]?.ready === 4 ? x : undefined;
    }, 30_000);
    const gateway = Number(new URL(rt.gatewayUrl!).port);
    // One keep-alive connection per side: through the gateway it stays on one pod, as kube-proxy's does.
    const podPort = s.pods[0]!.port!;
    const direct: number[] = [];
    const proxied: number[] = [];
    const a = new Agent({ keepAlive: true, maxSockets: 1 });
    const b = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 200; i++) {
      await getOnce(a, podPort);
      await getOnce(b, gateway);
    }
    const block = 100;
    for (let done = 0; done < requests; done += block) {
      for (let i = 0; i < block; i++) direct.push(await getOnce(a, podPort));
      for (let i = 0; i < block; i++) proxied.push(await getOnce(b, gateway));
    }
    a.destroy();
    b.destroy();
    return { direct, proxied };
  } finally {
    child.kill("SIGINT");
    await new Promise((r) => child.once("exit", r));
    rmSync(cwd, { recursive: true, force: true });
  }
}

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" }, requests: { type: "string", default: "4000" }, json: { type: "boolean", default: false } } });
const runs = Number(values.runs);
const requests = Number(values.requests);
const ready = await readySeconds(runs);
const cost = await proxyCost(requests);
const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
const d = sorted(cost.direct);
const p = sorted(cost.proxied);
const result = {
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}`,
  readySeconds: { runs: ready, median: percentile(sorted(ready), 50), max: Math.max(...ready) },
  proxy: {
    requests,
    directP50Ms: percentile(d, 50),
    directP99Ms: percentile(d, 99),
    gatewayP50Ms: percentile(p, 50),
    gatewayP99Ms: percentile(p, 99),
    addedP50Ms: percentile(p, 50) - percentile(d, 50),
  },
};
if (values.json) process.stdout.write(JSON.stringify(result) + "\n");
else {
  const f = (x: number) => x.toFixed(3);
  process.stdout.write(`${result.machine}\n`);
  process.stdout.write(
    `up resilient-web → 4 Ready pods: median ${f(result.readySeconds.median)} s, max ${f(result.readySeconds.max)} s over ${runs} runs (${ready.map(f).join(", ")})\n`,
  );
  process.stdout.write(
    `GET / direct to a pod: p50 ${f(result.proxy.directP50Ms)} ms, p99 ${f(result.proxy.directP99Ms)} ms; through the gateway: p50 ${f(result.proxy.gatewayP50Ms)} ms, p99 ${f(result.proxy.gatewayP99Ms)} ms; added p50 ${f(result.proxy.addedP50Ms)} ms (${requests} each, alternating blocks of 100)\n`,
  );
}

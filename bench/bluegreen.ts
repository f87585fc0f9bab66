// Benchmark for the blue-green upgrade (not run by `npm test`): `up bluegreen`, an independent client
// process at 100 req/s through the gateway on keep-alive connections recording which cluster answered
// each request, then `akspilot upgrade --canary 10,50,100` to the switch, and `akspilot rollback`.
// Reported from the client's own record: requests, failed, and the cut-over of the switch and of the
// rollback — from the instant the gateway's backend was rewritten (its BackendWeights event) to the first
// request started afterwards that the new cluster answered; requests started afterwards that the old one
// still answered (none expected); green's observed share at each canary step.
//
// Run after `npm run build`:  node dist/bench/bluegreen.js [--rate 100] [--hold-seconds 3] [--json]
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { BIN, ROOT, run } from "./cli.js";
import { waitFor } from "./types.js";
import type { RuntimeFile } from "../src/local/runtime-file.js";
import type { StatusV1 } from "../src/local/status.js";
import type { ClusterEvent } from "../src/local/cluster/events.js";
import { cutOver, type WatchSample } from "../src/local/bluegreen/watch.js";

export interface BlueGreenFigures {
  machine: string;
  rate: number;
  holdSeconds: number;
  requests: number;
  failed: number;
  /** Requests answered by each cluster. */
  answered: Record<string, number>;
  switch: { firstNewMs: number | null; oldAfter: number };
  rollback: { firstNewMs: number | null; oldAfter: number };
  /** Green's share of the requests started during each canary step, percent. */
  canaryShares: { weight: number; greenPercent: number; requests: number }[];
  p50Ms: number;
  p99Ms: number;
}

async function api<T>(rt: RuntimeFile, path: string): Promise<T> {
  const res = await fetch(`${rt.controlUrl}${path}`, { headers: { authorization: `Bearer ${rt.token}` } });
  return (await res.json()) as T;
}

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : 0;
};

/** One rehearsal: switch with canary, then rollback, under `rate` req/s from another process. */
export async function benchBlueGreen(o: { rate?: number; holdSeconds?: number; timeScale?: number } = {}): Promise<BlueGreenFigures> {
  const rate = o.rate ?? 100;
  const holdSeconds = o.holdSeconds ?? 3;
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at start`;
  const cwd = mkdtempSync(join(tmpdir(), "akspilot-bench-bg-"));
  const up: ChildProcess = spawn(process.execPath, [BIN, "up", "bluegreen", "--quiet", "--no-dashboard", "--time-scale", String(o.timeScale ?? 20)], { cwd, stdio: "ignore" });
  let watcher: ChildProcess | undefined;
  try {
    const rt = await waitFor(async () => JSON.parse(readFileSync(join(cwd, ".akspilot", "runtime.json"), "utf8")) as RuntimeFile, 60_000);
    await waitFor(async () => ((await api<StatusV1>(rt, "/v1/status")).deployments[0]?.ready === 3 ? true : undefined), 60_000);
    const w = spawn(process.execPath, [join(ROOT, "dist", "src", "local", "bluegreen", "watch-main.js"), rt.gatewayUrl!, String(rate)], { stdio: ["pipe", "pipe", "inherit"] });
    watcher = w;
    let out = "";
    w.stdout!.on("data", (d: Buffer) => (out += d));
    const exited = new Promise((r) => w.once("exit", r));
    await new Promise((r) => setTimeout(r, 1000));
    const upg = await run(["upgrade", "--to", "1.20.7", "--canary", "10,50,100", "--hold-seconds", String(holdSeconds), "--wait"], cwd);
    if (upg.code !== 0) throw new Error(`upgrade failed: ${upg.stdout}${upg.stderr}`);
    await new Promise((r) => setTimeout(r, 5000));
    const rb = await run(["rollback", "--wait"], cwd);
    if (rb.code !== 0) throw new Error(`rollback failed: ${rb.stderr}`);
    await new Promise((r) => setTimeout(r, 3000));
    w.kill("SIGTERM");
    await exited;
    const samples = (JSON.parse(out.trim().split("\n").at(-1)!) as { samples: WatchSample[] }).samples;
    const events = await api<ClusterEvent[]>(rt, "/v1/events");
    const writes = events.filter((e) => e.reason === "BackendWeights");
    const at = (re: RegExp) => writes.find((e) => re.test(e.message))?.time ?? NaN;
    const switchAt = at(/T3: every new request to green/);
    const rollbackAt = at(/rollback: every new request to blue/);
    const canaryShares = [10, 50].map((weight) => {
      const from = at(new RegExp(`canary step: green ${weight}%`));
      const to = weight === 10 ? at(/canary step: green 50%/) : switchAt;
      const inStep = samples.filter((s) => s.start >= from && s.end <= to && s.cluster);
      return { weight, requests: inStep.length, greenPercent: Math.round((1000 * inStep.filter((s) => s.cluster === "green").length) / Math.max(1, inStep.length)) / 10 };
    });
    const answered: Record<string, number> = {};
    for (const s of samples) if (s.cluster) answered[s.cluster] = (answered[s.cluster] ?? 0) + 1;
    const ms = samples.filter((s) => s.status === 200).map((s) => s.end - s.start);
    return {
      machine,
      rate,
      holdSeconds,
      requests: samples.length,
      failed: samples.filter((s) => s.status !== 200).length,
      answered,
      switch: cutOver(samples, switchAt, "green", rollbackAt),
      rollback: cutOver(samples, rollbackAt, "blue"),
      canaryShares,
      p50Ms: Math.round(pct(ms, 0.5) * 10) / 10,
      p99Ms: Math.round(pct(ms, 0.99) * 10) / 10,
    };
  } finally {
    if (watcher && watcher.exitCode === null) watcher.kill("SIGKILL");
    up.kill("SIGINT");
    await new Promise((r) => (up.exitCode !== null ? r(undefined) : up.once("exit", r)));
    rmSync(cwd, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { rate: { type: "string", default: "100" }, "hold-seconds": { type: "string", default: "3" }, json: { type: "boolean", default: false } },
  });
  const r = await benchBlueGreen({ rate: Number(values.rate), holdSeconds: Number(values["hold-seconds"]) });
  if (values.json) process.stdout.write(JSON.stringify(r) + "\n");
  else {
    process.stdout.write(`${r.machine}\n`);
    process.stdout.write(`blue-green upgrade 1.19.11 → 1.20.7, canary 10,50,100 (${r.holdSeconds} s holds), then rollback; ${r.rate} req/s keep-alive from another process:\n`);
    process.stdout.write(
      `  requests ${r.requests}, failed ${r.failed}, answered by ${Object.entries(r.answered)
        .map(([c, n]) => `${c} ${n}`)
        .join(", ")}, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms\n`,
    );
    process.stdout.write(`  canary: ${r.canaryShares.map((c) => `weight ${c.weight}% → green answered ${c.greenPercent}% of ${c.requests}`).join("; ")}\n`);
    process.stdout.write(`  switch: first request answered by green ${r.switch.firstNewMs} ms after the backend write; blue answered ${r.switch.oldAfter} started afterwards\n`);
    process.stdout.write(
      `  rollback: first request answered by blue ${r.rollback.firstNewMs} ms after the backend write; green answered ${r.rollback.oldAfter} started afterwards\n`,
    );
  }
}

// The HTTP gateway's overhead alone, without the runtime around it (not run by `npm test`): one hello pod
// process, and one gateway process per build to compare (each in its own process, as in `up`), all on
// loopback; autocannon alternates direct / each gateway in rounds so that the machine's drift hits every
// side alike. Reported per side: median p50, p99 and req/s; per gateway: p50 added and throughput ratio.
//
// Run after `npm run build`:
//   node dist/bench/gateway-overhead.js [--rounds 5] [--seconds 5] [--connections 10]
//        [--compare /path/to/other/dist/src/local/gateway/gateway.js] [--cpu-prof dir] [--no-haproxy] [--json]
// `--compare` adds a gateway built from another tree (e.g. a copy of dist/ made before a change), so
// before and after are measured side by side in one run. `--cpu-prof dir` profiles the gateway processes.
import { spawn, type ChildProcess } from "node:child_process";
import { Agent, request } from "node:http";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Gateway } from "../src/local/gateway/gateway.js";
import { findHaproxy, startHaproxyGateway } from "../src/local/gateway/haproxy.js";
import { DEFAULT_GATEWAY_SETTINGS } from "../src/local/gateway/settings.js";

const here = dirname(fileURLToPath(import.meta.url));
const OWN_GATEWAY = resolve(here, "../src/local/gateway/gateway.js");
const HELLO = resolve(here, "../src/apps/hello/main.js");

const { values } = parseArgs({
  options: {
    serve: { type: "string" },
    endpoint: { type: "string" },
    rounds: { type: "string", default: "5" },
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "10" },
    sequential: { type: "string", default: "3000" },
    compare: { type: "string" },
    "cpu-prof": { type: "string" },
    json: { type: "boolean", default: false },
    "no-haproxy": { type: "boolean", default: false },
  },
});

if (values.serve) {
  // Gateway process: the given build's startGateway in front of one endpoint, default settings.
  const gw = (await import(pathToFileURL(values.serve).href)) as typeof import("../src/local/gateway/gateway.js");
  const st = (await import(pathToFileURL(join(dirname(values.serve), "settings.js")).href)) as typeof import("../src/local/gateway/settings.js");
  const port = Number(values.endpoint);
  const source = { list: () => [{ pod: "hello-0", node: "node-0", port, ready: true, terminating: false }], onUpdate: () => () => undefined };
  const g = await gw.startGateway(source, { settings: st.DEFAULT_GATEWAY_SETTINGS });
  process.stdout.write(`${g.url}\n`);
  process.once("SIGTERM", () => void g.close().then(() => process.exit(0)));
} else {
  await main();
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((res, rej) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf("\n");
      if (i >= 0) res(buf.slice(0, i));
    });
    child.once("exit", (code) => rej(new Error(`exited with ${code} before it was ready`)));
  });
}

interface Cannon {
  p50Ms: number;
  p99Ms: number;
  rps: number;
  errors: number;
  total: number;
}

async function cannon(url: string, seconds: number, connections: number): Promise<Cannon> {
  const r = await autocannon({ url, duration: seconds, connections, pipelining: 1 });
  return { p50Ms: r.latency.p50, p99Ms: r.latency.p99, rps: r.requests.average, errors: r.errors + r.timeouts + r.non2xx, total: r.requests.total };
}

/** CPU time (user + system) a process has used, in ms, from /proc (Linux): independent of how busy the machine is. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** One keep-alive GET, its time in ms (sub-millisecond). */
function getOnce(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Sequential GETs on one kept-alive connection per side, alternating blocks of 100: latency without queueing. */
async function sequential(sides: { name: string; url: string }[], total: number): Promise<Map<string, number[]>> {
  const agents = new Map(sides.map((s) => [s.name, new Agent({ keepAlive: true, maxSockets: 1 })]));
  const times = new Map<string, number[]>(sides.map((s) => [s.name, []]));
  for (let done = 0; done < total; done += 100) {
    for (const s of sides) for (let i = 0; i < 100; i++) times.get(s.name)!.push(await getOnce(agents.get(s.name)!, s.url));
  }
  for (const a of agents.values()) a.destroy();
  return times;
}

async function main(): Promise<void> {
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  const children: ChildProcess[] = [];
  let haproxy: (Gateway & { pid?: number }) | undefined;
  const haproxyDir = mkdtempSync(join(tmpdir(), "akspilot-bench-haproxy-"));
  const stop = () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  };
  process.once("exit", stop);
  try {
    const port = await freePort();
    const pod = spawn(process.execPath, [HELLO], { env: { ...process.env, PORT: String(port), HOSTNAME: "hello-0" }, stdio: ["ignore", "pipe", "inherit"] });
    children.push(pod);
    await firstLine(pod);
    const builds: { name: string; module: string }[] = [];
    if (values.compare) builds.push({ name: "before", module: resolve(values.compare) });
    builds.push({ name: values.compare ? "after" : "node", module: OWN_GATEWAY });
    const sides: { name: string; url: string; pid?: number }[] = [{ name: "direct", url: `http://127.0.0.1:${port}/` }];
    for (const b of builds) {
      const prof = values["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-dir", resolve(values["cpu-prof"]), "--cpu-prof-name", `gateway-${b.name}.cpuprofile`] : [];
      const c = spawn(process.execPath, [...prof, fileURLToPath(import.meta.url), "--serve", b.module, "--endpoint", String(port)], { stdio: ["ignore", "pipe", "inherit"] });
      children.push(c);
      sides.push({ name: b.name, url: `${await firstLine(c)}/`, pid: c.pid });
    }
    let withHaproxy = !values["no-haproxy"];
    try {
      if (withHaproxy) findHaproxy();
    } catch {
      withHaproxy = false;
      process.stderr.write("haproxy is not installed (apt-get install haproxy): its side is left out\n");
    }
    if (withHaproxy) {
      // The same default settings as the Node gateway, the pod as its only endpoint, no hold gateway.
      const source = { list: () => [{ pod: "hello-0", node: "node-0", port, ready: true, terminating: false }], onUpdate: () => () => undefined };
      haproxy = await startHaproxyGateway(source, { settings: DEFAULT_GATEWAY_SETTINGS, stateDir: haproxyDir });
      sides.push({ name: "haproxy", url: `${haproxy.url}/`, pid: haproxy.pid });
    }
    for (const s of sides) await cannon(s.url, 1, connections); // warm-up
    const runs = new Map<string, Cannon[]>(sides.map((s) => [s.name, []]));
    // CPU per request: the gateway process's own, the pod's (the same pod on every side) and the client's
    // (autocannon runs in this process): what the three share on a machine with few cores.
    const cpu = new Map<string, { gateway: number; pod: number; client: number; requests: number }>(sides.map((s) => [s.name, { gateway: 0, pod: 0, client: 0, requests: 0 }]));
    for (let i = 0; i < rounds; i++) {
      // Rotate the order each round so that no side always goes first.
      for (let k = 0; k < sides.length; k++) {
        const s = sides[(i + k) % sides.length]!;
        const g0 = s.pid ? cpuMs(s.pid) : 0;
        const p0 = cpuMs(pod.pid!);
        const c0 = process.cpuUsage();
        const r = await cannon(s.url, seconds, connections);
        const c1 = process.cpuUsage(c0);
        const c = cpu.get(s.name)!;
        c.client += (c1.user + c1.system) / 1000;
        c.gateway += s.pid ? cpuMs(s.pid) - g0 : 0;
        c.pod += cpuMs(pod.pid!) - p0;
        c.requests += r.total;
        runs.get(s.name)!.push(r);
      }
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
    const seq = await sequential(sides, Number(values.sequential));
    const summary = sides.map((s) => {
      const r = runs.get(s.name)!;
      return {
        side: s.name,
        p50Ms: med(r.map((x) => x.p50Ms)),
        p99Ms: med(r.map((x) => x.p99Ms)),
        rps: Math.round(med(r.map((x) => x.rps))),
        errors: r.reduce((a, x) => a + x.errors, 0),
        ratios: r.map((x, j) => Math.round((x.rps / runs.get("direct")![j]!.rps) * 100) / 100),
        seqP50Ms: Math.round(q(seq.get(s.name)!, 0.5) * 1000) / 1000,
        seqP99Ms: Math.round(q(seq.get(s.name)!, 0.99) * 1000) / 1000,
        gatewayCpuUsPerRequest: Math.round((cpu.get(s.name)!.gateway * 1000) / cpu.get(s.name)!.requests),
        podCpuUsPerRequest: Math.round((cpu.get(s.name)!.pod * 1000) / cpu.get(s.name)!.requests),
        clientCpuUsPerRequest: Math.round((cpu.get(s.name)!.client * 1000) / cpu.get(s.name)!.requests),
      };
    });
    const direct = summary[0]!;
    const result = {
      machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at start`,
      rounds,
      seconds,
      connections,
      sides: summary.map((s) => ({
        ...s,
        addedP50Ms: s.p50Ms - direct.p50Ms,
        throughputRatio: Math.round((s.rps / direct.rps) * 100) / 100,
        seqAddedP50Ms: Math.round((s.seqP50Ms - direct.seqP50Ms) * 1000) / 1000,
      })),
    };
    if (values.json) process.stdout.write(JSON.stringify(result) + "\n");
    else {
      process.stdout.write(`${result.machine}\nautocannon ${connections} connections, ${rounds} × ${seconds} s per side, one hello pod\n`);
      for (const s of result.sides) {
        process.stdout.write(
          `  ${s.side.padEnd(8)} p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, ${s.rps} req/s, errors ${s.errors}` +
            (s.side === "direct" ? "\n" : `; added p50 ${s.addedP50Ms} ms, throughput ${s.throughputRatio}× direct (per round ${s.ratios.join(", ")})\n`),
        );
      }
      process.stdout.write("CPU per request (from /proc, whatever else the machine runs):\n");
      for (const s of result.sides)
        process.stdout.write(
          `  ${s.side.padEnd(8)} client ${s.clientCpuUsPerRequest} µs, pod ${s.podCpuUsPerRequest} µs` +
            (s.side === "direct" ? "" : `, gateway ${s.gatewayCpuUsPerRequest} µs`) +
            `; all three ${s.clientCpuUsPerRequest + s.podCpuUsPerRequest + s.gatewayCpuUsPerRequest} µs\n`,
        );
      process.stdout.write(`sequential keep-alive GETs (${values.sequential} per side, alternating blocks of 100):\n`);
      for (const s of result.sides) {
        process.stdout.write(`  ${s.side.padEnd(8)} p50 ${s.seqP50Ms} ms, p99 ${s.seqP99Ms} ms` + (s.side === "direct" ? "\n" : `; added p50 ${s.seqAddedP50Ms} ms\n`));
      }
    }
  } finally {
    await haproxy?.close();
    rmSync(haproxyDir, { recursive: true, force: true });
    stop();
  }
}

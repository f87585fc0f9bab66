// One consumer replica started as the local runtime starts a pod (the bundle, the runtime's V8 flags, the
// parent-watch preload, an IPC channel), on any Node.js binary: the benchmarks' way to measure a pod.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { QueueClient } from "@azure/storage-queue";
import { stopChild } from "../src/process/child.js";
import { POD_NODE_ARGS } from "../src/local/programs.js";
import { buildMessage } from "../src/apps/message.js";
import type { ConsumerStats } from "../src/apps/consumer/consumer.js";
import { ROOT } from "./cli.js";

export const CONSUMER =
  process.env.AKSPILOT_BENCH_CONSUMER || [join(ROOT, "dist", "bundle", "consumer.mjs"), join(ROOT, "dist", "src", "apps", "consumer", "main.js")].find((p) => existsSync(p))!;
const PARENT_WATCH = join(ROOT, "dist", "src", "process", "parent-watch.js");

/** V8's code cache for the pods of this bench process, as the local runtime keeps one in its state directory. */
let cacheDir: string | undefined;
function podCacheDir(): string {
  if (!cacheDir) {
    const dir = mkdtempSync(join(tmpdir(), "akspilot-bench-cache-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    cacheDir = dir;
  }
  return cacheDir;
}

export interface Pod {
  child: ChildProcess;
  spawnedAt: number;
  readyAt: number;
  stats(): Promise<ConsumerStats>;
  /** Peak resident memory so far, from the kernel (VmHWM): includes what the 500 ms stats samples miss. */
  peakRssBytes(): number;
  stop(): Promise<void>;
}

export interface PodOptions {
  connectionString: string;
  env?: Record<string, string>;
  args?: string[];
  /** The Node.js binary (default: this one). */
  node?: string;
  nodeArgs?: string[];
  /** The consumer program (default CONSUMER): e.g. a copy of an earlier build, measured beside this one. */
  program?: string;
}

export async function startPod(o: PodOptions): Promise<Pod> {
  const spawnedAt = Date.now();
  const child = spawn(o.node ?? process.execPath, [...(o.nodeArgs ?? POD_NODE_ARGS), "--import", PARENT_WATCH, o.program ?? CONSUMER, ...(o.args ?? [])], {
    env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: o.connectionString, AKSPILOT_SKIP_ENSURE: "1", AKSPILOT_COMPILE_CACHE_DIR: podCacheDir(), ...o.env },
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  if (process.env.BENCH_POD_STDERR) child.stderr?.pipe(process.stderr);
  else child.stderr?.resume();
  const port = await new Promise<number>((resolve, reject) => {
    child.on("message", (m: { type?: string; healthPort?: number }) => {
      if (m?.type === "ready" && typeof m.healthPort === "number") resolve(m.healthPort);
    });
    child.once("exit", (code) => reject(new Error(`consumer exited (${code}) before it was ready`)));
  });
  const readyAt = Date.now();
  return {
    child,
    spawnedAt,
    readyAt,
    async stats() {
      return (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as ConsumerStats;
    },
    peakRssBytes() {
      return procStatusKiB(child.pid!, "VmHWM") * 1024;
    },
    stop: () => stopChild(child, "SIGTERM", 5000),
  };
}

/** CPU time (user + system) a process has used, in ms, from /proc (Linux): independent of how busy the machine is. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

/** A field of /proc/<pid>/status in KiB (0 when unreadable). */
export function procStatusKiB(pid: number, field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Enqueues seed messages 1..n with 32 senders. */
export async function fill(q: QueueClient, n: number, from = 1): Promise<void> {
  let next = from;
  const end = from + n - 1;
  const worker = async () => {
    while (next <= end) await q.sendMessage(buildMessage(next++));
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

export interface DrainResult {
  seconds: number;
  handled: number;
  calls: number;
  /** Peak RSS (kernel high-water mark) while draining. */
  peakRssBytes: number;
  firstReceiveMs: number;
  /** CPU the replica used from spawn to the end of the drain (start-up included), ms. */
  cpuMs: number;
  /** CPU the replica used from its first receive to the end of the drain, ms (sampled at the first stats after it). */
  drainCpuMs: number;
}

/** Starts one replica on a filled queue and waits until it has processed `n`: from its first receive to the last. */
export async function drainWithPod(o: PodOptions, n: number): Promise<DrainResult> {
  const pod = await startPod(o);
  let cpuAtFirst: number | undefined;
  try {
    for (;;) {
      const s = await pod.stats();
      if (s.firstReceiveAt !== undefined) cpuAtFirst ??= cpuMs(pod.child.pid!);
      if (s.processed >= n) {
        const cpu = cpuMs(pod.child.pid!);
        const done = Date.now();
        if (process.env.BENCH_POD_SMAPS)
          process.stderr.write(
            `RssAnon ${procStatusKiB(pod.child.pid!, "RssAnon")} kB, RssFile ${procStatusKiB(pod.child.pid!, "RssFile")} kB, threads ${readFileSync(`/proc/${pod.child.pid}/status`, "utf8").match(/Threads:\s+(\d+)/)?.[1]}\n`,
          );
        return {
          seconds: (done - s.firstReceiveAt!) / 1000,
          handled: s.processed,
          calls: s.storageCalls,
          peakRssBytes: pod.peakRssBytes(),
          firstReceiveMs: s.firstReceiveAt! - pod.spawnedAt,
          cpuMs: cpu,
          drainCpuMs: cpu - (cpuAtFirst ?? 0),
        };
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await pod.stop();
  }
}

import type { ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { freezeChild, spawnNodeChild } from "../../process/child.js";

/** What a container runs: a Node.js program with its arguments and environment. */
export interface ContainerSpec {
  pod: string;
  node: string;
  script: string;
  args: string[];
  nodeArgs?: string[];
  env: Record<string, string>;
  /** The loopback port the app must listen on (the pod's "IP:containerPort"). */
  port: number;
}

export interface ContainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The first line the program printed on stderr before dying (why it failed), if any. */
  reason?: string;
}

/** A running container, as the kubelet sees it. */
export interface Container {
  readonly pid?: number;
  readonly exited: Promise<ContainerExit>;
  kill(signal: "SIGTERM" | "SIGKILL"): void;
  /** The VM stopped: the process stops running but keeps its sockets (peers see silence, not resets). */
  freeze(): void;
  thaw(): void;
  /** HTTP GET on the container's port: true for a 200–399 answer within the timeout. */
  probe(path: string, timeoutMs: number): Promise<boolean>;
  /** Messages the program sends to its runtime (counters), and a way to tell it work is waiting. */
  onMessage(fn: (m: unknown) => void): void;
  send(m: unknown): void;
}

/** Starts containers: real child processes here, in-process fakes in the controllers' tests. */
export interface PodRunner {
  start(spec: ContainerSpec): Container;
}

/** Lines that say why a program failed: the last one that looks like an error, else the last line. */
function reasonOf(stderrTail: string): string | undefined {
  const lines = stderrTail
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const err = [...lines].reverse().find((l) => /error|refused|denied|forbidden|403|cannot|failed/i.test(l));
  const line = err ?? lines[lines.length - 1];
  return line ? line.slice(0, 300) : undefined;
}

export interface ProcessRunnerOptions {
  /** Each pod's output goes to `<logDir>/<pod>.log`; nowhere when omitted. */
  logDir?: string;
  /**
   * Where pods keep V8's code cache (src/process/code-cache.ts), named to them as AKSPILOT_COMPILE_CACHE_DIR:
   * the first pod of a build writes it and every later pod, of this run or the next, starts without compiling.
   */
  compileCacheDir?: string;
}

/** Runs each container as a real Node.js child process. */
export class ProcessRunner implements PodRunner {
  private readonly logDir?: string;
  private readonly cacheEnv: Record<string, string>;

  constructor(o: ProcessRunnerOptions = {}) {
    this.logDir = o.logDir;
    this.cacheEnv = o.compileCacheDir ? { AKSPILOT_COMPILE_CACHE_DIR: o.compileCacheDir } : {};
  }

  start(spec: ContainerSpec): Container {
    const child: ChildProcess = spawnNodeChild(spec.script, spec.args, {
      env: { ...process.env, ...this.cacheEnv, ...spec.env, POD_NAME: spec.pod, HOSTNAME: spec.pod, NODE_NAME: spec.node, PORT: String(spec.port) },
      stdio: ["ignore", "pipe", "pipe"],
      nodeArgs: spec.nodeArgs,
    });
    const log: WriteStream | undefined = this.logDir ? createWriteStream(join(this.logDir, `${spec.pod}.log`), { flags: "a" }) : undefined;
    let stderrTail = "";
    child.stdout?.on("data", (d: Buffer) => log?.write(d));
    child.stderr?.on("data", (d: Buffer) => {
      log?.write(d);
      stderrTail = (stderrTail + d.toString("utf8")).slice(-4096);
    });
    const exited = new Promise<ContainerExit>((resolve) => {
      child.once("exit", (code, signal) => {
        // Output may still be in the pipes: let it arrive before closing the log.
        setImmediate(() => {
          log?.end();
          resolve({ code, signal, reason: code !== 0 && signal === null ? reasonOf(stderrTail) : undefined });
        });
      });
    });
    const signal = (sig: NodeJS.Signals) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        child.kill(sig);
      } catch {
        /* already gone */
      }
    };
    return {
      pid: child.pid,
      exited,
      kill: (sig) => {
        // A frozen process must run again to act on SIGTERM; SIGKILL needs no help.
        if (sig === "SIGTERM") freezeChild(child, false);
        signal(sig);
      },
      freeze: () => freezeChild(child, true),
      thaw: () => freezeChild(child, false),
      async probe(path, timeoutMs) {
        try {
          const res = await fetch(`http://127.0.0.1:${spec.port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
          await res.arrayBuffer();
          return res.status >= 200 && res.status < 400;
        } catch {
          return false;
        }
      },
      onMessage: (fn) => child.on("message", fn),
      send: (m) => {
        // A child that has just exited can still look connected: the send then fails (EPIPE) and, without
        // a callback, that failure would be an unhandled 'error' event that ends the whole run.
        if (child.connected) child.send(m as never, () => undefined);
      },
    };
  }
}

import type { ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { spawnNodeChild } from "../../process/child.js";
import type { Resources } from "../../scaling/quantity.js";
import type { Toleration } from "../../blueprints/types.js";

export interface ProbeSettings {
  path: string;
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
  initialDelayMs: number;
}

/** What a pod runs: a Node.js program, its arguments and environment, and its resource requests. */
export interface PodTemplate {
  app: string;
  script: string;
  args: string[];
  /** Node.js flags, e.g. heap limits that keep the process inside its memory request. */
  nodeArgs?: string[];
  env: Record<string, string>;
  requests: Resources;
  tolerations?: Toleration[];
  /** terminationGracePeriodSeconds, in ms: SIGTERM first, SIGKILL only after this. */
  graceMs: number;
  readiness?: ProbeSettings;
  liveness?: ProbeSettings;
}

export type PodPhase = "Pending" | "Running" | "Terminating" | "Succeeded" | "Failed";

/** Counters a pod reports over IPC (the consumer's ConsumerStats, or any app's own). */
export type PodStats = Record<string, number | boolean | undefined> & { inFlight?: number; processed?: number; storageCalls?: number };

export interface PodHooks {
  changed(pod: Pod): void;
  /** The pod left its node (stopped, killed or evicted). */
  left?(pod: Pod): void;
  event(type: "Normal" | "Warning", pod: Pod, reason: string, message: string): void;
  logDir?: string;
  /** Restart backoff base, ms (kubelet: 10 s, doubling, capped at 300 s). */
  restartBackoffMs: number;
}

/** A pod: one real child process bound to a virtual node, with probes and a graceful stop. */
export class Pod {
  phase: PodPhase = "Pending";
  nodeName?: string;
  ready = false;
  restarts = 0;
  pid?: number;
  port?: number;
  stats: PodStats = {};
  readonly createdAt = Date.now();
  scheduledAt?: number;
  startedAt?: number;
  readyAt?: number;
  finishedAt?: number;
  private child?: ChildProcess;
  private log?: WriteStream;
  private probeTimers: NodeJS.Timeout[] = [];
  private restartTimer?: NodeJS.Timeout;
  private exited?: Promise<void>;
  private readinessFailures = 0;
  private livenessFailures = 0;

  constructor(readonly name: string, readonly template: PodTemplate, private readonly hooks: PodHooks) {}

  get requests(): Resources {
    return this.template.requests;
  }

  /** In-flight work: the pod-deletion-cost the ReplicaSet uses to remove idle pods first. */
  get deletionCost(): number {
    return Number(this.stats.inFlight ?? 0);
  }

  get active(): boolean {
    return this.phase === "Pending" || this.phase === "Running";
  }

  bind(nodeName: string): void {
    this.nodeName = nodeName;
    this.scheduledAt = Date.now();
    this.phase = "Running";
    if (this.hooks.logDir) this.log = createWriteStream(join(this.hooks.logDir, `${this.name}.log`), { flags: "a" });
    this.startProcess();
  }

  private startProcess(): void {
    const child = spawnNodeChild(this.template.script, this.template.args, {
      env: { ...process.env, ...this.template.env, POD_NAME: this.name, NODE_NAME: this.nodeName ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
      nodeArgs: this.template.nodeArgs,
    });
    this.child = child;
    this.pid = child.pid;
    this.startedAt = Date.now();
    this.ready = false;
    child.stdout?.on("data", (d: Buffer) => this.log?.write(d));
    child.stderr?.on("data", (d: Buffer) => this.log?.write(d));
    child.on("message", (m: { type?: string; healthPort?: number; stats?: PodStats }) => {
      if (m?.type === "ready") {
        this.port = m.healthPort;
        this.startProbes();
        if (!this.template.readiness) this.markReady(true);
      } else if (m?.type === "stats" && m.stats) {
        this.stats = m.stats;
      }
    });
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => {
      this.stopProbes();
      this.onExit(code, signal);
      resolve();
    }));
    this.hooks.event("Normal", this, "Started", `started pid ${child.pid} on node ${this.nodeName}`);
    this.hooks.changed(this);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.ready = false;
    this.pid = undefined;
    if (this.phase === "Terminating") {
      this.phase = "Succeeded";
      this.finishedAt = Date.now();
      this.log?.end();
      this.hooks.event("Normal", this, "Killing", `stopped (${signal ?? `exit ${code}`})`);
      this.hooks.left?.(this);
    } else if (this.phase === "Running") {
      // Crashed: restart in place with kubelet-style backoff.
      this.restarts++;
      const delay = Math.min(this.hooks.restartBackoffMs * 2 ** (this.restarts - 1), this.hooks.restartBackoffMs * 30);
      this.hooks.event("Warning", this, "BackOff", `process exited (${signal ?? `code ${code}`}); restart ${this.restarts} in ${Math.round(delay)} ms`);
      this.restartTimer = setTimeout(() => {
        if (this.phase === "Running") this.startProcess();
      }, delay);
    }
    this.hooks.changed(this);
  }

  private markReady(ready: boolean): void {
    if (this.ready === ready) return;
    this.ready = ready;
    if (ready) this.readyAt ??= Date.now();
    this.hooks.event(ready ? "Normal" : "Warning", this, ready ? "Ready" : "Unhealthy", ready ? "readiness probe passed" : "readiness probe failed");
    this.hooks.changed(this);
  }

  private startProbes(): void {
    this.stopProbes();
    const probe = async (p: ProbeSettings): Promise<boolean> => {
      if (!this.port) return false;
      try {
        const res = await fetch(`http://127.0.0.1:${this.port}${p.path}`, { signal: AbortSignal.timeout(p.timeoutMs) });
        await res.arrayBuffer();
        return res.status >= 200 && res.status < 400;
      } catch {
        return false;
      }
    };
    const every = (p: ProbeSettings, fn: (ok: boolean) => void) => {
      const start = setTimeout(() => {
        const tick = async () => fn(await probe(p));
        void tick();
        const t = setInterval(() => void tick(), p.periodMs);
        this.probeTimers.push(t);
      }, p.initialDelayMs);
      this.probeTimers.push(start);
    };
    const r = this.template.readiness;
    if (r) every(r, (ok) => {
      this.readinessFailures = ok ? 0 : this.readinessFailures + 1;
      if (ok) this.markReady(true);
      else if (this.readinessFailures >= r.failureThreshold) this.markReady(false);
    });
    const l = this.template.liveness;
    if (l) every(l, (ok) => {
      this.livenessFailures = ok ? 0 : this.livenessFailures + 1;
      if (this.livenessFailures >= l.failureThreshold && this.phase === "Running") {
        this.livenessFailures = 0;
        this.hooks.event("Warning", this, "Unhealthy", `liveness probe failed ${l.failureThreshold} times; restarting`);
        this.child?.kill("SIGKILL");
      }
    });
  }

  private stopProbes(): void {
    for (const t of this.probeTimers) clearTimeout(t);
    this.probeTimers = [];
  }

  /** Graceful delete: SIGTERM, then SIGKILL only if the grace period runs out. */
  async terminate(reason: string): Promise<void> {
    if (this.phase === "Pending") {
      this.phase = "Succeeded";
      this.finishedAt = Date.now();
      this.hooks.event("Normal", this, "Deleted", `deleted while pending: ${reason}`);
      this.hooks.changed(this);
      return;
    }
    if (this.phase !== "Running") return this.exited;
    this.phase = "Terminating";
    this.ready = false;
    clearTimeout(this.restartTimer);
    this.hooks.event("Normal", this, "Terminating", `${reason}; SIGTERM, grace ${this.template.graceMs} ms, in-flight ${this.deletionCost}`);
    this.hooks.changed(this);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.phase = "Succeeded";
      this.finishedAt = Date.now();
      this.hooks.changed(this);
      return;
    }
    const timer = setTimeout(() => {
      this.hooks.event("Warning", this, "GracePeriodExceeded", "still running after the grace period; SIGKILL");
      child.kill("SIGKILL");
    }, this.template.graceMs);
    child.kill("SIGTERM");
    await this.exited;
    clearTimeout(timer);
  }

  /** The node lost power: the process dies at once, with no chance to release its messages. */
  async kill(reason: string): Promise<void> {
    clearTimeout(this.restartTimer);
    const wasPending = this.phase === "Pending";
    this.phase = "Failed";
    this.ready = false;
    this.finishedAt = Date.now();
    this.hooks.event("Warning", this, "NodeLost", reason);
    if (!wasPending && this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
    this.log?.end();
    this.hooks.left?.(this);
    this.hooks.changed(this);
  }

  /** Tells the app that work is waiting (ends a consumer's idle backoff). */
  wake(): void {
    if (this.child?.connected) this.child.send({ type: "wake" });
  }
}

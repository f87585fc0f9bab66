import type { Resources } from "../../scaling/quantity.js";
import type { Toleration, TopologySpread } from "../../blueprints/types.js";
import type { Clock, Timer } from "./clock.js";
import type { Container, ContainerExit, PodRunner } from "./runner.js";
import { crashLoopDelayMs, type BackoffSettings } from "./backoff.js";

export interface ProbeSettings {
  path: string;
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
  initialDelayMs: number;
}

/** A pod's spec as the local cluster runs it: a Node.js program, its requests, tolerations and probes. */
export interface PodTemplate {
  /** The Deployment (or Job) the pod belongs to. */
  app: string;
  labels: Record<string, string>;
  script: string;
  args: string[];
  /** Node.js flags, e.g. heap limits that keep the process inside its memory request. */
  nodeArgs?: string[];
  env: Record<string, string>;
  /** Variables (besides PORT) that tell the program which port to listen on. */
  portEnv?: string[];
  requests: Resources;
  tolerations: Toleration[];
  topologySpread?: TopologySpread[];
  /** terminationGracePeriodSeconds, in ms: SIGTERM first, SIGKILL only after this (preStop included). */
  graceMs: number;
  /** A preStop sleep, in ms: the pod keeps serving while load balancers stop sending to it. */
  preStopMs?: number;
  /**
   * The app keeps `controller.kubernetes.io/pod-deletion-cost` at its in-flight work (the blueprint's
   * podDeletionCost). Without it the annotation is unset and the ReplicaSet ranks every pod at cost 0.
   */
  deletionCostAnnotation?: boolean;
  readiness?: ProbeSettings;
  liveness?: ProbeSettings;
  startup?: ProbeSettings;
}

export type PodPhase = "Pending" | "Running" | "Terminating" | "Succeeded" | "Failed";

/** Counters a pod reports over IPC (the consumer's ConsumerStats, or any app's own). */
export type PodStats = Record<string, number | boolean | undefined> & { inFlight?: number; processed?: number; storageCalls?: number };

export interface PodContext {
  clock: Clock;
  runner: PodRunner;
  /** The pod's loopback port (its "IP"), kept across container restarts. */
  allocatePort(): Promise<number>;
  backoff: BackoffSettings;
  changed(pod: Pod): void;
  /** The pod left its node (finished, killed or evicted). */
  left?(pod: Pod): void;
  event(type: "Normal" | "Warning", pod: Pod, reason: string, message: string): void;
}

/**
 * A pod and its kubelet: one container (a real child process, or a fake in tests) bound to a node,
 * probed as the spec says, restarted with CrashLoopBackOff, and stopped gracefully (preStop, SIGTERM,
 * SIGKILL after the grace period). A node that loses power stops its kubelet: nothing is probed, the
 * process is frozen, and only the node controller can change what the cluster believes about the pod.
 */
export class Pod {
  phase: PodPhase = "Pending";
  nodeName?: string;
  ready = false;
  restarts = 0;
  pid?: number;
  port?: number;
  stats: PodStats = {};
  readonly createdAt: number;
  scheduledAt?: number;
  startedAt?: number;
  readyAt?: number;
  /** When the pod last turned Ready (its Ready condition's lastTransitionTime); undefined while not ready. */
  readySince?: number;
  finishedAt?: number;
  /** When deletion was asked for (the API's deletionTimestamp). */
  deletingAt?: number;
  /** Why the container is not running: ContainerCreating, CrashLoopBackOff. */
  waiting?: string;
  /** The last failure of the container, in the program's own words (first error line). */
  lastFailure?: string;
  /** Why the scheduler could not place the pod, as `kubectl describe` shows it. */
  unschedulable?: string;
  private container?: Container;
  private timers: Timer[] = [];
  private restartTimer?: Timer;
  private graceTimer?: Timer;
  private kubeletOn = true;
  private started = false;
  private readinessRun = { ok: 0, fail: 0 };
  private livenessFails = 0;
  private startupFails = 0;
  private crashStreak = 0;
  private done?: Promise<void>;
  private resolveDone?: () => void;

  constructor(
    readonly name: string,
    readonly template: PodTemplate,
    private readonly ctx: PodContext,
  ) {
    this.createdAt = ctx.clock.now();
  }

  get requests(): Resources {
    return this.template.requests;
  }

  /** In-flight work: the pod-deletion-cost the ReplicaSet uses to remove idle pods first. */
  get deletionCost(): number {
    return Number(this.stats.inFlight ?? 0);
  }

  /** Counts toward the ReplicaSet's replicas (no deletion asked, not finished). */
  get active(): boolean {
    return this.phase === "Pending" || this.phase === "Running";
  }

  /** Holds a place on its node: bound and not finished (terminating pods still use their requests). */
  get bound(): boolean {
    return this.nodeName !== undefined && (this.phase === "Running" || this.phase === "Terminating");
  }

  /** `pullMs`: the node does not have the image yet (the kubelet pulls it before the container starts). */
  bind(nodeName: string, pullMs = 0): void {
    this.nodeName = nodeName;
    this.scheduledAt = this.ctx.clock.now();
    this.phase = "Running";
    this.waiting = "ContainerCreating";
    this.done = new Promise((r) => (this.resolveDone = r));
    if (pullMs > 0) this.timers.push(this.ctx.clock.setTimeout(() => void this.startContainer(), pullMs));
    else void this.startContainer();
  }

  private async startContainer(): Promise<void> {
    if (this.phase !== "Running" || !this.kubeletOn || this.container) return;
    this.port ??= await this.ctx.allocatePort();
    if (this.phase !== "Running" || !this.kubeletOn || this.container) return;
    const container = this.ctx.runner.start({
      pod: this.name,
      node: this.nodeName!,
      script: this.template.script,
      args: this.template.args,
      nodeArgs: this.template.nodeArgs,
      env: Object.fromEntries([...Object.entries(this.template.env), ...(this.template.portEnv ?? []).map((k) => [k, String(this.port)])]),
      port: this.port,
    });
    this.container = container;
    this.pid = container.pid;
    this.startedAt = this.ctx.clock.now();
    this.waiting = undefined;
    this.ready = false;
    this.started = !this.template.startup;
    this.readinessRun = { ok: 0, fail: 0 };
    this.livenessFails = 0;
    this.startupFails = 0;
    container.onMessage((m) => {
      const msg = m as { type?: string; stats?: PodStats };
      if (msg?.type === "stats" && msg.stats) this.stats = msg.stats;
    });
    void container.exited.then((exit) => this.onExit(container, exit));
    this.ctx.event("Normal", this, "Started", `started pid ${container.pid ?? "-"} on node ${this.nodeName}, port ${this.port}`);
    this.startProbes();
    this.ctx.changed(this);
  }

  private onExit(container: Container, exit: ContainerExit): void {
    if (this.container !== container) return;
    this.container = undefined;
    this.pid = undefined;
    this.stopProbes();
    const how = exit.signal ?? `exit code ${exit.code}`;
    if (exit.reason) this.lastFailure = exit.reason;
    // Another process took the pod's port: the next container gets a new one (locally a pod's "IP" can move).
    if (exit.reason && /EADDRINUSE/.test(exit.reason)) this.port = undefined;
    if (this.phase === "Terminating") {
      this.finish("Succeeded", "Killing", `stopped (${how})`);
      return;
    }
    if (this.phase !== "Running") return;
    this.ready = false;
    if (!this.kubeletOn) return; // the VM is off; the kubelet restarts containers when it is back
    // Crashed (or killed by its liveness probe): restart in place with the kubelet's backoff.
    const ranMs = this.ctx.clock.now() - (this.startedAt ?? this.ctx.clock.now());
    this.crashStreak = ranMs >= this.ctx.backoff.resetAfterMs ? 1 : this.crashStreak + 1;
    this.restarts++;
    const delay = crashLoopDelayMs(this.crashStreak, this.ctx.backoff);
    this.waiting = "CrashLoopBackOff";
    this.ctx.event("Warning", this, "BackOff", `container exited (${how})${exit.reason ? `: ${exit.reason}` : ""}; restart ${this.restarts} in ${Math.round(delay)} ms`);
    this.restartTimer = this.ctx.clock.setTimeout(() => void this.startContainer(), delay);
    this.ctx.changed(this);
  }

  private finish(phase: "Succeeded" | "Failed", reason: string, message: string): void {
    this.phase = phase;
    this.ready = false;
    this.finishedAt = this.ctx.clock.now();
    this.ctx.clock.clearTimeout(this.graceTimer);
    this.ctx.clock.clearTimeout(this.restartTimer);
    this.stopProbes();
    this.ctx.event(phase === "Failed" ? "Warning" : "Normal", this, reason, message);
    if (this.nodeName) this.ctx.left?.(this);
    this.resolveDone?.();
    this.ctx.changed(this);
  }

  setReady(ready: boolean, why: string): void {
    if (this.ready === ready) return;
    this.ready = ready;
    if (ready) this.readyAt ??= this.ctx.clock.now();
    this.readySince = ready ? this.ctx.clock.now() : undefined;
    this.ctx.event(ready ? "Normal" : "Warning", this, ready ? "Ready" : "NotReady", why);
    this.ctx.changed(this);
  }

  private startProbes(): void {
    this.stopProbes();
    const t = this.template;
    if (t.startup) {
      const s = t.startup;
      this.every(s, s.initialDelayMs, (ok) => {
        if (this.started) return;
        if (ok) {
          this.started = true;
          this.ctx.event("Normal", this, "Started", "startup probe passed");
          this.stopProbes(); // the kubelet stops probing startup once it has passed
          this.startMainProbes();
        } else if (++this.startupFails >= s.failureThreshold) {
          this.ctx.event("Warning", this, "Unhealthy", `startup probe failed ${s.failureThreshold} times; restarting the container`);
          this.restartContainer();
        }
      });
    } else this.startMainProbes();
  }

  private startMainProbes(): void {
    const t = this.template;
    // After a startup probe the others start at once; their initial delays count from the container start.
    const every = (p: ProbeSettings, fn: (ok: boolean) => void) => this.every(p, t.startup ? 0 : p.initialDelayMs, fn);
    // No readiness probe: Ready as soon as the container runs.
    if (!t.readiness) this.setReady(true, "container started (no readiness probe)");
    else {
      const r = t.readiness;
      every(r, (ok) => {
        if (this.phase !== "Running") return;
        if (ok) {
          this.readinessRun = { ok: this.readinessRun.ok + 1, fail: 0 };
          if (this.readinessRun.ok >= r.successThreshold) this.setReady(true, "readiness probe passed");
        } else {
          this.readinessRun = { ok: 0, fail: this.readinessRun.fail + 1 };
          // Readiness is Failure until the first success; after that it takes failureThreshold misses.
          if (this.readinessRun.fail >= r.failureThreshold) this.setReady(false, `readiness probe failed ${r.failureThreshold} times`);
        }
      });
    }
    if (t.liveness) {
      const l = t.liveness;
      every(l, (ok) => {
        if (this.phase !== "Running") return;
        this.livenessFails = ok ? 0 : this.livenessFails + 1;
        if (this.livenessFails >= l.failureThreshold) {
          this.livenessFails = 0;
          this.ctx.event("Warning", this, "Unhealthy", `liveness probe failed ${l.failureThreshold} times; restarting the container`);
          this.restartContainer();
        }
      });
    }
  }

  /** Runs a probe after `delayMs`, then every period; an answer from a replaced container is stale. */
  private every(p: ProbeSettings, delayMs: number, fn: (ok: boolean) => void): void {
    const run = async () => {
      const c = this.container;
      if (!c || !this.kubeletOn) return;
      const ok = await c.probe(p.path, p.timeoutMs);
      if (c === this.container && this.kubeletOn) fn(ok);
    };
    this.timers.push(
      this.ctx.clock.setTimeout(() => {
        void run();
        this.timers.push(this.ctx.clock.setInterval(() => void run(), p.periodMs));
      }, delayMs),
    );
  }

  /** The kubelet kills the container (grace period, then SIGKILL); it then restarts with backoff. */
  private restartContainer(): void {
    const c = this.container;
    if (!c) return;
    this.stopProbes();
    this.setReady(false, "container is being restarted");
    c.kill("SIGTERM");
    const t = this.ctx.clock.setTimeout(() => c.kill("SIGKILL"), this.template.graceMs);
    void c.exited.then(() => this.ctx.clock.clearTimeout(t));
  }

  private stopProbes(): void {
    for (const t of this.timers) this.ctx.clock.clearTimeout(t);
    this.timers = [];
  }

  /**
   * Graceful delete: not ready at once (endpoints drop it), preStop, SIGTERM, SIGKILL when the grace period
   * runs out. On a node whose kubelet is gone the pod stays Terminating until the node is back or deleted.
   */
  terminate(reason: string): Promise<void> {
    if (this.phase === "Pending") {
      this.deletingAt = this.ctx.clock.now();
      this.finish("Succeeded", "Deleted", `deleted while pending: ${reason}`);
      return Promise.resolve();
    }
    if (this.phase !== "Running") return this.done ?? Promise.resolve();
    this.phase = "Terminating";
    this.deletingAt = this.ctx.clock.now();
    this.ready = false;
    this.ctx.clock.clearTimeout(this.restartTimer);
    const pre = this.template.preStopMs ?? 0;
    this.ctx.event(
      "Normal",
      this,
      "Terminating",
      `${reason}; ${pre > 0 ? `preStop ${Math.round(pre)} ms, then ` : ""}SIGTERM, grace ${this.template.graceMs} ms, in-flight ${this.deletionCost}`,
    );
    this.ctx.changed(this);
    if (this.kubeletOn) this.stopContainer();
    return this.done ?? Promise.resolve();
  }

  private stopContainer(): void {
    const c = this.container;
    if (!c) {
      this.finish("Succeeded", "Killing", "no container was running");
      return;
    }
    const pre = this.template.preStopMs ?? 0;
    const sigterm = () => {
      if (this.container === c) c.kill("SIGTERM");
    };
    if (pre > 0) this.timers.push(this.ctx.clock.setTimeout(sigterm, Math.min(pre, this.template.graceMs)));
    else sigterm();
    this.graceTimer = this.ctx.clock.setTimeout(() => {
      if (this.container !== c) return;
      this.ctx.event("Warning", this, "GracePeriodExceeded", "still running after the grace period; SIGKILL");
      c.kill("SIGKILL");
    }, this.template.graceMs);
  }

  /** The node's VM switched off: the kubelet stops (no probes, no restarts) and the process freezes. */
  nodeLost(): void {
    if (!this.kubeletOn) return;
    this.kubeletOn = false;
    this.stopProbes();
    this.ctx.clock.clearTimeout(this.restartTimer);
    this.ctx.clock.clearTimeout(this.graceTimer);
    this.container?.freeze();
  }

  /**
   * The VM is back (it rebooted): containers did not survive. A pod that was deleted meanwhile finishes
   * terminating; one that was not starts a fresh container at once (a reboot, not a crash: no backoff).
   */
  nodeBack(): void {
    if (this.kubeletOn) return;
    this.kubeletOn = true;
    const c = this.container;
    this.container = undefined;
    this.pid = undefined;
    c?.kill("SIGKILL");
    if (this.phase === "Terminating") {
      this.finish("Succeeded", "Killing", "node is back; the deleted pod finished terminating");
      return;
    }
    if (this.phase !== "Running") return;
    if (c) this.restarts++;
    this.ready = false;
    this.ctx.event("Normal", this, "NodeRebooted", "node is back; starting the container again");
    void this.startContainer();
  }

  /** Gone with its node (the Node object was deleted, or PodGC removed the orphan): the process dies now. */
  kill(reason: string): Promise<void> {
    const c = this.container;
    this.container = undefined;
    this.pid = undefined;
    c?.kill("SIGKILL");
    if (this.phase === "Succeeded" || this.phase === "Failed") return Promise.resolve();
    this.finish("Failed", "NodeLost", reason);
    return c ? c.exited.then(() => undefined) : Promise.resolve();
  }

  /** Whether the kubelet on the pod's node is running (false while its VM is off). */
  get kubeletRunning(): boolean {
    return this.kubeletOn;
  }

  /** Tells the app that work is waiting (ends a consumer's idle backoff). */
  wake(): void {
    this.container?.send({ type: "wake" });
  }
}

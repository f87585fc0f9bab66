// An in-process PodRunner for the cluster controllers' tests: containers are objects whose probe answers,
// exits, crashes and freezes the test decides, on the cluster's fake clock.
import type { Clock, FakeClock } from "../../src/local/cluster/clock.js";
import type { Container, ContainerExit, ContainerSpec, PodRunner } from "../../src/local/cluster/runner.js";

type Signal = "SIGTERM" | "SIGKILL";

/** A fake container: answers probes as told, exits on a signal (SIGTERM can be made to hang), can crash. */
export class FakeContainer implements Container {
  readonly pid: number;
  readonly exited: Promise<ContainerExit>;
  /** Signals received, in order. */
  readonly signals: Signal[] = [];
  /** Probes received: path and clock time. */
  readonly probes: { path: string; at: number }[] = [];
  /** Messages the runtime sent to the program. */
  readonly received: unknown[] = [];
  /** How it ended, once it has. */
  exit?: ContainerExit;
  /** When it ended (clock time). */
  exitedAt?: number;
  frozen = false;
  /** A program that ignores SIGTERM: only SIGKILL ends it (the grace period runs out). */
  ignoreSigterm: boolean;
  private readonly answers: Map<string, boolean>;
  private resolveExit!: (e: ContainerExit) => void;
  private readonly listeners: ((m: unknown) => void)[] = [];

  constructor(
    readonly spec: ContainerSpec,
    readonly startedAt: number,
    pid: number,
    private readonly clock: Clock,
    answers: Record<string, boolean>,
    ignoreSigterm: boolean,
  ) {
    this.pid = pid;
    this.answers = new Map(Object.entries(answers));
    this.ignoreSigterm = ignoreSigterm;
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** What a probe of `path` answers from now on (true: 200, false: 500). */
  answer(path: string, ok: boolean): void {
    this.answers.set(path, ok);
  }

  /** The program dies on its own (exit code, and the error line it printed). */
  crash(code = 1, reason?: string): void {
    this.end({ code, signal: null, ...(reason ? { reason } : {}) });
  }

  /** The program reports counters to its runtime (as the consumer reports in-flight messages). */
  report(stats: Record<string, number>): void {
    for (const l of this.listeners) l({ type: "stats", stats });
  }

  kill(signal: Signal): void {
    this.signals.push(signal);
    if (!this.running) return;
    if (signal === "SIGKILL") {
      this.end({ code: null, signal });
      return;
    }
    // A frozen process runs again to act on SIGTERM (as the real runner thaws it).
    this.frozen = false;
    if (!this.ignoreSigterm) this.end({ code: null, signal });
  }

  freeze(): void {
    this.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
  }

  probe(path: string, timeoutMs: number): Promise<boolean> {
    this.probes.push({ path, at: this.clock.now() });
    if (!this.running) return Promise.resolve(false);
    // A frozen process accepts the connection but never answers: the probe times out.
    if (this.frozen) return new Promise((r) => this.clock.setTimeout(() => r(false), timeoutMs));
    return Promise.resolve(this.answers.get(path) ?? true);
  }

  onMessage(fn: (m: unknown) => void): void {
    this.listeners.push(fn);
  }

  send(m: unknown): void {
    this.received.push(m);
  }

  private end(e: ContainerExit): void {
    if (!this.running) return;
    this.exit = e;
    this.exitedAt = this.clock.now();
    this.resolveExit(e);
  }
}

/** Starts fake containers and keeps every one it started, per pod, in order. */
export class FakeRunner implements PodRunner {
  readonly containers: FakeContainer[] = [];
  /** Probe answers of containers started from now on, per path (a path not listed answers healthy). */
  answers: Record<string, boolean> = {};
  /** Containers started from now on ignore SIGTERM. */
  ignoreSigterm = false;
  private nextPid = 1000;

  constructor(private readonly clock: Clock) {}

  start(spec: ContainerSpec): FakeContainer {
    const c = new FakeContainer(spec, this.clock.now(), this.nextPid++, this.clock, this.answers, this.ignoreSigterm);
    this.containers.push(c);
    return c;
  }

  /** Every container started for a pod, oldest first. */
  of(pod: string): FakeContainer[] {
    return this.containers.filter((c) => c.spec.pod === pod);
  }

  /** The pod's latest container. */
  last(pod: string): FakeContainer {
    const all = this.of(pod);
    const c = all[all.length - 1];
    if (!c) throw new Error(`no container was started for pod ${pod}`);
    return c;
  }
}

/** Lets promise callbacks and queued microtasks run (container starts, probe answers, reconciles). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * Moves the fake clock `ms` forward in steps of `step` ms, settling after each, so that what a timer
 * starts (a probe's answer, a reconcile) happens at the time the timer fired. Timings that are
 * multiples of `step` are therefore exact.
 */
export async function advance(clock: FakeClock, ms: number, step = 100): Promise<void> {
  await settle();
  let left = ms;
  while (left > 0) {
    const d = Math.min(step, left);
    clock.advance(d);
    left -= d;
    await settle();
    // Timers set by what just ran, due now (a probe started at once), fire at this same time.
    clock.advance(0);
    await settle();
  }
}

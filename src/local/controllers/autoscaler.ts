import type { Cluster } from "../cluster/cluster.js";
import type { ScalingPolicy } from "../../scaling/policy.js";
import type { ClusterClock } from "./clock.js";
import type { Timer } from "../cluster/clock.js";
import { ArrivalRateEstimator } from "../../scaling/estimator.js";

export interface AutoscalerOptions {
  cluster: Cluster;
  deployment: string;
  /** The ScaledObject's name, for events. */
  object: string;
  policy: ScalingPolicy;
  clock: ClusterClock;
  /** Fresh queue length at every loop tick, as the scaler reads it (KEDA calls the scaler each time). */
  queueLength: () => Promise<number>;
  /** Starts paused (a pause asked for before the loops existed, already announced by an event). */
  paused?: boolean;
}

/**
 * Drives a ScalingPolicy against the local cluster: each of the policy's loops fires at multiples of
 * its period (in cluster time) from the start, reads the queue, and applies the decision to the
 * Deployment with an event that says why. It also measures what the predictive policy needs:
 * the arrival rate (Δqueue + Δprocessed) and per-pod throughput.
 */
export class Autoscaler {
  private timers: Timer[] = [];
  private paused: boolean;
  private stopped = false;
  private running = Promise.resolve();
  private lastSample?: { t: number; queue: number; processed: number };
  /** The simulator's estimator (src/scaling/estimator.ts), sampled at every loop tick. */
  private readonly arrivals = new ArrivalRateEstimator();
  private arrivalRate = 0;
  private throughput = 0;
  readonly lastNotes = new Map<string, string>();
  /** When each loop ticks next, in ms since the epoch (the dashboard counts down to KEDA's next poll). */
  readonly nextTicks = new Map<string, number>();

  constructor(private readonly o: AutoscalerOptions) {
    this.paused = o.paused ?? false;
  }

  start(): void {
    for (const loop of this.o.policy.loops()) {
      const periodMs = this.o.clock.ms(loop.periodSeconds);
      const tick = () => {
        this.nextTicks.set(loop.name, this.o.clock.wallNow() + periodMs);
        // Ticks are serialised so two loops never decide on the same stale replica count.
        this.running = this.running.then(() => this.tick(loop.name)).catch(() => undefined);
      };
      // A loop with a phase (the HPA's resync after KEDA's poll) starts that much later, then keeps its period.
      const offsetMs = this.o.clock.ms(loop.offsetSeconds ?? 0);
      if (offsetMs <= 0) {
        tick();
        this.timers.push(this.o.clock.setInterval(tick, periodMs));
      } else {
        this.nextTicks.set(loop.name, this.o.clock.wallNow() + offsetMs);
        this.timers.push(
          this.o.clock.setTimeout(() => {
            if (this.stopped) return;
            tick();
            this.timers.push(this.o.clock.setInterval(tick, periodMs));
          }, offsetMs),
        );
      }
    }
  }

  /** Like KEDA's autoscaling.keda.sh/paused annotation: decisions stop until resumed. */
  setPaused(paused: boolean): void {
    if (this.paused === paused) return;
    this.paused = paused;
    this.o.cluster.events.normal(
      `scaledobject/${this.o.object}`,
      paused ? "ScaledObjectPaused" : "ScaledObjectResumed",
      paused ? "autoscaling paused by `akspilot scale`" : "autoscaling resumed",
    );
  }

  get isPaused(): boolean {
    return this.paused;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) this.o.clock.clearInterval(t);
    this.timers = [];
    await this.running;
  }

  measured(): { arrivalRate: number; perPodThroughput: number } {
    return { arrivalRate: this.arrivalRate, perPodThroughput: this.throughput };
  }

  private async tick(loop: string): Promise<void> {
    if (this.stopped) return;
    const { cluster, deployment } = this.o;
    let queueLength = 0;
    let scalerError: string | undefined;
    try {
      queueLength = await this.o.queueLength();
    } catch (e) {
      // The policy hears of the failure (KEDA's fallback counts it); nothing is measured from it.
      scalerError = (e as Error).message;
      cluster.events.warning(`scaledobject/${this.o.object}`, "KEDAScalerFailed", `${loop}: ${scalerError}`);
    }
    if (this.stopped) return;
    const pods = cluster.podsOf(deployment);
    const ready = pods.filter((p) => p.phase === "Running" && p.ready).length;
    // Finished pods linger in the list for a while; they count once, through processedByGone.
    const live = pods.filter((p) => p.phase !== "Succeeded" && p.phase !== "Failed");
    if (scalerError === undefined) this.sample(queueLength, live.reduce((a, p) => a + Number(p.stats.processed ?? 0), 0) + this.processedByGone(), ready);
    const d = cluster.requireDeployment(deployment);
    const r = this.o.policy.tick(loop, {
      now: this.o.clock.now(),
      queueLength,
      current: d.replicas,
      ready,
      arrivalRate: this.arrivalRate,
      perPodThroughput: this.throughput || undefined,
      ...(scalerError !== undefined ? { scalerError } : {}),
    });
    this.lastNotes.set(loop, r.note);
    if (r.decision && !this.paused) {
      // Another loop's last note spoke of the replicas before this decision ("no change at 7" once KEDA
      // went to 0): it is stale now.
      for (const other of [...this.lastNotes.keys()]) if (other !== loop) this.lastNotes.delete(other);
      cluster.events.normal(`scaledobject/${this.o.object}`, r.decision.reason, `${loop}: ${r.decision.message}`);
      cluster.setReplicas(deployment, r.decision.replicas, `${this.o.policy.name}/${loop}`, `${r.decision.reason} (scaledobject/${this.o.object})`);
    }
  }

  /** Pods that are gone keep counting: their last reported total is folded in here. */
  private goneProcessed = 0;
  private seenGone = new Set<string>();
  private processedByGone(): number {
    for (const p of this.o.cluster.podsOf(this.o.deployment)) {
      if ((p.phase === "Succeeded" || p.phase === "Failed") && !this.seenGone.has(p.name)) {
        this.seenGone.add(p.name);
        this.goneProcessed += Number(p.stats.processed ?? 0);
      }
    }
    return this.goneProcessed;
  }

  /** Rates per cluster second: arrivals by the shared estimator; per-pod throughput smoothed (EWMA). */
  private sample(queue: number, processedTotal: number, ready: number): void {
    const t = this.o.clock.now();
    const prev = this.lastSample;
    this.arrivalRate = this.arrivals.sample(t, queue, processedTotal) ?? 0;
    this.lastSample = { t, queue, processed: processedTotal };
    if (!prev || t - prev.t <= 0) return;
    const dt = t - prev.t;
    const processed = Math.max(0, processedTotal - prev.processed);
    // Throughput is only observable while pods had work waiting.
    if (ready > 0 && prev.queue > 0 && processed > 0) {
      const perPod = processed / dt / ready;
      this.throughput = this.throughput === 0 ? perPod : 0.5 * this.throughput + 0.5 * perPod;
    }
  }
}

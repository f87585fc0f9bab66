import { metricWithFallback, type ScalerRead } from "./fallback.js";
import { hpaSync, newHpaState, type HpaState } from "./hpa.js";
import { kedaPoll, type KedaState, type ScaleDecision } from "./keda.js";
import { HPA_SYNC_SECONDS, type ScalingRule } from "./scaledobject.js";

/** What a policy sees at one evaluation. Times in seconds (simulated or real). */
export interface PolicyInput {
  now: number;
  /** Queue length as the trigger reads it (KEDA `all`: approximate count, in-flight included). */
  queueLength: number;
  /** Replicas currently set on the Deployment (spec.replicas). */
  current: number;
  /** Pods Running and Ready. */
  ready: number;
  /** Messages per second arriving (measured: Δqueue + Δprocessed). */
  arrivalRate?: number;
  /** Messages per second one ready pod processes (measured). */
  perPodThroughput?: number;
  /** The scaler call failed (storage unreachable, …): `queueLength` is then meaningless. */
  scalerError?: string;
}

export interface PolicyTick {
  decision?: ScaleDecision;
  /** Why nothing changed, or what was decided, for the event stream. */
  note: string;
}

/**
 * A replica policy driven by periodic loops. The runtime and the simulator call `tick(loop, input)`
 * for each loop at multiples of its period from t = 0; the policy code is the same in both.
 */
export interface ScalingPolicy {
  readonly name: string;
  /** Each loop ticks at offsetSeconds + k × periodSeconds (offset 0 when absent); equal times in this order. */
  loops(): { name: string; periodSeconds: number; offsetSeconds?: number }[];
  tick(loop: string, input: PolicyInput): PolicyTick;
  /**
   * Pods' worth of Ready node capacity to hold beyond the current replicas (a capacity buffer), so a
   * scale-up does not wait for a VM. Undefined or 0: nodes follow pods only (Karpenter's default).
   */
  warmPods?(now: number, current: number): number;
}

/** The seed's behaviour: KEDA's polling loop for 0↔1 and →0, the HPA every 15 s for 1↔N. */
export class KedaHpaPolicy implements ScalingPolicy {
  readonly name = "keda";
  private keda: KedaState;
  private hpa: HpaState = newHpaState();

  /** `hpaPhaseSeconds`: when the HPA's first sync comes after KEDA's first poll, in [0, 15) (phase.ts). */
  constructor(
    readonly rule: ScalingRule,
    createdAt = 0,
    readonly hpaPhaseSeconds = 0,
  ) {
    this.keda = { createdAt };
  }

  loops() {
    // KEDA's loop first: at equal times it activates before the HPA's sync looks.
    return [
      { name: "keda", periodSeconds: this.rule.pollingIntervalSeconds },
      { name: "hpa", periodSeconds: HPA_SYNC_SECONDS, offsetSeconds: this.hpaPhaseSeconds },
    ];
  }

  /** What KEDA's polling loop read last (the value useCachedMetrics hands the HPA). */
  private cached?: ScalerRead;
  /** Consecutive failed metric requests (fallback.go numberOfFailures). */
  private failures = 0;

  tick(loop: string, i: PolicyInput): PolicyTick {
    const read: ScalerRead = i.scalerError !== undefined ? { error: i.scalerError } : { value: i.queueLength };
    if (loop === "keda") {
      this.cached = read;
      if (read.error !== undefined) {
        // scale_scaledobjects.go: inactive with a scaler error never scales to zero; with fallback.replicas ≠ 0
        // the HPA's fallback metric takes over, without it the ScaledObject turns Ready=False (TriggerError).
        const fb = this.rule.fallback && this.rule.fallback.replicas !== 0;
        return {
          note: `scaler error: ${read.error}; ${fb ? `the HPA falls back to ${this.rule.fallback!.replicas} replica(s) after ${this.rule.fallback!.failureThreshold} failed metric request(s)` : "Ready=False (TriggerError), replicas kept"} at ${i.current}`,
        };
      }
      const r = kedaPoll(this.rule, this.keda, i.now, i.queueLength, i.current);
      this.keda = r.state;
      return { decision: r.decision, note: r.note };
    }
    // useCachedMetrics: the HPA's request gets the polling loop's last read instead of a new scaler call.
    const seen = this.rule.useCachedMetrics && this.cached ? this.cached : read;
    const m = metricWithFallback(this.rule, this.failures, seen, i.current, i.ready);
    this.failures = m.failures;
    const source = this.rule.useCachedMetrics && this.cached ? "cached by KEDA's last poll" : undefined;
    if (m.metric === undefined) return { note: `FailedGetExternalMetric: ${m.error}; replicas kept at ${i.current}` };
    const r = hpaSync(this.rule, this.hpa, i.now, m.metric, i.current, i.ready);
    this.hpa = r.state;
    const tag = [m.fallback, source ? `metric ${source}` : undefined].filter(Boolean).join("; ");
    if (!tag) return { decision: r.decision, note: r.note };
    return { decision: r.decision ? { ...r.decision, message: `${r.decision.message} [${tag}]` } : undefined, note: `${r.note} [${tag}]` };
  }
}

export interface PredictiveOptions {
  /** Seconds between evaluations (push-like; the seed polls every 30 s). */
  intervalSeconds: number;
  /** Drain any backlog within this many seconds. */
  targetDrainSeconds: number;
  /** Throughput assumed per pod before one is measured. */
  assumedPerPodThroughput: number;
  /** Spare capacity over the arrival rate. */
  headroom: number;
  /** Scale-down waits until every recommendation in this window is lower (damps flapping). */
  scaleDownWindowSeconds: number;
  /** Node capacity kept warm, in pods: at least this many, or the peak of the last warmHistorySeconds. */
  warmPodsMin: number;
  warmHistorySeconds: number;
}

// Measured in the simulator (BENCHMARKS.md, "Simulator and policies (issue 3)"): with headroom 1.1,
// a 30 s scale-down window and a 4-pod buffer (one D2s, 7 pods), a burst after idle drained only 1.79×
// faster than the seed's ScaledObject (7 warm pods cannot keep up with 100 msg/s until a second node
// comes 60 s later). An 8-pod buffer (one D4s: 15 pods) starts the whole burst at once; headroom 1.05
// and a 15 s window then bring its pod-seconds from 810 to 740, under the seed's 750.
export const PREDICTIVE_DEFAULTS: PredictiveOptions = {
  intervalSeconds: 5,
  targetDrainSeconds: 30,
  assumedPerPodThroughput: 5,
  headroom: 1.05,
  scaleDownWindowSeconds: 15,
  warmPodsMin: 8,
  warmHistorySeconds: 3600,
};

/**
 * Sizes the Deployment for what is coming rather than what is queued: enough pods to keep up with the
 * arrival rate plus drain the backlog within a target time, from measured per-pod throughput; within
 * the ScaledObject's min/max; to zero once nothing arrives and nothing waits for cooldownPeriod.
 */
export class PredictivePolicy implements ScalingPolicy {
  readonly name = "predictive";
  /**
   * Recent recommendations, for the scale-down window; `measured`: sized from a measured per-pod
   * throughput. Once one is measured, those sized from the assumed throughput are dropped: they were
   * guesses, and holding pods for them only costs pod-seconds.
   */
  private recs: { t: number; replicas: number; measured: boolean }[] = [];
  private idleSince?: number;
  /** Replica peaks, for the warm node buffer (a forecast from history: what was needed recently). */
  private peaks: { t: number; replicas: number }[] = [];

  constructor(
    readonly rule: ScalingRule,
    readonly o: PredictiveOptions = PREDICTIVE_DEFAULTS,
  ) {}

  warmPods(now: number, current: number): number {
    this.peaks = this.peaks.filter((p) => p.t > now - this.o.warmHistorySeconds);
    const peak = Math.max(this.o.warmPodsMin, ...this.peaks.map((p) => p.replicas));
    return Math.max(0, Math.min(this.rule.maxReplicas, peak) - current);
  }

  loops() {
    return [{ name: "predict", periodSeconds: this.o.intervalSeconds }];
  }

  /** Pods needed for an arrival rate and a backlog, unclamped. */
  static need(arrival: number, backlog: number, mu: number, o: PredictiveOptions): number {
    return Math.ceil((arrival * o.headroom) / mu + backlog / (mu * o.targetDrainSeconds));
  }

  tick(_loop: string, i: PolicyInput): PolicyTick {
    const measured = i.perPodThroughput !== undefined && i.perPodThroughput > 0;
    const mu = measured ? i.perPodThroughput! : this.o.assumedPerPodThroughput;
    const arrival = Math.max(0, i.arrivalRate ?? 0);
    const raw = PredictivePolicy.need(arrival, i.queueLength, mu, this.o);
    const { minReplicas: min, maxReplicas: max } = this.rule;
    // A smoothed rate never reaches exactly zero: under 5 % of one pod's throughput counts as nothing arriving.
    const busy = i.queueLength > 0 || arrival >= 0.05 * mu;
    if (busy) this.idleSince = undefined;
    else this.idleSince ??= i.now;
    let want = Math.min(max, Math.max(min, raw));
    let why = `arrivals ${arrival.toFixed(1)}/s × ${this.o.headroom} / ${mu.toFixed(1)} per pod + backlog ${i.queueLength} / (${mu.toFixed(1)} × ${this.o.targetDrainSeconds} s) = ${raw}`;
    if (!busy) {
      // Idle: hold until the cooldown has passed, then go to min (0 in the seed).
      if (i.now - (this.idleSince ?? i.now) >= this.rule.cooldownPeriodSeconds) {
        want = min;
        why = `idle for ${Math.round(i.now - this.idleSince!)} s ≥ cooldownPeriod ${this.rule.cooldownPeriodSeconds} s`;
      } else {
        // One warm pod (or min) rides out the cooldown; the rest would only idle.
        want = Math.max(min, Math.min(i.current, 1, max));
        why = `idle for ${Math.round(i.now - this.idleSince!)} s (cooldown ${this.rule.cooldownPeriodSeconds} s): keeping ${want}`;
      }
    } else if (want === 0) {
      want = 1;
    }
    // Once throughput is measured, recommendations sized from the assumed one no longer hold anything up.
    this.recs = [...this.recs.filter((r) => r.t > i.now - this.o.scaleDownWindowSeconds && (r.measured || !measured)), { t: i.now, replicas: want, measured }];
    // The hold damps flapping while a backlog drains; with the queue empty, pods beyond the arrival rate only idle.
    if (want < i.current && busy && i.queueLength > 0) {
      const held = Math.max(...this.recs.map((r) => r.replicas));
      if (held > want) {
        want = Math.min(held, i.current);
        why += `; scale-down held at ${want} (max of the last ${this.o.scaleDownWindowSeconds} s)`;
      }
    }
    if (want > 0) this.peaks.push({ t: i.now, replicas: want });
    if (want === i.current) return { note: `no change at ${i.current} (${why})` };
    return { decision: { replicas: want, reason: want > i.current ? "PredictiveScaleUp" : "PredictiveScaleDown", message: `${i.current} → ${want}: ${why}` }, note: "scaled" };
  }
}

export type PolicyName = "keda" | "predictive";

/** `hpaPhaseSeconds`: the HPA's resync phase after KEDA's poll (keda policy only; see phase.ts). */
export function makePolicy(name: PolicyName, rule: ScalingRule, predictive: Partial<PredictiveOptions> = {}, hpaPhaseSeconds = 0): ScalingPolicy {
  return name === "keda" ? new KedaHpaPolicy(rule, 0, hpaPhaseSeconds) : new PredictivePolicy(rule, { ...PREDICTIVE_DEFAULTS, ...predictive });
}

// Benchmarks of the blue-green upgrade (bench/bluegreen.ts: cut-over seen by an independent client) and of
// workload identity (bench/identity.ts: token exchange, consumer throughput through the enforcing front), and
// the simulator's fidelity to the live runtime (bench/fidelity.ts).
import { benchBlueGreen } from "../bluegreen.js";
import { benchIdentity } from "../identity.js";
import { fidelity, type Side } from "../fidelity.js";
import { markdownTable, round, type Benchmark, type BenchResult } from "../types.js";

export const blueGreenSwitch: Benchmark = {
  name: "bluegreen-switch",
  description: "up bluegreen under 100 req/s from another process: failed requests and the switch's and rollback's cut-over in the client's record",
  async run({ full }): Promise<BenchResult> {
    const f = await benchBlueGreen({ rate: 100, holdSeconds: full ? 10 : 4 });
    const figures = {
      requests: f.requests,
      failed: f.failed,
      switchCutOverMs: f.switch.firstNewMs,
      rollbackCutOverMs: f.rollback.firstNewMs,
      p50Ms: round(f.p50Ms),
      p99Ms: round(f.p99Ms),
    };
    const ratios = { failedShare: f.requests ? round(f.failed / f.requests, 4) : null };
    const table = markdownTable(
      ["requests", "failed", "switch cut-over ms", "rollback cut-over ms", "p50 ms", "p99 ms", "canary shares (green %)"],
      [
        [
          f.requests,
          f.failed,
          f.switch.firstNewMs,
          f.rollback.firstNewMs,
          figures.p50Ms,
          figures.p99Ms,
          f.canaryShares.map((c) => `${c.weight}%→${round(c.greenPercent, 1)}`).join(", "),
        ],
      ],
    );
    return { figures, ratios, table };
  },
};

export const identity: Benchmark = {
  name: "identity",
  description:
    "workload identity: token exchange p50/p95; the EDW consumer pod's throughput through the enforcing HTTPS front vs Azurite directly (goal ≥ 0.9×), and a bare receive+delete loop's (the harsher ratio)",
  async run({ full }): Promise<BenchResult> {
    const f = await benchIdentity(full ? { messages: 1000, rounds: 4 } : { messages: 1000, rounds: 2 });
    const figures = {
      durableStorage: f.durableStorage,
      tokenExchangeP50Ms: round(f.tokenExchangeP50Ms),
      tokenExchangeP95Ms: round(f.tokenExchangeP95Ms),
      directPerSecond: round(f.directPerSecond),
      frontPerSecond: round(f.frontPerSecond),
      frontTokenExchanges: f.frontTokenExchanges,
      cpuUsPerCallDirect: `consumer ${f.directCpuUsPerCall.consumer}, azurite ${f.directCpuUsPerCall.azurite ?? "—"}`,
      cpuUsPerCallFront: `consumer ${f.frontCpuUsPerCall.consumer}, front ${f.frontCpuUsPerCall.front}, azurite ${f.frontCpuUsPerCall.azurite ?? "—"}`,
      frontConnectsPerCall: f.frontConnectsPerCall,
      consumerDirectPerSecond: f.consumer.directPerSecond,
      consumerFrontPerSecond: f.consumer.frontPerSecond,
      consumerCallsPerMessage: `direct ${f.consumer.directCallsPerMessage}, front ${f.consumer.frontCallsPerMessage}`,
      consumerCpuUsPerCall: `direct: consumer ${f.consumer.directCpuUsPerCall.consumer}, azurite ${f.consumer.directCpuUsPerCall.azurite ?? "—"}; front: consumer ${f.consumer.frontCpuUsPerCall.consumer}, azurite ${f.consumer.frontCpuUsPerCall.azurite ?? "—"}`,
    };
    const ratios = {
      consumerFrontOverDirect: round(f.consumer.frontRatio),
      frontOverDirect: round(f.frontRatio),
      callsPerMessageFrontOverDirect: f.directCallsPerMessage ? round(f.frontCallsPerMessage / f.directCallsPerMessage) : null,
    };
    const table = markdownTable(
      [
        "token p50 ms",
        "token p95 ms",
        "direct msg/s",
        "front msg/s",
        "front ÷ direct",
        "calls/msg direct",
        "calls/msg front",
        "token exchanges",
        "CPU µs/call direct",
        "CPU µs/call front",
        "tunnels/call",
        "consumer pod msg/s direct / front",
        "consumer pod front ÷ direct",
      ],
      [
        [
          figures.tokenExchangeP50Ms,
          figures.tokenExchangeP95Ms,
          figures.directPerSecond,
          figures.frontPerSecond,
          ratios.frontOverDirect,
          f.directCallsPerMessage,
          f.frontCallsPerMessage,
          f.frontTokenExchanges,
          figures.cpuUsPerCallDirect,
          figures.cpuUsPerCallFront,
          f.frontConnectsPerCall,
          `${f.consumer.directPerSecond} / ${f.consumer.frontPerSecond}`,
          ratios.consumerFrontOverDirect,
        ],
      ],
    );
    return { figures, ratios, table };
  },
};

export const fidelityBench: Benchmark = {
  name: "fidelity",
  description:
    "the same burst through the simulator (nominal rates, and the live run's measured ones) and a time-scaled live `up edw`: replica steps, time to first pod, drain, time back to zero and pod-seconds side by side",
  async run({ full }): Promise<BenchResult> {
    const f = await fidelity(full ? { messages: 300 } : {});
    const diff = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null ? null : round(a - b));
    const over = (a: number | null | undefined, b: number | null | undefined) => (a == null || !b ? null : round(a / b));
    const m = f.simMeasured;
    const sameStepsMeasured = m ? m.steps.join(",") === f.live.steps.join(",") : null;
    const figures = {
      sameSteps: f.sameSteps ? "yes" : "no",
      simSteps: f.sim.steps.join(" "),
      liveSteps: f.live.steps.join(" "),
      simFirstPodSeconds: f.sim.firstPodSeconds,
      liveFirstPodSeconds: f.live.firstPodSeconds === null ? null : round(f.live.firstPodSeconds),
      simDrainSeconds: f.sim.drainSeconds,
      liveDrainSeconds: f.live.drainSeconds === null ? null : round(f.live.drainSeconds),
      simBackToZeroSeconds: f.sim.backToZeroSeconds,
      liveBackToZeroSeconds: f.live.backToZeroSeconds === null ? null : round(f.live.backToZeroSeconds),
      simPodSeconds: round(f.sim.podSeconds),
      livePodSeconds: round(f.live.podSeconds),
      simPerPodPerSecond: f.sim.perPodThroughput === null ? null : round(f.sim.perPodThroughput, 3),
      livePerPodPerSecond: f.live.perPodThroughput,
      simPodStartSeconds: f.sim.podStartSeconds,
      livePodStartSeconds: f.live.podStartSeconds === null ? null : round(f.live.podStartSeconds, 1),
      sameStepsMeasured: sameStepsMeasured === null ? null : sameStepsMeasured ? "yes" : "no",
      simMeasuredSteps: m ? m.steps.join(" ") : null,
      simMeasuredFirstPodSeconds: m?.firstPodSeconds ?? null,
      simMeasuredDrainSeconds: m?.drainSeconds ?? null,
      simMeasuredBackToZeroSeconds: m?.backToZeroSeconds ?? null,
      simMeasuredPodSeconds: m ? round(m.podSeconds) : null,
    };
    const ratios = {
      firstPodLiveOverSim: over(f.live.firstPodSeconds, f.sim.firstPodSeconds),
      drainLiveOverSim: over(f.live.drainSeconds, f.sim.drainSeconds),
      backToZeroLiveOverSim: over(f.live.backToZeroSeconds, f.sim.backToZeroSeconds),
      podSecondsLiveOverSim: over(f.live.podSeconds, f.sim.podSeconds),
      // Below 1: the real consumers worked slower than the nominal rate (a loaded machine).
      perPodRateLiveOverSim: over(f.live.perPodThroughput, f.sim.perPodThroughput),
      firstPodLiveOverSimMeasured: over(f.live.firstPodSeconds, m?.firstPodSeconds),
      drainLiveOverSimMeasured: over(f.live.drainSeconds, m?.drainSeconds),
      backToZeroLiveOverSimMeasured: over(f.live.backToZeroSeconds, m?.backToZeroSeconds),
      podSecondsLiveOverSimMeasured: over(f.live.podSeconds, m?.podSeconds),
    };
    const row = (name: string, x: Side, rate: number | null) => [
      name,
      x.steps.join(" "),
      x.firstPodSeconds === null ? null : round(x.firstPodSeconds),
      x.drainSeconds === null ? null : round(x.drainSeconds),
      x.backToZeroSeconds === null ? null : round(x.backToZeroSeconds),
      round(x.podSeconds),
      rate,
      x.podStartSeconds === null ? null : round(x.podStartSeconds, 1),
    ];
    const gap = (name: string, x: Side, same: boolean) => [
      name,
      same ? "same" : "differ",
      diff(f.live.firstPodSeconds, x.firstPodSeconds),
      diff(f.live.drainSeconds, x.drainSeconds),
      diff(f.live.backToZeroSeconds, x.backToZeroSeconds),
      diff(f.live.podSeconds, x.podSeconds),
      diff(f.live.perPodThroughput, x.perPodThroughput),
      diff(f.live.podStartSeconds, x.podStartSeconds),
    ];
    const table = markdownTable(
      ["", "replica steps", "first pod s", "drain s", "back to zero s", "pod-seconds", "msgs/s per pod", "pod start s"],
      [
        row("simulator (nominal)", f.sim, figures.simPerPodPerSecond),
        ...(m ? [row("simulator (live's measured rates)", m, m.perPodThroughput === null ? null : round(m.perPodThroughput, 3))] : []),
        row("live up", f.live, f.live.perPodThroughput),
        gap("live − simulator (nominal)", f.sim, f.sameSteps),
        ...(m ? [gap("live − simulator (measured)", m, sameStepsMeasured === true)] : []),
      ],
    );
    return { figures, ratios, table };
  },
};

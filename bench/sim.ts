// Simulator benchmark: a simulated day at 1,000,000 messages/minute with up to 1,000 replicas, and the
// predictive-vs-keda comparison on the seed's ScaledObject. Run: npx tsc -p . && node dist/bench/sim.js
import { seedNodePool, seedScaledObject } from "../src/blueprints/edw.js";
import { DEFAULT_CATALOG } from "../src/scaling/catalog.js";
import { poolSettings } from "../src/scaling/karpenter.js";
import type { PolicyName, PredictiveOptions } from "../src/scaling/policy.js";
import { scalingRuleFrom } from "../src/scaling/scaledobject.js";
import { simulate, type SimSummary } from "../src/sim/engine.js";
import type { Trace } from "../src/sim/trace.js";

const pool = poolSettings(seedNodePool(), DEFAULT_CATALOG);

/** A day of minute rows: a diurnal swing (±50 %) around 1,000,000 messages/minute. */
function dayTrace(): Trace {
  const points: Trace["points"] = [];
  for (let m = 0; m < 1440; m++) points.push({ t: m * 60, v: (1_000_000 / 60) * (1 + 0.5 * Math.sin((2 * Math.PI * m) / 1440)) });
  points.push({ t: 86_400, v: 0 });
  return { kind: "arrivals", points };
}

function bigRule() {
  const so = seedScaledObject();
  so.spec.maxReplicaCount = 1000;
  return scalingRuleFrom(so);
}

function day(policy: PolicyName): { ms: number; s: SimSummary; timeline: number; events: number } {
  const t0 = performance.now();
  // 100 ms per message, 8 at a time: 80 msg/s per pod, so the peak (25,000 msg/s) needs ~313 pods.
  const r = simulate({ rule: bigRule(), pool, trace: dayTrace(), policy, workMs: 100, concurrency: 8 });
  return { ms: performance.now() - t0, s: r.summary, timeline: r.timeline.length, events: r.events.length };
}

/** Same shapes as test/sim/workloads.ts. */
function recurringBursts(): Trace {
  const points: Trace["points"] = [];
  for (let k = 0; k < 6; k++) points.push({ t: k * 300, v: 1 }, { t: k * 300 + 60, v: 301 }, { t: k * 300 + 70, v: 1 });
  points.push({ t: 1800, v: 0 });
  return { kind: "arrivals", points };
}
const singleBurst = (): Trace => ({
  kind: "arrivals",
  points: [
    { t: 0, v: 100 },
    { t: 60, v: 0 },
  ],
});
const burstAfterIdle = (): Trace => ({
  kind: "arrivals",
  points: [
    { t: 0, v: 0 },
    { t: 300, v: 100 },
    { t: 360, v: 0 },
  ],
});

function compare(name: string, trace: Trace): void {
  const rule = scalingRuleFrom(seedScaledObject());
  const run = (policy: PolicyName, predictive: Partial<PredictiveOptions> = {}) => simulate({ rule, pool, trace, policy, predictive, workMs: 400, concurrency: 4 }).summary;
  const k = run("keda");
  const p = run("predictive");
  // The same policy without its capacity buffer: what the buffer costs in node-seconds and buys in drain time.
  const nb = run("predictive", { warmPodsMin: 0, warmHistorySeconds: 0 });
  console.log(`\n${name} (seed ScaledObject and NodePool, 10 msg/s per pod, nodes ready in 60 s, pods in 2 s)`);
  console.log("| policy | drainSeconds | backlogSeconds | p50 ms | p95 ms | podSeconds | nodeSeconds | maxReplicas | maxNodes |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const [label, s] of [
    ["keda", k],
    ["predictive", p],
    ["predictive, no buffer", nb],
  ] as const)
    console.log(
      `| ${label} | ${s.drainSeconds} | ${s.backlogSeconds} | ${s.p50LatencyMs} | ${s.p95LatencyMs} | ${s.podSeconds} | ${s.nodeSeconds} | ${s.maxReplicas} | ${s.maxNodes} |`,
    );
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  console.log(
    `keda/predictive: drain ${ratio(k.drainSeconds!, p.drainSeconds!)}×, backlog time ${ratio(k.backlogSeconds!, p.backlogSeconds!)}×, p95 ${ratio(k.p95LatencyMs!, p.p95LatencyMs!)}×, pod-seconds ${ratio(p.podSeconds, k.podSeconds)} of keda's, node-seconds ${ratio(p.nodeSeconds, k.nodeSeconds)} of keda's (buffer: +${(p.nodeSeconds - nb.nodeSeconds).toFixed(0)} node-s over the same policy without it)`,
  );
}

console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
for (const policy of ["keda", "predictive"] as const) {
  day(policy); // warm-up
  const runs = [day(policy), day(policy), day(policy)];
  const best = runs.reduce((a, b) => (a.ms < b.ms ? a : b));
  const s = best.s;
  console.log(
    `simulated day, ${policy}: ${best.ms.toFixed(0)} ms (best of 3; ${runs.map((r) => r.ms.toFixed(0)).join(", ")}) — ${s.arrived} msgs, maxReplicas ${s.maxReplicas}, maxNodes ${s.maxNodes}, p95 ${s.p95LatencyMs} ms, ${best.timeline} timeline entries, ${best.events} events`,
  );
}
compare("Recurring bursts: 1 msg/s base + 3,000 messages every 5 min, 30 min", recurringBursts());
compare("One burst after 5 min idle: nothing for 300 s, then 100 msg/s for 60 s", burstAfterIdle());
compare("One burst on a new cluster: 100 msg/s for 60 s from t = 0 (no node yet, buffer not up)", singleBurst());

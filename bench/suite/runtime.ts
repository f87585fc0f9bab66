// Benchmarks of the runtime and the simulator: backlog drain per policy, the node-failure drill and the
// gateway's overhead (bench/gateway.ts), a simulated week at scale, and start-up of `up`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seedNodePool, seedScaledObject } from "../../src/blueprints/edw.js";
import { DEFAULT_CATALOG } from "../../src/scaling/catalog.js";
import { poolSettings } from "../../src/scaling/karpenter.js";
import { scalingRuleFrom } from "../../src/scaling/scaledobject.js";
import { simulate } from "../../src/sim/engine.js";
import type { Trace } from "../../src/sim/trace.js";
import type { NodeFailureReport } from "../../src/local/drill/report.js";
import { run } from "../cli.js";
import { jsonLine, markdownTable, round, runScript, type Benchmark, type BenchResult } from "../types.js";

const burstAfterIdle = (): Trace => ({
  kind: "arrivals",
  points: [
    { t: 0, v: 0 },
    { t: 300, v: 100 },
    { t: 360, v: 0 },
  ],
});

interface LiveComparison {
  label: string;
  drainRatio: (number | null)[];
  p95Ratio: number[];
  podSecondsRatio: number[];
  nodeSecondsRatio: number[];
}

export const backlogDrain: Benchmark = {
  name: "backlog-drain",
  description:
    "one burst after idle drained with the seed's ScaledObject (keda) and the predictive policy: drain, p95, pod- and node-seconds as ratios; simulated, and live with --full",
  async run({ full }): Promise<BenchResult> {
    const rule = scalingRuleFrom(seedScaledObject());
    const pool = poolSettings(seedNodePool(), DEFAULT_CATALOG);
    const sim = (policy: "keda" | "predictive") => simulate({ rule, pool, trace: burstAfterIdle(), policy, workMs: 400, concurrency: 4 }).summary;
    const k = sim("keda");
    const p = sim("predictive");
    const ratios: Record<string, number | null> = {
      simDrainKedaOverPredictive: round(k.drainSeconds! / p.drainSeconds!),
      simP95KedaOverPredictive: round(k.p95LatencyMs! / p.p95LatencyMs!),
      simPodSecondsPredictiveOverKeda: round(p.podSeconds / k.podSeconds),
      simNodeSecondsPredictiveOverKeda: round(p.nodeSeconds / k.nodeSeconds),
    };
    const rows: (string | number | null)[][] = [
      ["simulated", "drain s", k.drainSeconds ?? null, p.drainSeconds ?? null, ratios.simDrainKedaOverPredictive],
      ["simulated", "p95 ms", k.p95LatencyMs ?? null, p.p95LatencyMs ?? null, ratios.simP95KedaOverPredictive],
      ["simulated", "pod-seconds", k.podSeconds, p.podSeconds, ratios.simPodSecondsPredictiveOverKeda],
      ["simulated", "node-seconds", k.nodeSeconds, p.nodeSeconds, ratios.simNodeSecondsPredictiveOverKeda],
    ];
    if (full) {
      const live = jsonLine<{ comparisons: LiveComparison[] }>(await runScript("runtime", ["--runs", "1", "--time-scale", "10", "--workloads", "idle", "--json-only"]))
        .comparisons[0]!;
      ratios.liveDrainKedaOverPredictive = live.drainRatio[0] ?? null;
      ratios.liveP95KedaOverPredictive = live.p95Ratio[0] ?? null;
      ratios.livePodSecondsPredictiveOverKeda = live.podSecondsRatio[0] ?? null;
      ratios.liveNodeSecondsPredictiveOverKeda = live.nodeSecondsRatio[0] ?? null;
      rows.push(
        ["live, time-scale 10", "drain (keda ÷ predictive)", "", "", ratios.liveDrainKedaOverPredictive],
        ["live, time-scale 10", "p95 (keda ÷ predictive)", "", "", ratios.liveP95KedaOverPredictive],
        ["live, time-scale 10", "pod-seconds (predictive ÷ keda)", "", "", ratios.livePodSecondsPredictiveOverKeda],
        ["live, time-scale 10", "node-seconds (predictive ÷ keda)", "", "", ratios.liveNodeSecondsPredictiveOverKeda],
      );
    }
    const table = markdownTable(["where", "measure", "keda", "predictive", "ratio"], rows);
    return { figures: { workload: "burst after 300 s idle, 100 msg/s for 60 s", live: full ? "1 round" : "skipped (quick; --full runs it)" }, ratios, table };
  },
};

interface GatewayResult {
  machine: string;
  drill: { kube: NodeFailureReport; akspilot: NodeFailureReport };
  overhead: {
    direct: { rps: number; p50Ms: number; p99Ms: number };
    gateway: { rps: number; p50Ms: number; p99Ms: number };
    addedP50Ms: number;
    throughputRatio: number;
    coldStartMs: number;
  };
}

const gatewayRun = (full: boolean) => runScript("gateway", ["--json", "--rounds", full ? "5" : "1", "--seconds", full ? "5" : "3"]).then((o) => jsonLine<GatewayResult>(o));

export const failover: Benchmark = {
  name: "failover",
  description: "the node-failure drill on up resilient-web with --gateway kube (AKS's default) and --gateway akspilot: failed requests, p99, longest gap, replicas restored",
  async run({ full }): Promise<BenchResult> {
    const r = await gatewayRun(full);
    const k = r.drill.kube;
    const a = r.drill.akspilot;
    const table = markdownTable(
      ["measure", "--gateway kube", "--gateway akspilot"],
      [
        ["requests", k.requests, a.requests],
        ["**failed**", k.failed, a.failed],
        ["p50 / p99 ms", `${k.p50Ms} / ${k.p99Ms}`, `${a.p50Ms} / ${a.p99Ms}`],
        ["longest gap without a success, ms", k.maxGapMs, a.maxGapMs],
        ["replicas restored, s", k.replicasRestoredSeconds, a.replicasRestoredSeconds],
      ],
    );
    return {
      figures: { kubeFailed: k.failed, akspilotFailed: a.failed, kubeP99Ms: k.p99Ms, akspilotP99Ms: a.p99Ms, restoredSeconds: a.replicasRestoredSeconds },
      ratios: { failedShareKube: round(k.failed / k.requests, 3), failedShareAkspilot: round(a.failed / a.requests, 3), p99AkspilotOverKube: round(a.p99Ms / k.p99Ms) },
      table,
    };
  },
};

interface OverheadSide {
  side: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  addedP50Ms: number;
  throughputRatio: number;
  gatewayCpuUsPerRequest: number;
}

export const gatewayOverhead: Benchmark = {
  name: "gateway-overhead",
  description:
    "autocannon against one pod directly and through the HTTP gateway, alternating rounds; cold start from zero through the gateway; then direct, the Node engine and the haproxy engine side by side (bench/gateway-overhead.ts)",
  async run({ full }): Promise<BenchResult> {
    const o = (await gatewayRun(full)).overhead;
    // The engines side by side in one run of their own: the same pod, each gateway in its own process.
    const engines = jsonLine<{ sides: OverheadSide[] }>(
      await runScript("gateway-overhead", ["--json", "--rounds", full ? "5" : "3", "--seconds", full ? "5" : "3", "--sequential", full ? "3000" : "1000"]),
    ).sides;
    const side = (name: string) => engines.find((x) => x.side === name);
    const node = side("node");
    const haproxy = side("haproxy");
    const direct = side("direct");
    const rows: (string | number)[][] = [
      ["req/s", Math.round(o.direct.rps), `${Math.round(o.gateway.rps)} (${o.throughputRatio}×)`, "≥ 0.7×"],
      ["p50 / p99 ms", `${o.direct.p50Ms} / ${o.direct.p99Ms}`, `${o.gateway.p50Ms} / ${o.gateway.p99Ms}`, "< 1 ms added"],
      ["cold start from zero, ms", "", o.coldStartMs, "< 2000"],
    ];
    if (direct && node) {
      rows.push([
        "engines side by side: req/s, Node engine",
        direct.rps,
        `${node.rps} (${node.throughputRatio}×), gateway ${node.gatewayCpuUsPerRequest} µs CPU/request`,
        "≥ 0.7×",
      ]);
      if (haproxy)
        rows.push([
          "engines side by side: req/s, haproxy engine",
          direct.rps,
          `${haproxy.rps} (${haproxy.throughputRatio}×), gateway ${haproxy.gatewayCpuUsPerRequest} µs CPU/request`,
          "≥ 0.7×",
        ]);
    }
    const table = markdownTable(["measure", "direct", "through the gateway", "goal"], rows);
    return {
      figures: {
        directRps: Math.round(o.direct.rps),
        gatewayRps: Math.round(o.gateway.rps),
        addedP50Ms: o.addedP50Ms,
        coldStartMs: o.coldStartMs,
        ...(node ? { nodeEngineCpuUsPerRequest: node.gatewayCpuUsPerRequest } : {}),
        ...(haproxy ? { haproxyEngineCpuUsPerRequest: haproxy.gatewayCpuUsPerRequest, haproxyAddedP50Ms: haproxy.addedP50Ms } : {}),
      },
      ratios: {
        gatewayOverDirectThroughput: o.throughputRatio,
        ...(node ? { nodeEngineOverDirectThroughput: node.throughputRatio } : {}),
        ...(haproxy ? { haproxyEngineOverDirectThroughput: haproxy.throughputRatio } : {}),
      },
      table,
    };
  },
};

export const simulatorScale: Benchmark = {
  name: "simulator-scale",
  description: "wall time to simulate a week at 1,000,000 messages/minute with up to 10,000 replicas (keda and predictive)",
  // Quick and full are the same: the week takes seconds.
  async run(): Promise<BenchResult> {
    const days = 7;
    const points: Trace["points"] = [];
    for (let m = 0; m < days * 1440; m++) points.push({ t: m * 60, v: (1_000_000 / 60) * (1 + 0.5 * Math.sin((2 * Math.PI * m) / 1440)) });
    points.push({ t: days * 86_400, v: 0 });
    const so = seedScaledObject();
    so.spec.maxReplicaCount = 10_000;
    const rule = scalingRuleFrom(so);
    const pool = poolSettings(seedNodePool(), DEFAULT_CATALOG);
    pool.limits = {};
    const rows: (string | number)[][] = [];
    const figures: Record<string, number> = {};
    for (const policy of ["keda", "predictive"] as const) {
      const t0 = performance.now();
      // 600 ms per message, one at a time: 1.67 msg/s per pod, so the peak (25,000 msg/s) wants 10,000+ pods.
      const r = simulate({ rule, pool, trace: { kind: "arrivals", points }, policy, workMs: 600, concurrency: 1 });
      const ms = performance.now() - t0;
      figures[`${policy}WallMs`] = Math.round(ms);
      figures[`${policy}MaxReplicas`] = r.summary.maxReplicas;
      rows.push([policy, Math.round(ms), r.summary.maxReplicas, r.summary.maxNodes, r.summary.arrived ?? 0]);
    }
    const table = markdownTable(["policy", "wall ms (a simulated week)", "max replicas", "max nodes", "messages"], rows);
    return { figures, ratios: { simulatedSecondsPerWallSecondKeda: Math.round((days * 86_400) / (figures.kedaWallMs! / 1000)) }, table };
  },
};

interface EdwReport {
  readySeconds: number;
  maxPodFirstReceiveMs: number;
  maxConsumerRssMiB: number;
  lost: number;
  duplicates: number;
}

export const startup: Benchmark = {
  name: "startup",
  description:
    "`up edw` and `up resilient-web` to ready (real runs, time scale 1), each consumer pod's spawn-to-first-receive and memory; with the timing profile's simulated image pull (5 s on a fresh node, as AKS pulls the image) and without it (akspilot's own start)",
  async run({ full }): Promise<BenchResult> {
    const runs = full ? 3 : 1;
    const edw: EdwReport[] = [];
    const web: number[] = [];
    const edwOwn: EdwReport[] = [];
    const webOwn: number[] = [];
    for (let i = 0; i < runs; i++) {
      const cwd = mkdtempSync(join(tmpdir(), "akspilot-bench-startup-"));
      try {
        // The simulated pull is fidelity to AKS, not start-up work: the second pair runs with it at 0.
        writeFileSync(join(cwd, "no-pull.yaml"), "imagePullSeconds: 0\n");
        for (const [timings, e, w] of [
          [[], edw, web],
          [["--timings", "no-pull.yaml"], edwOwn, webOwn],
        ] as const) {
          const r = await run(["up", "edw", "--messages", "200", "--replicas", "2", "--exit-when-drained", "--json", "--quiet", ...timings], cwd);
          if (r.code !== 0) throw new Error(`up edw failed: ${r.stderr.trim().split("\n").pop()}`);
          e.push(JSON.parse(r.stdout.trim().split("\n").pop()!) as EdwReport);
          const x = await run(["up", "resilient-web", "--exit-when-ready", "--json", "--quiet", ...timings], cwd);
          if (x.code !== 0) throw new Error(`up resilient-web failed: ${x.stderr.trim().split("\n").pop()}`);
          w.push((JSON.parse(x.stdout.trim().split("\n").pop()!) as { readySeconds: number }).readySeconds);
        }
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    }
    const max = (xs: number[]) => Math.max(...xs);
    const both = [...edw, ...edwOwn];
    const table = markdownTable(
      ["measure", "result (worst of runs)", "goal"],
      [
        ["`up edw` ready (storage up, 2 replicas receiving), s, with the simulated 5 s image pull", max(edw.map((e) => e.readySeconds)), ""],
        ["`up edw` ready, s, image pull 0 (`--timings`)", max(edwOwn.map((e) => e.readySeconds)), "≤ 3"],
        ["consumer pod spawn → first receive, ms (worst pod)", max(both.map((e) => e.maxPodFirstReceiveMs)), "≤ 300"],
        ["consumer pod RSS, MiB (max)", max(both.map((e) => e.maxConsumerRssMiB)), "≤ 64"],
        ["`up resilient-web` to 4 Ready pods, s, with the simulated image pull", max(web), ""],
        ["`up resilient-web` to 4 Ready pods, s, image pull 0", max(webOwn), "≤ 3"],
      ],
    );
    return {
      figures: {
        runs,
        edwReadySeconds: max(edw.map((e) => e.readySeconds)),
        edwReadySecondsNoPull: max(edwOwn.map((e) => e.readySeconds)),
        podFirstReceiveMs: max(both.map((e) => e.maxPodFirstReceiveMs)),
        podRssMiB: max(both.map((e) => e.maxConsumerRssMiB)),
        webReadySeconds: max(web),
        webReadySecondsNoPull: max(webOwn),
      },
      ratios: { edwReadyNoPullOverGoal: round(max(edwOwn.map((e) => e.readySeconds)) / 3), firstReceiveOverGoal: round(max(both.map((e) => e.maxPodFirstReceiveMs)) / 300) },
      table,
    };
  },
};

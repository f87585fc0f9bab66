// A small status source for the dashboard: a loopback HTTP server that answers the control API's routes
// the dashboard reads (GET /v1/status, GET /v1/events) with a made-up, moving run of two clusters, and
// the blue-green routes (POST /v1/upgrade, /rollback, /finish) as that part of the API will. The dashboard
// server under test is the real one; only what it reads is synthetic.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { StatusV1 } from "../../src/local/status.js";
import type { ClusterEvent } from "../../src/scaling/events.js";

export interface SyntheticOptions {
  token: string;
  /** Pods per cluster (a large run makes large statuses). */
  podsPerCluster?: number;
  /** New events each status read adds (a busy run), each with a message this long. */
  eventsPerRead?: number;
  eventBytes?: number;
  /** Include a blueGreen field and per-cluster gateway counters. */
  blueGreen?: boolean;
}

export interface Synthetic {
  url: string;
  /** Status reads answered so far. */
  reads(): number;
  /** POST bodies received, by path. */
  posts: { path: string; body: string }[];
  close(): Promise<void>;
}

export async function startSynthetic(o: SyntheticOptions): Promise<Synthetic> {
  let reads = 0;
  let time = Date.now();
  const events: ClusterEvent[] = [];
  const posts: { path: string; body: string }[] = [];
  const bg: {
    stage: "T0" | "T1" | "T2" | "T3" | "T4";
    phase: string;
    activeCluster: string;
    standbyCluster: string | null;
    targetVersion: string | null;
    weights: Record<string, number>;
    owner: { holder: string; generation: number };
  } = {
    stage: "T3",
    phase: "canary",
    activeCluster: "blue",
    standbyCluster: "green",
    targetVersion: "1.31",
    weights: { blue: 90, green: 10 },
    owner: { holder: "blue", generation: 1 },
  };
  const counters = { blue: 0, green: 0, failed: 0 };
  const event = (type: ClusterEvent["type"], object: string, reason: string, message: string, cluster?: string) => {
    events.push({ time, type, object, reason, message, ...(cluster ? { cluster } : {}) });
    // Bounded like the runtime's recorder.
    if (events.length > 5000) events.splice(0, events.length - 5000);
  };

  function status(): StatusV1 & Record<string, unknown> {
    reads++;
    time += 1000;
    counters.blue += bg.weights.blue;
    counters.green += bg.weights.green;
    for (let i = 0; i < (o.eventsPerRead ?? 0); i++) event("Normal", `pod/p-${reads}-${i}`, "Pulled", "x".repeat(o.eventBytes ?? 40), "blue");
    const n = o.podsPerCluster ?? 2;
    const clusters = ["blue", "green"];
    const nodes: StatusV1["nodes"] = clusters.flatMap((c) =>
      [0, 1].map((i) => ({
        cluster: c,
        name: `${c}-aks-system-0000${i}`,
        type: "Standard_D2s_v5",
        phase: "Ready",
        powered: true,
        schedulable: true,
        pool: "system",
        poolKind: "agentPool" as const,
        zone: null,
        taints: [],
        pods: n / 2,
        cpuRequestedMillis: 500,
        cpuAllocatableMillis: 2000,
        ageSeconds: reads,
        launchedAt: time - reads * 1000,
        expectedReadyAt: null,
        launchReason: "agent pool",
      })),
    );
    // A node on its way (a burst on green): the why panel's ETA.
    if (o.blueGreen)
      nodes.push({
        cluster: "green",
        name: "green-aks-burst-00000",
        type: "Standard_D4s_v5",
        phase: "Provisioning",
        powered: true,
        schedulable: false,
        pool: "burst",
        poolKind: "agentPool",
        zone: null,
        taints: [],
        pods: 0,
        cpuRequestedMillis: 0,
        cpuAllocatableMillis: 4000,
        ageSeconds: 5,
        launchedAt: time - 5000,
        expectedReadyAt: time + 25_000,
        launchReason: "2 pending pod(s) fit no ready node",
      });
    const pods = clusters.flatMap((c) =>
      Array.from({ length: n }, (_, i) => ({
        cluster: c,
        name: `web-${c}-${i}`,
        deployment: "web",
        phase: "Running",
        ready: true,
        node: `${c}-aks-system-0000${i % 2}`,
        port: 30000 + i,
        pid: null,
        restarts: 0,
        waiting: null,
        lastFailure: null,
        inFlight: 0,
        processed: 0,
        ageSeconds: reads,
      })),
    );
    return {
      apiVersion: "akspilot.dev/v1",
      kind: "Status",
      blueprint: "bluegreen",
      time,
      policy: "fixed",
      paused: false,
      gatewayUrl: "http://127.0.0.1:1",
      gateway: {
        mode: "akspilot",
        url: "http://127.0.0.1:1",
        requests: counters.blue + counters.green,
        retries: 0,
        retriesRefused: 0,
        held: 0,
        endpoints: pods.map((p) => ({ pod: p.name, healthy: true, ejected: false, inFlight: 0, ejections: 0 })),
        failed: counters.failed,
        latencyMs: { p50: 2.1, p95: 6.5, p99: 12.3 },
        ...(o.blueGreen ? { byCluster: { blue: { requests: counters.blue, failed: 0 }, green: { requests: counters.green, failed: counters.failed } } } : {}),
      },
      clusters: clusters.map((c) => ({ name: c, kubernetesVersion: c === "blue" ? "1.30" : "1.31", nodeMonitorGraceMs: 40_000 })),
      queueDepth: null,
      autoscaler: null,
      deployments: clusters.map((c) => ({ cluster: c, name: "web", desired: n, current: n, ready: n, pending: 0, terminating: 0 })),
      pods,
      nodes,
      services: [],
      podSeconds: reads * 4,
      nodeSeconds: reads * 4,
      extra: {},
      ...(o.blueGreen ? { blueGreen: bg } : {}),
    };
  }

  const send = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage) => {
    let s = "";
    for await (const chunk of req) s += chunk;
    return s;
  };

  const server = createServer((req, res) => {
    void (async () => {
      if (req.headers.authorization !== `Bearer ${o.token}`) return send(res, 401, { error: "missing or wrong bearer token" });
      const url = new URL(req.url ?? "/", "http://x");
      if (req.method === "GET" && url.pathname === "/v1/status") return send(res, 200, status());
      if (req.method === "GET" && url.pathname === "/v1/events") {
        const since = Number(url.searchParams.get("since") ?? 0);
        return send(
          res,
          200,
          events.filter((e) => e.time >= since),
        );
      }
      if (req.method === "POST") {
        const body = await readBody(req);
        posts.push({ path: url.pathname, body });
        if (url.pathname === "/v1/upgrade") {
          const to = (JSON.parse(body || "{}") as { to?: unknown }).to;
          if (typeof to !== "string" || !to) return send(res, 400, { error: '"to" must name a Kubernetes version' });
          bg.weights = { blue: 0, green: 100 };
          Object.assign(bg, {
            stage: "T3",
            phase: "switched",
            activeCluster: "green",
            standbyCluster: "blue",
            owner: { holder: "green", generation: bg.owner.generation + 1 },
            targetVersion: to,
          });
          event("Normal", "gateway/web", "TrafficSwitched", `traffic switched to green (version ${to})`);
          return send(res, 200, { stage: bg.stage, activeCluster: "green" });
        }
        if (url.pathname === "/v1/upgrade/rollback") return send(res, 409, { error: "nothing to roll back: blue is on standby only after a switch you have finished" });
        if (url.pathname === "/v1/upgrade/finish") return send(res, 200, { stage: "T4" });
      }
      send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  event("Normal", "gateway/web", "GatewayReady", "two clusters behind one gateway");
  return {
    url: `http://127.0.0.1:${port}`,
    reads: () => reads,
    posts,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

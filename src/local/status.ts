import { KUBERNETES_VERSION_LABEL, type LocalRuntime } from "./runtime.js";
import type { Cluster } from "./cluster/cluster.js";
import { gatewayWindow } from "./gateway/index.js";

/** The autoscaler as the control API sees it: pause/resume and its last decisions. */
export interface ControlAutoscaler {
  setPaused(p: boolean): void;
  readonly isPaused: boolean;
  readonly lastNotes: Map<string, string>;
  measured(): { arrivalRate: number; perPodThroughput: number };
  /** When each of its loops ticks next (ms since the epoch). */
  readonly nextTicks?: Map<string, number>;
}

/** `blueGreen` of the status: the upgrade's stage (T0–T4), the clusters, the split's weights and the gateway backend's owner. */
export interface BlueGreenStatusV1 {
  stage: "T0" | "T1" | "T2" | "T3" | "T4";
  phase: string;
  activeCluster: string;
  standbyCluster: string | null;
  targetVersion: string | null;
  weights: Record<string, number>;
  owner: { holder: string; generation: number } | null;
}

/**
 * `GET /v1/status`: what `akspilot status` and the dashboard show. A declared, versioned shape: fields
 * may be added within `akspilot.dev/v1`, never renamed or removed. Every node, pod and Service names
 * its cluster.
 */
export interface StatusV1 {
  apiVersion: "akspilot.dev/v1";
  kind: "Status";
  blueprint: string;
  time: number;
  policy: string;
  paused: boolean;
  gatewayUrl: string | null;
  /** What answers at gatewayUrl (`kube`: the Service's L4 proxy; `akspilot`: the HTTP gateway) and, for the latter, its view of the endpoints. */
  gateway: {
    mode: "kube" | "akspilot";
    url: string;
    requests: number | null;
    retries: number | null;
    retriesRefused: number | null;
    held: number | null;
    endpoints: { pod: string; healthy: boolean; ejected: boolean; inFlight: number; ejections: number }[];
    /** Requests answered with a 5xx since the start (a counter); null behind the L4 proxy. */
    failed?: number | null;
    /** Durations of the requests that finished in the last 10 s, ms (null: none, or the L4 proxy). */
    latencyMs?: { p50: number; p95: number; p99: number } | null;
    /** Blue-green: tries the gateway sent to each cluster's endpoints, and how many failed (a failed try may have been retried elsewhere). */
    byCluster?: Record<string, { requests: number; failed: number }>;
  } | null;
  /** Blue-green: the upgrade's stage (T0–T4), the clusters, the weights of the split and the gateway backend's owner. */
  blueGreen?: BlueGreenStatusV1 | null;
  clusters: { name: string; kubernetesVersion: string | null; nodeMonitorGraceMs: number }[];
  /** The blueprint's storage queue (EDW): approximate depth as KEDA reads it. */
  queueDepth: number | null;
  autoscaler: { notes: Record<string, string>; arrivalRate: number; perPodThroughput: number; nextTicks?: Record<string, number> } | null;
  deployments: {
    cluster: string;
    name: string;
    desired: number;
    current: number;
    ready: number;
    pending: number;
    terminating: number;
  }[];
  pods: {
    cluster: string;
    name: string;
    deployment: string;
    phase: string;
    ready: boolean;
    node: string | null;
    port: number | null;
    pid: number | null;
    restarts: number;
    /** Why the pod is not running: ContainerCreating, CrashLoopBackOff, or the scheduler's reason. */
    waiting: string | null;
    /** The container's last failure, in the program's own words. */
    lastFailure: string | null;
    inFlight: number;
    processed: number;
    ageSeconds: number;
  }[];
  nodes: {
    cluster: string;
    name: string;
    /** The node's Kubernetes version (its cluster's), when known. */
    kubernetesVersion?: string;
    type: string;
    phase: string;
    powered: boolean;
    schedulable: boolean;
    /** The agent pool or Karpenter NodePool it belongs to. */
    pool: string;
    poolKind: "agentPool" | "nodePool";
    zone: string | null;
    taints: string[];
    pods: number;
    cpuRequestedMillis: number;
    cpuAllocatableMillis: number;
    ageSeconds: number;
    /** When the node was launched (VM create started), ms since the epoch. */
    launchedAt?: number;
    /** While Provisioning: when it is expected Ready (launch + the node startup time), ms since the epoch. */
    expectedReadyAt?: number | null;
    /** Why it was launched, in the provisioner's words. */
    launchReason?: string | null;
  }[];
  services: {
    cluster: string;
    name: string;
    type: string;
    port: number;
    url: string;
    endpoints: { pod: string; node: string; port: number; ready: boolean; terminating: boolean }[];
  }[];
  podSeconds: number;
  nodeSeconds: number;
  /** Blueprint-specific additions (e.g. queue consistency). */
  extra: Record<string, unknown>;
}

/** A control API route a blueprint adds: an answer, or undefined when the route is not its own. */
export type ControlRoute = (method: string, path: string, body: () => Promise<Record<string, unknown>>) => Promise<{ code: number; body: unknown } | undefined>;

/** How a load burst of messages ended: how many storage accepted, and why it stopped short if it did. */
export interface LoadOutcome {
  sent: number;
  /** The one line that says why the burst stopped short (storage's refusal, with what fixes it). */
  error?: string;
}

/** A load burst of messages once accepted: what the caller is told at once, and how it ends. */
export interface MessageLoad {
  accepted: Record<string, unknown>;
  /** Settles when every send has been answered (never rejects). */
  done: Promise<LoadOutcome>;
}

export interface StatusSource {
  runtime: LocalRuntime;
  autoscaler?: ControlAutoscaler;
  policy?: string;
  extra?: () => Promise<Record<string, unknown>>;
  /** `POST /v1/load {"messages": N}`: the blueprint's own producer path (EDW), if it has one. */
  load?: (messages: number) => MessageLoad;
  /** Adds blueprint-specific fields (e.g. `blueGreen`, `gateway.byCluster`). */
  decorate?: (s: StatusV1) => void;
  route?: ControlRoute;
}

function clusterStatus(c: Cluster, now: number) {
  const deployments = [...c.deployments.values()].map((d) => {
    const pods = c.podsOf(d.name);
    return {
      cluster: c.name,
      name: d.name,
      desired: d.replicas,
      current: pods.filter((p) => p.phase === "Running").length,
      ready: pods.filter((p) => p.phase === "Running" && p.ready).length,
      pending: pods.filter((p) => p.phase === "Pending").length,
      terminating: pods.filter((p) => p.phase === "Terminating").length,
    };
  });
  // Finished pods are history (events keep it); status shows what is there now.
  const pods = [...c.pods.values()]
    .filter((p) => p.phase !== "Succeeded" && p.phase !== "Failed")
    .map((p) => ({
      cluster: c.name,
      name: p.name,
      deployment: p.template.app,
      phase: p.phase,
      ready: p.ready,
      node: p.nodeName ?? null,
      port: p.port ?? null,
      pid: p.pid ?? null,
      restarts: p.restarts,
      waiting: p.phase === "Pending" ? (p.unschedulable ?? "Pending") : (p.waiting ?? null),
      lastFailure: p.lastFailure ?? null,
      inFlight: Number(p.stats.inFlight ?? 0),
      processed: Number(p.stats.processed ?? 0),
      ageSeconds: Math.round((now - p.createdAt) / 1000),
    }));
  const nodes = c.liveNodes().map((n) => {
    const room = c.room(n);
    const version = n.labels[KUBERNETES_VERSION_LABEL];
    return {
      cluster: c.name,
      name: n.name,
      ...(version ? { kubernetesVersion: version } : {}),
      type: n.type.name,
      phase: n.phase,
      powered: n.powered,
      schedulable: n.schedulable,
      pool: n.pool,
      poolKind: n.origin.kind,
      zone: n.zone ?? null,
      taints: n.taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`),
      pods: c.podsOn(n.name).length,
      cpuRequestedMillis: n.type.cpuMillis - room.cpuMillis,
      cpuAllocatableMillis: n.type.cpuMillis,
      ageSeconds: Math.round((now - n.createdAt) / 1000),
      launchedAt: n.createdAt,
      expectedReadyAt: n.phase === "Provisioning" ? (n.expectedReadyAt ?? null) : null,
      launchReason: n.launchReason ?? null,
    };
  });
  return { deployments, pods, nodes };
}

function gatewayStatus(rt: LocalRuntime): StatusV1["gateway"] {
  const lb = rt.services.find((svc) => svc.type === "LoadBalancer");
  const http = lb?.gateway ?? rt.ingressGateway;
  if (!http) return lb ? { mode: "kube", url: lb.proxy.url, requests: null, retries: null, retriesRefused: null, held: null, endpoints: [] } : null;
  const g = http.stats();
  const recent = gatewayWindow(http);
  return {
    mode: "akspilot",
    url: http.url,
    requests: g.requests,
    retries: g.retries,
    retriesRefused: g.retriesRefused,
    held: g.held,
    endpoints: g.endpoints.map((e) => ({ pod: e.pod, healthy: e.healthy, ejected: e.ejected, inFlight: e.inFlight, ejections: e.ejections })),
    failed: recent ? recent.failed : null,
    latencyMs: recent ? recent.percentiles() : null,
  };
}

export async function statusSnapshot(s: StatusSource): Promise<StatusV1> {
  const status = await baseSnapshot(s);
  s.decorate?.(status);
  return status;
}

async function baseSnapshot(s: StatusSource): Promise<StatusV1> {
  const rt = s.runtime;
  const now = rt.clock.now();
  const per = [...rt.clusters.values()].map((c) => clusterStatus(c, now));
  const extra: Record<string, unknown> = { ...((await s.extra?.().catch(() => ({}))) ?? {}) };
  const depth = extra.queueDepth;
  delete extra.queueDepth;
  return {
    apiVersion: "akspilot.dev/v1",
    kind: "Status",
    blueprint: rt.blueprint.name,
    time: now,
    policy: s.policy ?? "fixed",
    paused: s.autoscaler?.isPaused ?? false,
    gatewayUrl: rt.gatewayUrl ?? null,
    gateway: gatewayStatus(rt),
    clusters: [...rt.clusters.values()].map((c) => ({
      name: c.name,
      kubernetesVersion: c.kubernetesVersion ?? null,
      nodeMonitorGraceMs: Math.round(c.lifecycle.settings.gracePeriodMs),
    })),
    queueDepth: typeof depth === "number" ? depth : null,
    // Notes older than the current decision are dropped by the autoscaler itself.
    autoscaler: s.autoscaler
      ? {
          notes: Object.fromEntries(s.autoscaler.lastNotes),
          ...s.autoscaler.measured(),
          ...(s.autoscaler.nextTicks ? { nextTicks: Object.fromEntries(s.autoscaler.nextTicks) } : {}),
        }
      : null,
    deployments: per.flatMap((x) => x.deployments),
    pods: per.flatMap((x) => x.pods),
    nodes: per.flatMap((x) => x.nodes),
    services: rt.services.map((svc) => ({ cluster: svc.cluster, name: svc.name, type: svc.type, port: svc.port, url: svc.proxy.url, endpoints: svc.endpoints.list() })),
    podSeconds: Math.round(rt.podSeconds()),
    nodeSeconds: Math.round(rt.nodeSeconds()),
    extra,
  };
}

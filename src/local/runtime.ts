import { createServer } from "node:net";
import type { TimingProfile } from "../scaling/timings.js";
import type { AddressInfo } from "node:net";
import type { AppSpec, Blueprint, ClusterSpec, HttpProbe } from "../blueprints/types.js";
import { Cluster } from "./cluster/cluster.js";
import { EventRecorder } from "./cluster/events.js";
import { realClock, type Clock } from "./cluster/clock.js";
import { ProcessRunner, type PodRunner } from "./cluster/runner.js";
import type { PodTemplate, ProbeSettings } from "./cluster/pod.js";
import { Endpoints, type ServiceSpec } from "./cluster/service.js";
import { startServiceProxy, type ServiceProxy } from "./cluster/service-proxy.js";
import { checkGatewaySettings, startAppGateway, type Gateway, type GatewayEngine, type GatewayMode } from "./gateway/index.js";
import { Provisioner, type ProvisionerOptions } from "./controllers/provisioner.js";
import { ClusterClock } from "./controllers/clock.js";
import { programFor } from "./programs.js";
import { resources } from "../scaling/quantity.js";
import { nodeTypesFor } from "../scaling/catalog.js";
import { KUBERNETES_VERSION_LABEL, agentPoolType, staticPoolNodes } from "../scaling/static-pools.js";
import { poolSettings, type PoolSettings } from "../scaling/karpenter.js";
import { schedulePod, type SchedNode } from "../scaling/scheduling.js";
import { roomOf } from "../scaling/packing.js";
import { UserError } from "../errors.js";
import { clip } from "../util/text.js";

/** What a blueprint's driver adds to an app when it runs locally (its tuning flags, storage, replicas). */
export interface AppOverrides {
  args?: string[];
  env?: Record<string, string>;
  replicas?: number;
}

export interface LocalRuntimeOptions {
  blueprint: Blueprint;
  /** Every cluster timing runs this many times faster (controllers, probes, node startup, preStop). */
  timeScale: number;
  logDir?: string;
  /** Where pods keep V8's code cache (see ProcessRunnerOptions); shared by every run in the state directory. */
  compileCacheDir?: string;
  runner?: PodRunner;
  clock?: Clock;
  /** Address the Services and the gateway listen on (127.0.0.1 unless the user says otherwise). */
  host?: string;
  /** A fixed port for the blueprint's LoadBalancer Service (its `gatewayUrl`). */
  gatewayPort?: number;
  /** What answers at `gatewayUrl`: the Service's L4 proxy (kube, the default) or the HTTP gateway. */
  gateway?: GatewayMode;
  /** What carries the `akspilot` gateway's requests: the built-in Node gateway (default) or haproxy. */
  gatewayEngine?: GatewayEngine;
  /** VM create + kubelet registration of a node Karpenter launches, in cluster seconds. */
  nodeStartupSeconds: number;
  /** Overrides the node-monitor grace period of the cluster's Kubernetes version, in cluster seconds. */
  nodeMonitorGraceSeconds?: number;
  /** The timing profile (image pull on a fresh node, VM deletion); node startup and grace come through the fields above. */
  timings?: TimingProfile;
  /** The first Karpenter NodePool, resolved from a user's file instead of the blueprint's. */
  nodePool?: PoolSettings;
  /** Per app: what the driver adds, or "driver" when the driver runs it itself (e.g. the EDW producer). */
  apps?: (app: AppSpec) => AppOverrides | "driver";
  /** A capacity buffer Karpenter keeps (the predictive policy's warm pods). */
  buffer?: (rt: LocalRuntime) => ProvisionerOptions["buffer"];
  /** The driver runs the blueprint's workloads itself (Airflow's task pods): clusters and nodes start with no Deployment. */
  driverRunsWorkloads?: boolean;
}

export interface RunningService {
  cluster: string;
  name: string;
  type: ServiceSpec["type"];
  port: number;
  endpoints: Endpoints;
  proxy: ServiceProxy;
  /** The HTTP gateway in front of this (LoadBalancer) Service, in `akspilot` gateway mode. */
  gateway?: Gateway;
}

export { KUBERNETES_VERSION_LABEL };

/** A free loopback port (the OS's choice), for a pod's "IP". */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A blueprint probe in cluster time: periods and delays follow the time scale; timeouts stay real. */
function probe(p: HttpProbe | undefined, timeScale: number): ProbeSettings | undefined {
  if (!p) return undefined;
  return {
    path: p.path,
    periodMs: (p.periodSeconds * 1000) / timeScale,
    timeoutMs: p.timeoutSeconds * 1000,
    failureThreshold: p.failureThreshold,
    successThreshold: p.successThreshold ?? 1,
    initialDelayMs: (p.initialDelaySeconds * 1000) / timeScale,
  };
}

/** The pod template of an app: the blueprint's spec, run by its program, plus what the driver adds. */
export function podTemplate(bp: Blueprint, app: AppSpec, overrides: AppOverrides, timeScale: number): PodTemplate {
  const program = programFor(app, bp.name);
  return {
    app: app.name,
    labels: app.labels,
    script: program.entry,
    args: overrides.args ?? [],
    nodeArgs: program.nodeArgs,
    env: { ...app.env, ...program.env, ...overrides.env },
    portEnv: program.portEnv,
    requests: resources(app.resources.requests),
    tolerations: app.tolerations,
    topologySpread: app.topologySpread,
    graceMs: app.terminationGracePeriodSeconds * 1000,
    preStopMs: app.preStopSleepSeconds ? (app.preStopSleepSeconds * 1000) / timeScale : undefined,
    deletionCostAnnotation: app.podDeletionCost === true,
    readiness: probe(app.readiness, timeScale),
    liveness: probe(app.liveness, timeScale),
    startup: probe(app.startup, timeScale),
  };
}

/** The cluster's static agent-pool nodes (src/scaling/static-pools.ts, as `simulate` starts from them), Ready at once. */
export function addStaticNodes(cluster: Cluster, spec: Pick<ClusterSpec, "agentPools" | "addOns" | "kubernetesVersion">): void {
  for (const n of staticPoolNodes(spec)) cluster.addNode(n.type, { kind: "agentPool", pool: n.pool, mode: n.mode }, 0, n.reason, n.taints, n.labels);
}

/**
 * Refuses, before anything starts, a blueprint whose pods could never be scheduled: no static pool and
 * no instance type of a NodePool both tolerates the pod and has room for its requests.
 */
export function checkSchedulable(bp: Blueprint, cluster: ClusterSpec, apps: AppSpec[], pools: PoolSettings[]): void {
  const candidates: SchedNode[] = [
    ...cluster.agentPools.map((p) => {
      const t = agentPoolType(cluster, p);
      return { name: `pool ${p.name}`, labels: {}, taints: p.taints ?? [], unschedulable: false, room: roomOf(t), capacity: roomOf(t), podLabels: [] };
    }),
    ...pools.flatMap((pool) =>
      pool.catalog.map((t) => ({
        name: `NodePool ${pool.name} (${t.name})`,
        labels: {},
        taints: pool.taints ?? [],
        unschedulable: false,
        room: roomOf(t),
        capacity: roomOf(t),
        podLabels: [],
      })),
    ),
  ];
  for (const app of apps) {
    const r = schedulePod({ requests: resources(app.resources.requests), tolerations: app.tolerations, labels: app.labels, selector: {}, topologySpread: [] }, candidates);
    if (r.node === undefined) {
      throw new UserError(
        `pods of ${bp.name}/${app.name} can never be scheduled on cluster ${cluster.name}: ${r.reason.replace(/^0\/(\d+) nodes/, "0/$1 node kinds")}`,
        "give the app tolerations for a pool's taints, or smaller requests, or add a pool that fits",
      );
    }
  }
}

/**
 * The local target: interprets a blueprint as running clusters. Every cluster of the blueprint gets its
 * static agent-pool nodes, a Karpenter provisioner per NodePool, a Deployment per app (pods as real
 * processes, each on its own loopback port), and a loopback proxy per Service; a LoadBalancer Service's
 * proxy is the gateway. Anything outside Kubernetes (storage, producers, reports) is the driver's.
 */
export class LocalRuntime {
  readonly clusters = new Map<string, Cluster>();
  readonly services: RunningService[] = [];
  readonly events: EventRecorder;
  readonly clusterClock: ClusterClock;
  private readonly provisioners: Provisioner[] = [];
  private stopping?: Promise<void>;

  private constructor(
    readonly o: LocalRuntimeOptions,
    readonly clock: Clock,
  ) {
    this.events = new EventRecorder(5000, () => clock.now());
    this.clusterClock = new ClusterClock(o.timeScale);
  }

  get blueprint(): Blueprint {
    return this.o.blueprint;
  }

  /** An HTTP gateway in front of several clusters (blue-green's Application Gateway), set by its driver. */
  ingressGateway?: Gateway;

  /** The URL of the blueprint's LoadBalancer Service, if it has one (or of the gateway in front of the clusters). */
  get gatewayUrl(): string | undefined {
    const lb = this.services.find((s) => s.type === "LoadBalancer");
    return lb?.gateway?.url ?? lb?.proxy.url ?? this.ingressGateway?.url;
  }

  /** Which gateway answers at `gatewayUrl`, if there is one. */
  get gatewayMode(): GatewayMode | undefined {
    const lb = this.services.find((s) => s.type === "LoadBalancer");
    return lb ? (lb.gateway ? "akspilot" : "kube") : this.ingressGateway ? "akspilot" : undefined;
  }

  /** The first cluster (the only one, except for blue-green). */
  get primary(): Cluster {
    return this.clusters.values().next().value!;
  }

  static async start(o: LocalRuntimeOptions): Promise<LocalRuntime> {
    const bp = o.blueprint;
    if (bp.clusters.length === 0) throw new UserError(`blueprint ${bp.name} names no cluster`, "add one to its clusters");
    const plans = bp.apps.map((app) => ({ app, how: o.apps?.(app) ?? {} }));
    const runnable = plans.filter((p): p is { app: AppSpec; how: AppOverrides } => p.how !== "driver");
    if (runnable.length === 0 && !o.driverRunsWorkloads) {
      throw new UserError(
        `blueprint ${bp.name} has nothing the local runtime can run (its workloads come from ${bp.airflow ? "the Airflow Helm chart" : "outside akspilot"})`,
        `use \`akspilot manifests ${bp.name}\` and \`akspilot plan ${bp.name}\``,
      );
    }
    for (const { app } of runnable) {
      if (app.kind === "Job")
        throw new UserError(`app ${app.name} of ${bp.name} is a Job, which the local runtime runs only through its blueprint's driver`, "run it as a Deployment");
    }
    // Everything that can be checked is checked before the first process starts.
    const templates = runnable.map(({ app, how }) => ({ app, how, template: podTemplate(bp, app, how, o.timeScale) }));
    // Karpenter chooses among node sizes whose allocatable the cluster's DaemonSets (its add-ons) reduce.
    const poolsOf = (spec: ClusterSpec, first: boolean) =>
      (spec.nodePools ?? []).map((np, i) => (first && i === 0 && o.nodePool ? o.nodePool : poolSettings(np, nodeTypesFor(spec.addOns).catalog)));
    for (const [i, spec] of bp.clusters.entries()) {
      checkSchedulable(
        bp,
        spec,
        runnable.map((r) => r.app),
        poolsOf(spec, i === 0),
      );
    }
    if (o.gateway === "akspilot") for (const { app } of runnable) if (app.service?.type === "LoadBalancer") checkGatewaySettings(app, o.timeScale);

    const clock = o.clock ?? realClock;
    const rt = new LocalRuntime(o, clock);
    rt.runner = o.runner ?? rt.processRunner();
    rt.templates = templates;
    rt.poolsOf = poolsOf;
    try {
      for (const [ci, spec] of bp.clusters.entries()) await rt.startCluster(spec, ci);
      for (const p of rt.provisioners) p.start();
      return rt;
    } catch (e) {
      await rt.stop();
      throw e;
    }
  }

  private runner!: PodRunner;

  /** Real child processes with this run's logs and code cache: for pods a driver starts itself (producer, task jobs). */
  processRunner(): ProcessRunner {
    return new ProcessRunner({ logDir: this.o.logDir, compileCacheDir: this.o.compileCacheDir });
  }
  private templates: { app: AppSpec; how: AppOverrides; template: PodTemplate }[] = [];
  private poolsOf: (spec: ClusterSpec, first: boolean) => PoolSettings[] = () => [];
  private readonly provisionersOf = new Map<string, Provisioner[]>();

  /** One cluster: its agent-pool nodes (labelled with its Kubernetes version), Services, Deployments, provisioners. */
  private async startCluster(spec: ClusterSpec, ci: number, extraEnv: Record<string, string> = {}): Promise<Cluster> {
    const o = this.o;
    const bp = o.blueprint;
    const cluster = new Cluster({
      name: spec.name,
      kubernetesVersion: spec.kubernetesVersion,
      clock: this.clock,
      runner: this.runner,
      allocatePort: () => this.allocatePort(),
      timeScale: o.timeScale,
      events: this.events,
      qualifyNodeNames: bp.clusters.length > 1 || bp.blueGreen !== undefined,
      imagePullMs: ((o.timings?.imagePullSeconds ?? 0) * 1000) / o.timeScale,
      nodeLifecycle: o.nodeMonitorGraceSeconds !== undefined ? { gracePeriodMs: (o.nodeMonitorGraceSeconds * 1000) / o.timeScale } : {},
    });
    this.clusters.set(spec.name, cluster);
    addStaticNodes(cluster, spec);
    // Services first: a port that cannot be bound fails the start before any pod process exists.
    for (const { app } of this.templates) {
      if (!app.service) continue;
      const first = Object.entries(app.labels)[0];
      const svc: ServiceSpec = { name: app.name, type: app.service.type, selector: first ? { [first[0]]: first[1] } : {}, port: app.service.port };
      const endpoints = new Endpoints(cluster, svc);
      const lb = svc.type === "LoadBalancer" && !this.services.some((s) => s.type === "LoadBalancer");
      const http = lb && o.gateway === "akspilot";
      const proxy = await startServiceProxy(endpoints, { host: o.host, port: lb && !http ? o.gatewayPort : undefined });
      const running: RunningService = { cluster: spec.name, name: svc.name, type: svc.type, port: svc.port, endpoints, proxy };
      this.services.push(running);
      cluster.event("Normal", `service/${svc.name}`, lb ? "EnsuredLoadBalancer" : "ServiceReady", `${svc.type} ${svc.name}:${svc.port} → pods' port, on ${proxy.url}`);
      if (http) {
        running.gateway = await startAppGateway(app, endpoints, cluster, {
          timeScale: o.timeScale,
          host: o.host,
          port: o.gatewayPort,
          engine: o.gatewayEngine,
          stateDir: o.logDir,
        });
        cluster.event(
          "Normal",
          `gateway/${svc.name}`,
          "GatewayReady",
          `health-checked HTTP gateway${o.gatewayEngine === "haproxy" ? " (haproxy engine)" : ""} in front of service/${svc.name}, on ${running.gateway.url}`,
        );
      }
    }
    // With several clusters, each pod learns which one it runs on (the hello app names it in its answer).
    const clusterEnv: Record<string, string> =
      bp.clusters.length > 1 || bp.blueGreen ? { CLUSTER_NAME: spec.name, ...(spec.kubernetesVersion ? { KUBERNETES_VERSION: spec.kubernetesVersion } : {}) } : {};
    for (const { app, how, template } of this.templates) {
      cluster.addDeployment(app.name, { ...template, env: { ...template.env, ...clusterEnv, ...extraEnv } }, how.replicas ?? app.replicas, app.disruptionBudget);
    }
    const mine: Provisioner[] = [];
    for (const pool of this.poolsOf(spec, ci === 0)) {
      mine.push(
        new Provisioner({
          cluster,
          pool,
          clock: this.clusterClock,
          nodeStartupSeconds: o.nodeStartupSeconds,
          vmDeleteSeconds: o.timings?.vmDeleteSeconds,
          buffer: ci === 0 && this.provisioners.length === 0 && mine.length === 0 ? o.buffer?.(this) : undefined,
        }),
      );
    }
    this.provisioners.push(...mine);
    this.provisionersOf.set(spec.name, mine);
    return cluster;
  }

  /**
   * A cluster added while the runtime runs (blue-green: the green cluster of an upgrade), with `env`
   * added to its pods (e.g. a fault injected for a rehearsal).
   */
  async addCluster(spec: ClusterSpec, env: Record<string, string> = {}): Promise<Cluster> {
    if (this.clusters.has(spec.name)) throw new UserError(`cluster ${clip(spec.name)} already runs`, "remove it first");
    const cluster = await this.startCluster(spec, this.clusters.size, env);
    for (const p of this.provisionersOf.get(spec.name) ?? []) p.start();
    return cluster;
  }

  /** Removes a cluster: its provisioners, pods (gracefully), nodes and Services. */
  async removeCluster(name: string): Promise<void> {
    const cluster = this.clusters.get(name);
    if (!cluster) return;
    const provisioners = this.provisionersOf.get(name) ?? [];
    await Promise.all(provisioners.map((p) => p.stop()));
    this.provisioners.splice(0, this.provisioners.length, ...this.provisioners.filter((p) => !provisioners.includes(p)));
    this.provisionersOf.delete(name);
    await cluster.shutdown();
    cluster.lifecycle.stop();
    for (const n of cluster.liveNodes()) cluster.deleteNode(n.name, `cluster ${name} removed`);
    const services = this.services.filter((s) => s.cluster === name);
    for (const s of services) s.endpoints.close();
    await Promise.all(services.map((s) => s.gateway?.close()));
    await Promise.all(services.map((s) => s.proxy.close()));
    this.services.splice(0, this.services.length, ...this.services.filter((s) => s.cluster !== name));
    // Its pods have finished and its nodes are deleted, so its totals are final: kept, so the run's never go down.
    this.removedPodSeconds += cluster.podSeconds();
    this.removedNodeSeconds += cluster.nodeSeconds();
    this.clusters.delete(name);
  }

  /** Pod- and node-seconds of the clusters removed during the run (blue after `upgrade --finish`). */
  private removedPodSeconds = 0;
  private removedNodeSeconds = 0;

  /** Ports handed to pods of this run: the OS may offer a just-closed port again, so it is checked here. */
  private readonly handedOut = new Set<number>();

  /** A free loopback port that no pod of any cluster of this run holds or is about to hold. */
  async allocatePort(): Promise<number> {
    const live = new Set<number>();
    const finished = new Set<number>();
    for (const c of this.clusters.values()) {
      for (const p of c.pods.values()) {
        if (p.port === undefined) continue;
        (p.phase === "Succeeded" || p.phase === "Failed" ? finished : live).add(p.port);
      }
    }
    for (const port of finished) if (!live.has(port)) this.handedOut.delete(port);
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = await freePort();
      if (!this.handedOut.has(port) && !live.has(port)) {
        this.handedOut.add(port);
        return port;
      }
    }
    throw new Error("no free loopback port found for a pod");
  }

  /** The cluster a node belongs to, or one clear error naming the nodes there are. */
  clusterOfNode(name: string): Cluster {
    for (const c of this.clusters.values()) if (c.nodes.has(name) && c.nodes.get(name)!.phase !== "Deleted") return c;
    const names = [...this.clusters.values()].flatMap((c) => c.liveNodes().map((n) => n.name));
    throw new UserError(`no node named "${clip(name)}"`, `nodes: ${names.join(", ") || "none"}`);
  }

  /** The cluster of a Deployment (the first cluster that has it, unless `cluster` is named). */
  clusterOfDeployment(name: string, cluster?: string): Cluster {
    if (cluster !== undefined) {
      const c = this.clusters.get(cluster);
      if (!c) throw new UserError(`no cluster named "${clip(cluster)}"`, `clusters: ${[...this.clusters.keys()].join(", ")}`);
      c.requireDeployment(name);
      return c;
    }
    for (const c of this.clusters.values()) if (c.deployments.has(name)) return c;
    return this.primary.requireDeployment(name) && this.primary;
  }

  podSeconds(): number {
    return [...this.clusters.values()].reduce((a, c) => a + c.podSeconds(), this.removedPodSeconds);
  }

  nodeSeconds(): number {
    return [...this.clusters.values()].reduce((a, c) => a + c.nodeSeconds(), this.removedNodeSeconds);
  }

  /** Stops the provisioners, every pod (gracefully), the Services and the gateway. Idempotent. */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      await Promise.all(this.provisioners.map((p) => p.stop()));
      await Promise.all([...this.clusters.values()].map((c) => c.shutdown()));
      for (const c of this.clusters.values()) c.lifecycle.stop();
      for (const s of this.services) s.endpoints.close();
      await Promise.all(this.services.map((s) => s.gateway?.close()));
      await Promise.all(this.services.map((s) => s.proxy.close()));
      await this.ingressGateway?.close();
    })());
  }
}

import { mkdirSync } from "node:fs";
import { EventRecorder } from "./events.js";
import { VirtualNode, type Taint } from "./node.js";
import type { Toleration } from "../../blueprints/types.js";
import { Pod, type PodTemplate } from "./pod.js";
import { pickNode, type Room } from "../../scaling/packing.js";
import type { InstanceType } from "../../scaling/catalog.js";
import type { Resources } from "../../scaling/quantity.js";
import { UserError } from "../../errors.js";

export interface Deployment {
  name: string;
  template: PodTemplate;
  replicas: number;
  /** Pods ever created, for names. */
  serial: number;
}

export interface ClusterOptions {
  logDir?: string;
  /** Divides kubelet-style delays (restart backoff) like every other controller timing. */
  timeScale: number;
  now?: () => number;
}

/**
 * The local cluster's state and its two built-in controllers: the ReplicaSet (pods to match the
 * desired replicas; scale-in removes idle pods first) and the scheduler (pending pods onto ready
 * nodes with room for their requests). Autoscalers change `replicas` and nodes; this reconciles.
 */
export class Cluster {
  readonly nodes = new Map<string, VirtualNode>();
  readonly pods = new Map<string, Pod>();
  readonly deployments = new Map<string, Deployment>();
  readonly events: EventRecorder;
  private reconcileQueued = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly terminations = new Set<Promise<void>>();
  private stopped = false;
  /** Pod-seconds and node-seconds of everything already gone. */
  private closedPodSeconds = 0;
  private nodeSerial = 0;
  private readonly listeners = new Set<() => void>();
  private readonly ticker: NodeJS.Timeout;

  constructor(private readonly o: ClusterOptions) {
    this.events = new EventRecorder(5000, o.now);
    // Owner-only: when this creates `.akspilot/` itself, the state directory must not end up 0755.
    if (o.logDir) mkdirSync(o.logDir, { recursive: true, mode: 0o700 });
    this.ticker = setInterval(() => this.reconcile(), 1000);
    this.ticker.unref();
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // ---- nodes -------------------------------------------------------------------------------

  /** Adds a node that becomes Ready after `startupMs` (a VM boot plus kubelet registration). */
  addNode(type: InstanceType, nodePool: string | undefined, startupMs: number, reason: string, taints: Taint[] = []): VirtualNode {
    const name = `${nodePool ?? "system"}-${type.name.replace(/^Standard_/, "").toLowerCase().replace(/_/g, "")}-${++this.nodeSerial}`;
    const node = new VirtualNode(name, type, nodePool, Date.now(), taints);
    this.nodes.set(name, node);
    this.events.normal(`node/${name}`, "Launched", `${type.name} (${type.cpuMillis}m CPU, ${Math.round(type.memoryBytes / 2 ** 20)}Mi, ${type.maxPods} pods): ${reason}`);
    const ready = () => {
      if (node.phase !== "Provisioning") return;
      node.phase = "Ready";
      node.readyAt = Date.now();
      this.events.normal(`node/${name}`, "Ready", `ready after ${Math.round(node.readyAt - node.createdAt)} ms`);
      this.changed();
    };
    if (startupMs <= 0) ready();
    else this.later(ready, startupMs);
    this.changed();
    return node;
  }

  /** Powers a node off: its pods die with SIGKILL and are replaced elsewhere. */
  async stopNode(name: string): Promise<void> {
    const node = this.requireNode(name);
    if (node.phase === "NotReady") return;
    node.phase = "NotReady";
    this.events.warning(`node/${name}`, "NodeNotReady", "VM stopped: pods on it are lost");
    await Promise.all(this.podsOn(name).map((p) => p.kill(`node ${name} stopped`)));
    this.changed();
  }

  startNode(name: string): void {
    const node = this.requireNode(name);
    if (node.phase !== "NotReady") return;
    node.phase = "Ready";
    this.events.normal(`node/${name}`, "NodeReady", "VM started");
    this.changed();
  }

  /** Cordons, evicts its pods gracefully, then removes the node. */
  async drainAndDelete(name: string, reason: string): Promise<void> {
    const node = this.requireNode(name);
    if (node.phase === "Deleted" || node.phase === "Draining") return;
    node.unschedulable = true;
    node.phase = "Draining";
    this.events.normal(`node/${name}`, "Draining", reason);
    this.changed();
    // Evicted pods are recreated by their ReplicaSet and land on other nodes.
    await Promise.all(this.podsOn(name).map((p) => this.evict(p, `evicted from ${name}: ${reason}`)));
    node.phase = "Deleted";
    node.deletedAt = Date.now();
    this.events.normal(`node/${name}`, "Deleted", reason);
    this.changed();
  }

  requireNode(name: string): VirtualNode {
    const node = this.nodes.get(name);
    if (!node || node.phase === "Deleted") {
      const names = [...this.nodes.values()].filter((n) => n.phase !== "Deleted").map((n) => n.name);
      throw new UserError(`no node named "${name}"`, `nodes: ${names.join(", ") || "none"}`);
    }
    return node;
  }

  liveNodes(): VirtualNode[] {
    return [...this.nodes.values()].filter((n) => n.phase !== "Deleted");
  }

  podsOn(nodeName: string): Pod[] {
    return [...this.pods.values()].filter((p) => p.nodeName === nodeName && (p.phase === "Running" || p.phase === "Terminating"));
  }

  capacity(node: VirtualNode): Room {
    return { cpuMillis: node.type.cpuMillis, memoryBytes: node.type.memoryBytes, pods: node.type.maxPods };
  }

  room(node: VirtualNode): Room {
    const r = this.capacity(node);
    for (const p of this.podsOn(node.name)) {
      r.cpuMillis -= p.requests.cpuMillis;
      r.memoryBytes -= p.requests.memoryBytes;
      r.pods -= 1;
    }
    return r;
  }

  // ---- deployments ----------------------------------------------------------------------------

  addDeployment(name: string, template: PodTemplate, replicas: number): Deployment {
    const d: Deployment = { name, template, replicas, serial: 0 };
    this.deployments.set(name, d);
    this.changed();
    return d;
  }

  requireDeployment(name: string): Deployment {
    const d = this.deployments.get(name);
    if (!d) throw new UserError(`no deployment named "${name}"`, `deployments: ${[...this.deployments.keys()].join(", ")}`);
    return d;
  }

  setReplicas(name: string, replicas: number, source: string, why: string): void {
    const d = this.requireDeployment(name);
    if (d.replicas === replicas) return;
    this.events.normal(`deployment/${name}`, "ScalingReplicaSet", `${source}: ${d.replicas} → ${replicas}: ${why}`);
    d.replicas = replicas;
    this.changed();
  }

  podsOf(name: string): Pod[] {
    return [...this.pods.values()].filter((p) => p.template.app === name);
  }

  // ---- reconcile ------------------------------------------------------------------------------

  changed(): void {
    for (const l of this.listeners) l();
    if (this.reconcileQueued || this.stopped) return;
    this.reconcileQueued = true;
    setImmediate(() => {
      this.reconcileQueued = false;
      this.reconcile();
    });
  }

  reconcile(): void {
    if (this.stopped) return;
    for (const d of this.deployments.values()) this.reconcileReplicaSet(d);
    this.schedule();
  }

  private reconcileReplicaSet(d: Deployment): void {
    const active = this.podsOf(d.name).filter((p) => p.active);
    if (active.length < d.replicas) {
      for (let i = active.length; i < d.replicas; i++) {
        const pod = new Pod(`${d.name}-${++d.serial}`, d.template, {
          changed: () => this.changed(),
          event: (type, p, reason, message) => this.events.record(type, `pod/${p.name}`, reason, message),
          logDir: this.o.logDir,
          restartBackoffMs: 10_000 / this.o.timeScale,
          left: (p) => {
            const n = p.nodeName ? this.nodes.get(p.nodeName) : undefined;
            if (n) n.lastPodEventAt = Date.now();
          },
        });
        this.pods.set(pod.name, pod);
        this.events.normal(`pod/${pod.name}`, "Created", `ReplicaSet ${d.name}: ${active.length} → ${d.replicas} replicas`);
      }
    } else if (active.length > d.replicas) {
      for (const victim of scaleInOrder(active).slice(0, active.length - d.replicas)) {
        this.track(victim.terminate(`scale-in ${active.length} → ${d.replicas}`));
      }
    }
    this.forgetFinished();
  }

  private schedule(): void {
    const pending = [...this.pods.values()].filter((p) => p.phase === "Pending").sort((a, b) => a.createdAt - b.createdAt);
    if (pending.length === 0) return;
    const candidates = this.liveNodes().filter((n) => n.schedulable).map((n) => ({ node: n, room: this.room(n), capacity: this.capacity(n) }));
    for (const pod of pending) {
      const target = pickNode(pod.requests, candidates.filter((c) => tolerates(pod.template.tolerations ?? [], c.node.taints)));
      if (!target) continue;
      target.room = { cpuMillis: target.room.cpuMillis - pod.requests.cpuMillis, memoryBytes: target.room.memoryBytes - pod.requests.memoryBytes, pods: target.room.pods - 1 };
      this.events.normal(`pod/${pod.name}`, "Scheduled", `assigned to ${target.node.name}`);
      target.node.lastPodEventAt = Date.now();
      pod.bind(target.node.name);
    }
  }

  /** Pending pods that no ready node has room for (what a node provisioner must act on). */
  unschedulablePods(): Pod[] {
    return [...this.pods.values()].filter((p) => p.phase === "Pending");
  }

  private async evict(pod: Pod, reason: string): Promise<void> {
    // Terminating frees the slot; the ReplicaSet creates a replacement that the scheduler places elsewhere.
    await pod.terminate(reason);
  }

  private forgetFinished(): void {
    for (const p of this.pods.values()) {
      if ((p.phase === "Succeeded" || p.phase === "Failed") && p.finishedAt && Date.now() - p.finishedAt > 60_000) {
        this.closedPodSeconds += podSeconds(p, Date.now());
        this.pods.delete(p.name);
      }
    }
  }

  // ---- accounting -----------------------------------------------------------------------------

  podSeconds(now = Date.now()): number {
    let s = this.closedPodSeconds;
    for (const p of this.pods.values()) s += podSeconds(p, now);
    return s;
  }

  nodeSeconds(now = Date.now()): number {
    let s = 0;
    for (const n of this.nodes.values()) s += n.secondsAlive(now);
    return s;
  }

  usedByPool(pool: string): Resources {
    let cpu = 0;
    let mem = 0;
    for (const n of this.liveNodes()) if (n.nodePool === pool) { cpu += n.type.cpuMillis; mem += n.type.memoryBytes; }
    return { cpuMillis: cpu, memoryBytes: mem };
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  track(p: Promise<void>): void {
    this.terminations.add(p);
    void p.finally(() => this.terminations.delete(p));
  }

  /** Stops every pod gracefully (SIGTERM, grace period) and all timers. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    for (const t of this.timers) clearTimeout(t);
    await Promise.all([...this.pods.values()].map((p) => p.terminate("shutdown")));
    await Promise.all(this.terminations);
  }
}

/** Whether the tolerations allow scheduling onto a node with these taints (NoSchedule and NoExecute block). */
export function tolerates(tolerations: Toleration[], taints: Taint[]): boolean {
  return taints.every((t) => t.effect === "PreferNoSchedule" || tolerations.some((tol) =>
    (tol.effect === undefined || tol.effect === t.effect) &&
    (tol.operator === "Exists" ? (!tol.key || tol.key === t.key) : tol.key === t.key && (tol.value ?? "") === (t.value ?? ""))));
}

function podSeconds(p: Pod, now: number): number {
  if (p.scheduledAt === undefined) return 0;
  return ((p.finishedAt ?? now) - p.scheduledAt) / 1000;
}

/**
 * ReplicaSet scale-in order, idle first: pending, then not ready, then the lowest deletion cost (in-flight
 * messages, as controller.kubernetes.io/pod-deletion-cost), then the youngest.
 */
export function scaleInOrder(pods: Pod[]): Pod[] {
  const rank = (p: Pod) => (p.phase === "Pending" ? 0 : !p.ready ? 1 : 2);
  return [...pods].sort((a, b) => rank(a) - rank(b) || a.deletionCost - b.deletionCost || b.createdAt - a.createdAt);
}

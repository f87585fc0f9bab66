import { EventRecorder } from "./events.js";
import { VirtualNode, type NodeOrigin, type Taint } from "./node.js";
import { Pod, type PodTemplate } from "./pod.js";
import type { Clock, Timer } from "./clock.js";
import type { PodRunner } from "./runner.js";
import { kubeletBackoff } from "./backoff.js";
import { NodeLifecycle, type NodeLifecycleSettings } from "./node-lifecycle.js";
import { disruptionsAllowed, type DisruptionBudget } from "./disruption.js";
import { schedulePod, type SchedNode } from "../../scaling/scheduling.js";
import { scaleInOrder as rankForScaleIn } from "../../scaling/replicaset.js";
import type { Room } from "../../scaling/packing.js";
import type { InstanceType } from "../../scaling/catalog.js";
import type { Resources } from "../../scaling/quantity.js";
import type { Toleration } from "../../blueprints/types.js";
import { UserError } from "../../errors.js";
import { clip } from "../../util/text.js";

export { tolerates } from "../../scaling/scheduling.js";

export interface Deployment {
  name: string;
  template: PodTemplate;
  replicas: number;
  /** The labels that select its pods (the template's first label, as the blueprint says). */
  selector: Record<string, string>;
  budget?: DisruptionBudget;
  /** Pods ever created, for names. */
  serial: number;
}

export interface ClusterOptions {
  name: string;
  kubernetesVersion?: string;
  clock: Clock;
  runner: PodRunner;
  /** A free loopback port for a new pod. */
  allocatePort(): Promise<number>;
  /** Divides kubelet and controller delays, like every other timing of the run. */
  timeScale: number;
  /** Shared by every cluster of a runtime, so that `events` shows one timeline. */
  events?: EventRecorder;
  nodeLifecycle?: Partial<NodeLifecycleSettings>;
  /** Prefix node names with the cluster's (a runtime with several clusters). */
  qualifyNodeNames?: boolean;
  /** Clock ms the first pod of an app on a node waits for its image (the timing profile's imagePullSeconds, scaled). */
  imagePullMs?: number;
}

/** DefaultTolerationSeconds admission: pods that do not say otherwise leave a dead node after 300 s. */
const DEFAULT_TOLERATION_SECONDS = 300;

function withDefaultTolerations(tolerations: Toleration[]): Toleration[] {
  const out = [...tolerations];
  for (const key of ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]) {
    if (!out.some((t) => (t.key === key || (t.operator === "Exists" && !t.key)) && (t.effect === undefined || t.effect === "NoExecute"))) {
      out.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: DEFAULT_TOLERATION_SECONDS });
    }
  }
  return out;
}

/**
 * One local cluster: its nodes, pods, Deployments and Services, and the controllers Kubernetes runs
 * for them — the ReplicaSet (pods to match the desired replicas; scale-in removes idle pods first), the
 * scheduler (pending pods onto nodes that tolerate, have room and keep the spread), the node lifecycle
 * controller with taint-based eviction, and disruption-aware drains. Autoscalers change `replicas` and
 * nodes; this reconciles. Time and processes are injected, so all of it runs on a fake clock in tests.
 */
export class Cluster {
  readonly name: string;
  readonly kubernetesVersion?: string;
  readonly nodes = new Map<string, VirtualNode>();
  readonly pods = new Map<string, Pod>();
  readonly deployments = new Map<string, Deployment>();
  readonly events: EventRecorder;
  readonly clock: Clock;
  readonly lifecycle: NodeLifecycle;
  private reconcileQueued = false;
  private readonly timers = new Set<Timer>();
  private readonly terminations = new Set<Promise<void>>();
  private stopped = false;
  /** Pod-seconds of pods already forgotten. */
  private closedPodSeconds = 0;
  private readonly nodeSerial = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private readonly ticker: Timer;
  /** Pods of the same Deployment in two clusters get different names, as they would on AKS. */
  private readonly nameSalt: number;

  constructor(private readonly o: ClusterOptions) {
    this.name = o.name;
    this.kubernetesVersion = o.kubernetesVersion;
    this.clock = o.clock;
    this.events = o.events ?? new EventRecorder(5000, () => o.clock.now());
    this.lifecycle = new NodeLifecycle(this, { kubernetesVersion: o.kubernetesVersion, timeScale: o.timeScale, ...o.nodeLifecycle });
    this.ticker = o.clock.setInterval(() => this.reconcile(), 1000);
    this.nameSalt = [...o.name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 1_000_003, 0) * 1009;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  event(type: "Normal" | "Warning", object: string, reason: string, message: string): void {
    this.events.record(type, object, reason, message, undefined, this.name);
  }

  // ---- nodes -------------------------------------------------------------------------------

  /** Adds a node that becomes Ready after `startupMs` (a VM boot plus kubelet registration). */
  addNode(type: InstanceType, origin: NodeOrigin, startupMs: number, reason: string, taints: Taint[] = [], labels: Record<string, string> = {}): VirtualNode {
    const serial = this.nodeSerial.get(origin.pool) ?? 0;
    this.nodeSerial.set(origin.pool, serial + 1);
    // AKS names nodes aks-<pool>-<id>-vmss<n>; the short form keeps the pool and the instance.
    const name = `aks-${origin.pool}-${String(serial).padStart(5, "0")}`;
    const node = new VirtualNode(this.uniqueNodeName(name), type, origin, this.name, this.clock.now(), taints, labels);
    this.nodes.set(node.name, node);
    Object.assign(node, { expectedReadyAt: node.createdAt + Math.max(0, startupMs), launchReason: reason });
    this.event(
      "Normal",
      `node/${node.name}`,
      "Launched",
      `${type.name} (${type.cpuMillis}m CPU, ${Math.round(type.memoryBytes / 2 ** 20)}Mi, ${type.maxPods} pods) in ${origin.kind === "agentPool" ? "agent pool" : "NodePool"} ${origin.pool}: ${reason}`,
    );
    const ready = () => {
      if (node.phase !== "Provisioning") return;
      node.phase = "Ready";
      node.readyAt = this.clock.now();
      node.lastHeartbeat = node.readyAt;
      this.event("Normal", `node/${node.name}`, "Ready", `ready after ${Math.round(node.readyAt - node.createdAt)} ms`);
      this.changed();
    };
    if (startupMs <= 0) ready();
    else this.later(ready, startupMs);
    this.changed();
    return node;
  }

  private uniqueNodeName(name: string): string {
    // Several clusters in one runtime: node names carry the cluster so `node stop <name>` is unambiguous.
    return this.o.qualifyNodeNames ? `${this.name}-${name}` : name;
  }

  /** The VM is switched off: pods stop answering (frozen, no resets); the node controller notices later. */
  stopNode(name: string): void {
    const node = this.requireNode(name);
    if (!node.powered) throw new UserError(`node ${name} is already stopped`, `start it with \`akspilot node start ${name}\``);
    if (node.phase === "Provisioning" || node.phase === "Draining") throw new UserError(`node ${name} is ${node.phase.toLowerCase()}`, "stop a Ready node");
    node.powered = false;
    node.lastHeartbeat = this.clock.now(); // the kubelet posted status until the VM went off
    this.event(
      "Warning",
      `node/${name}`,
      "VMStopped",
      `VM switched off: its pods stop answering; the node controller marks it NotReady after ${Math.round(this.lifecycle.settings.gracePeriodMs)} ms without a heartbeat`,
    );
    for (const p of this.podsOn(name)) p.nodeLost();
    this.changed();
  }

  startNode(name: string): void {
    const node = this.requireNode(name);
    if (node.powered) throw new UserError(`node ${name} is not stopped`, `stop it first with \`akspilot node stop ${name}\``);
    node.powered = true;
    node.lastHeartbeat = this.clock.now();
    this.event("Normal", `node/${name}`, "VMStarted", "VM switched on; the kubelet posts status again");
    this.lifecycle.heartbeat(node);
    for (const p of [...this.pods.values()].filter((x) => x.nodeName === name && !x.kubeletRunning)) p.nodeBack();
    this.changed();
  }

  cordon(name: string, why: string): VirtualNode {
    const node = this.requireNode(name);
    if (!node.unschedulable) {
      node.unschedulable = true;
      this.event("Normal", `node/${name}`, "NodeNotSchedulable", why);
      this.changed();
    }
    return node;
  }

  uncordon(name: string): void {
    const node = this.requireNode(name);
    if (!node.unschedulable) return;
    if (node.phase === "Draining") throw new UserError(`node ${name} is being removed`, "wait for it to go");
    node.unschedulable = false;
    this.event("Normal", `node/${name}`, "NodeSchedulable", "uncordoned");
    this.changed();
  }

  /**
   * `kubectl drain`: cordon, then evict every pod through the eviction API, which refuses (429) while the
   * pod's PodDisruptionBudget allows no disruption; refused evictions are retried every 5 s until
   * `signal` aborts. Each evicted pod runs its preStop and grace period; its ReplicaSet replaces it.
   */
  async drainNode(name: string, progress: (line: string) => void, signal?: AbortSignal): Promise<void> {
    const node = this.cordon(name, "drained by `akspilot node drain`");
    const retryMs = 5000 / this.o.timeScale;
    for (;;) {
      const left = this.podsOn(node.name).filter((p) => p.phase === "Running");
      if (left.length === 0) break;
      if (signal?.aborted) throw new UserError(`drain of ${name} interrupted; the node stays cordoned`, `run \`akspilot node uncordon ${name}\` to undo`);
      let blocked = 0;
      for (const pod of left) {
        const d = this.deployments.get(pod.template.app);
        if (d?.budget && disruptionsAllowed(d.budget, d.replicas, this.podsOf(d.name)) < 1) {
          blocked++;
          const msg = `Cannot evict pod as it would violate the pod's disruption budget (${d.name}: ${JSON.stringify(d.budget)})`;
          progress(`error when evicting pod/${pod.name} (will retry after 5s): ${msg}`);
          this.event("Warning", `pod/${pod.name}`, "EvictionBlocked", msg);
          continue;
        }
        progress(`evicting pod ${pod.name}`);
        this.event("Normal", `pod/${pod.name}`, "Evicted", `evicted by the drain of ${name}`);
        this.track(pod.terminate(`evicted from ${name}: node drain`));
      }
      await new Promise<void>((r) => this.later(r, blocked > 0 ? retryMs : 200 / this.o.timeScale));
      if (this.stopped) return;
    }
    // Terminating pods finish their grace period before the drain is done.
    while (this.podsOn(node.name).length > 0 && !this.stopped) await new Promise<void>((r) => this.later(r, 100));
    this.event("Normal", `node/${name}`, "Drained", "every pod evicted");
  }

  /** Karpenter's disruption: cordon, evict every pod gracefully (no PDB wait), then delete the VM (`vmDeleteMs`). */
  async drainAndDelete(name: string, reason: string, vmDeleteMs = 0): Promise<void> {
    const node = this.requireNode(name);
    if (node.phase === "Deleted" || node.phase === "Draining") return;
    node.unschedulable = true;
    node.phase = "Draining";
    this.event("Normal", `node/${name}`, "Draining", reason);
    this.changed();
    await Promise.all(this.podsOn(name).map((p) => p.terminate(`evicted from ${name}: ${reason}`)));
    // The node costs until its VM is gone (node-seconds count to the deletion).
    if (vmDeleteMs > 0 && !this.stopped) await new Promise<void>((r) => this.later(r, vmDeleteMs));
    this.deleteNode(name, reason);
  }

  /** The Node object goes; PodGC removes the pods that were bound to it. */
  deleteNode(name: string, reason: string): void {
    const node = this.nodes.get(name);
    if (!node || node.phase === "Deleted") return;
    for (const p of [...this.pods.values()].filter((x) => x.nodeName === name && x.bound)) this.track(p.kill(`node ${name} deleted`));
    node.phase = "Deleted";
    node.deletedAt = this.clock.now();
    this.event("Normal", `node/${name}`, "Deleted", reason);
    this.changed();
  }

  requireNode(name: string): VirtualNode {
    const node = this.nodes.get(name);
    if (!node || node.phase === "Deleted") {
      const names = this.liveNodes().map((n) => n.name);
      throw new UserError(`no node named "${clip(name)}"`, `nodes: ${names.join(", ") || "none"}`);
    }
    return node;
  }

  liveNodes(): VirtualNode[] {
    return [...this.nodes.values()].filter((n) => n.phase !== "Deleted");
  }

  /** Pods holding a place on the node (running or terminating). */
  podsOn(nodeName: string): Pod[] {
    return [...this.pods.values()].filter((p) => p.nodeName === nodeName && p.bound);
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

  addDeployment(name: string, template: PodTemplate, replicas: number, budget?: DisruptionBudget): Deployment {
    const first = Object.entries(template.labels)[0];
    const d: Deployment = {
      name,
      template: { ...template, tolerations: withDefaultTolerations(template.tolerations) },
      replicas,
      selector: first ? { [first[0]]: first[1] } : {},
      budget,
      serial: 0,
    };
    this.deployments.set(name, d);
    this.changed();
    return d;
  }

  requireDeployment(name: string): Deployment {
    const d = this.deployments.get(name);
    if (!d) throw new UserError(`no deployment named "${clip(name)}"`, `deployments: ${[...this.deployments.keys()].join(", ") || "none"}`);
    return d;
  }

  setReplicas(name: string, replicas: number, source: string, why: string): void {
    const d = this.requireDeployment(name);
    if (d.replicas === replicas) return;
    this.event("Normal", `deployment/${name}`, "ScalingReplicaSet", `${source}: ${d.replicas} → ${replicas}: ${why}`);
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
    queueMicrotask(() => {
      this.reconcileQueued = false;
      this.reconcile();
    });
  }

  reconcile(): void {
    if (this.stopped) return;
    this.lifecycle.tick();
    for (const d of this.deployments.values()) this.reconcileReplicaSet(d);
    this.schedule();
    this.forgetFinished();
  }

  private reconcileReplicaSet(d: Deployment): void {
    const active = this.podsOf(d.name).filter((p) => p.active);
    if (active.length < d.replicas) {
      // The reason a pod is replaced is the last thing that happened to its predecessor.
      const why = this.replacementReason(d);
      for (let i = active.length; i < d.replicas; i++) {
        const pod = new Pod(`${d.name}-${podSuffix(++d.serial + this.nameSalt)}`, d.template, {
          clock: this.clock,
          runner: this.o.runner,
          allocatePort: this.o.allocatePort,
          backoff: kubeletBackoff(this.o.timeScale),
          changed: () => this.changed(),
          event: (type, p, reason, message) => this.event(type, `pod/${p.name}`, reason, message),
          left: (p) => {
            const n = p.nodeName ? this.nodes.get(p.nodeName) : undefined;
            if (n) n.lastPodEventAt = this.clock.now();
          },
        });
        this.pods.set(pod.name, pod);
        this.event("Normal", `pod/${pod.name}`, "Created", `ReplicaSet ${d.name}: ${active.length} → ${d.replicas} replicas${why ? ` (${why})` : ""}`);
      }
    } else if (active.length > d.replicas) {
      for (const victim of scaleInOrder(active, this.clock.now()).slice(0, active.length - d.replicas)) {
        this.track(victim.terminate(`scale-in ${active.length} → ${d.replicas}`));
      }
    }
  }

  private replacementReason(d: Deployment): string | undefined {
    const recent = this.podsOf(d.name)
      .filter((p) => p.deletingAt !== undefined || p.phase === "Failed")
      .sort((a, b) => (b.deletingAt ?? b.finishedAt ?? 0) - (a.deletingAt ?? a.finishedAt ?? 0))[0];
    if (!recent || this.clock.now() - (recent.deletingAt ?? recent.finishedAt ?? 0) > 5000) return undefined;
    if (recent.phase === "Failed") return `replaces ${recent.name}, lost with its node`;
    return `replaces ${recent.name}, which is terminating`;
  }

  private schedule(): void {
    const pending = [...this.pods.values()].filter((p) => p.phase === "Pending").sort((a, b) => a.createdAt - b.createdAt);
    if (pending.length === 0) return;
    // Nodes still provisioning are not registered yet: the scheduler does not know them.
    const nodes = this.liveNodes().filter((n) => n.phase !== "Provisioning");
    const view: SchedNode[] = nodes.map((n) => ({
      name: n.name,
      labels: n.labels,
      // A node that is not Ready carries the not-ready/unreachable NoSchedule taints in Kubernetes.
      taints: n.phase === "Ready" || n.phase === "Draining" ? n.taints : [...n.taints, { key: "node.kubernetes.io/unreachable", effect: "NoSchedule" as const }],
      unschedulable: n.unschedulable,
      room: this.room(n),
      capacity: this.capacity(n),
      podLabels: this.podsOn(n.name)
        .filter((p) => p.phase === "Running")
        .map((p) => p.template.labels),
    }));
    for (const pod of pending) {
      const d = this.deployments.get(pod.template.app);
      const r = schedulePod(
        { requests: pod.requests, tolerations: pod.template.tolerations, labels: pod.template.labels, selector: d?.selector ?? {}, topologySpread: pod.template.topologySpread },
        view,
      );
      if (r.node === undefined) {
        if (pod.unschedulable !== r.reason) {
          pod.unschedulable = r.reason;
          this.event("Warning", `pod/${pod.name}`, "FailedScheduling", r.reason);
        }
        continue;
      }
      const target = view.find((v) => v.name === r.node)!;
      target.room = { cpuMillis: target.room.cpuMillis - pod.requests.cpuMillis, memoryBytes: target.room.memoryBytes - pod.requests.memoryBytes, pods: target.room.pods - 1 };
      target.podLabels.push(pod.template.labels);
      pod.unschedulable = undefined;
      this.event("Normal", `pod/${pod.name}`, "Scheduled", `assigned to ${r.node}`);
      const node = this.nodes.get(r.node)!;
      const now = this.clock.now();
      node.lastPodEventAt = now;
      // The first pod of the app on this node pulls the image; the others wait for the same pull.
      const pulled = node.images.get(pod.template.app) ?? now + (this.o.imagePullMs ?? 0);
      node.images.set(pod.template.app, pulled);
      pod.bind(r.node, Math.max(0, pulled - now));
    }
  }

  /** Pending pods that no node can take (what a node provisioner acts on). */
  unschedulablePods(): Pod[] {
    return [...this.pods.values()].filter((p) => p.phase === "Pending");
  }

  private forgetFinished(): void {
    const now = this.clock.now();
    for (const p of this.pods.values()) {
      if ((p.phase === "Succeeded" || p.phase === "Failed") && p.finishedAt !== undefined && now - p.finishedAt > 60_000) {
        this.closedPodSeconds += podSeconds(p, now);
        this.pods.delete(p.name);
      }
    }
  }

  // ---- accounting -----------------------------------------------------------------------------

  podSeconds(now = this.clock.now()): number {
    let s = this.closedPodSeconds;
    for (const p of this.pods.values()) s += podSeconds(p, now);
    return s;
  }

  nodeSeconds(now = this.clock.now()): number {
    let s = 0;
    for (const n of this.nodes.values()) s += n.secondsAlive(now);
    return s;
  }

  usedByPool(pool: string): Resources {
    let cpu = 0;
    let mem = 0;
    for (const n of this.liveNodes())
      if (n.nodePool === pool) {
        cpu += n.type.cpuMillis;
        mem += n.type.memoryBytes;
      }
    return { cpuMillis: cpu, memoryBytes: mem };
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  later(fn: () => void, ms: number): void {
    const t = this.clock.setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  track(p: Promise<void>): void {
    this.terminations.add(p);
    void p.finally(() => this.terminations.delete(p));
  }

  /** Stops every pod gracefully (SIGTERM, grace period; at once where the VM is off) and all timers. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    this.clock.clearInterval(this.ticker);
    for (const t of this.timers) this.clock.clearTimeout(t);
    await Promise.all([...this.pods.values()].map((p) => (p.kubeletRunning ? p.terminate("shutdown") : p.kill("shutdown: its VM is off"))));
    await Promise.all(this.terminations);
  }
}

function podSeconds(p: Pod, now: number): number {
  if (p.scheduledAt === undefined) return 0;
  return ((p.finishedAt ?? now) - p.scheduledAt) / 1000;
}

/** A ReplicaSet-style random suffix, deterministic per serial so names are stable in tests. */
function podSuffix(serial: number): string {
  // Kubernetes' alphabet for generated names; serial × an odd constant coprime with 27 is a bijection
  // modulo 27^5, so suffixes never repeat within a run.
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  const space = alphabet.length ** 5;
  let x = Number((BigInt(serial) * 2654435761n) % BigInt(space));
  let s = "";
  for (let i = 0; i < 5; i++) {
    s += alphabet[x % alphabet.length];
    x = Math.floor(x / alphabet.length);
  }
  return s;
}

/**
 * ReplicaSet scale-in order: upstream's ranking (src/scaling/replicaset.ts, controller_utils.go
 * ActivePodsWithRanks) — unassigned, pending, not ready, lower pod-deletion-cost (only when the app sets the
 * annotation: the blueprint's podDeletionCost keeps it at the in-flight work), more co-located, ready for
 * less time, more restarts, newer.
 */
export function scaleInOrder(pods: Pod[], now: number): Pod[] {
  const ranked = pods.map((p) => ({
    pod: p,
    uid: p.name,
    node: p.nodeName,
    phase: p.phase === "Pending" ? ("Pending" as const) : ("Running" as const),
    ready: p.ready,
    ...(p.template.deletionCostAnnotation ? { deletionCost: p.deletionCost } : {}),
    ...(p.readySince !== undefined ? { readySince: p.readySince } : {}),
    restarts: p.restarts,
    createdAt: p.createdAt,
  }));
  return rankForScaleIn(ranked, now).map((r) => r.pod);
}

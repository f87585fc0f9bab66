import type { InstanceType } from "../scaling/catalog.js";
import { REASONS, type EventRecorder } from "../scaling/events.js";
import { consolidate, idleSince, type Disruption, type NodeView, type PodView, type PoolSettings } from "../scaling/karpenter.js";
import { scaleInOrder, type RankedPod } from "../scaling/replicaset.js";
import type { TimingProfile } from "../scaling/timings.js";
import { planLaunch, roomOf } from "../scaling/packing.js";
import type { Resources } from "../scaling/quantity.js";
import { schedulePod, type SchedNode, type SchedTaint, type SchedToleration } from "../scaling/scheduling.js";
import type { StaticNode } from "../scaling/static-pools.js";

/**
 * Pods of one Deployment on the cluster's static agent-pool nodes and Karpenter's nodes, modelled by
 * counts: every pod has the same requests and tolerations, so a node is its type, its taints, how many
 * pods are bound to it and how many of those are ready.
 */

export interface SimNode {
  id: number;
  name: string;
  type: InstanceType;
  /** A static agent pool's node: there from the start, never disrupted (Karpenter only disrupts its own). */
  static?: { pool: string };
  taints: SchedTaint[];
  labels: Record<string, string>;
  /** How many of the Deployment's pods fit on it. */
  capacity: number;
  /** deleting: drained, waiting for its pods to terminate and its VM to go (it still costs). */
  state: "provisioning" | "ready" | "deleting";
  /** When a deleting node's VM is gone. */
  deleteAt?: number;
  /** Pods of the set that were removed and are still terminating on it (they hold their room). */
  terminating: number;
  /** When the app's image is on the node (set by the first pod bound to it). */
  pulledAt?: number;
  createdAt: number;
  readyAt: number;
  /** Pods bound (starting or ready). */
  bound: number;
  ready: number;
  /** Ready pods by when they turned Ready (the ReplicaSet's scale-in ranks by ready time). */
  readyGroups: { count: number; since: number }[];
  /** Last pod bound or gone; undefined before any (consolidateAfter then counts from Ready). */
  lastPodEventAt?: number;
  /** Being replaced by a cheaper node (counts as disrupting for budgets). */
  replacing?: boolean;
  /** The nodes this one replaces once it is ready (several for a multi-node command). */
  replaces?: SimNode[];
  /** Why this node is being replaced (its drain and deletion say so). */
  replacedBecause?: string;
  /** Why it is being deleted (its Deleted event says so). */
  deletionReason?: string;
}

interface StartingGroup {
  node: SimNode;
  count: number;
  boundAt: number;
  readyAt: number;
}

export type ClusterTimings = TimingProfile;

export class SimCluster {
  nodes: SimNode[] = [];
  pending = 0;
  startingPods = 0;
  readyPods = 0;
  /** Bumped on every change consolidation could see. */
  version = 0;
  /** Sum of the hourly prices of existing nodes. */
  pricePerHour = 0;
  /**
   * Phantom pods (the policy's capacity buffer): pods' worth of room, with the Deployment's requests,
   * that Karpenter launches and keeps nodes for. They never run, so they count in no pod total.
   */
  warm = 0;
  /** Removed pods still terminating: they hold their node's room and count in pod-seconds. */
  terminatingPods = 0;
  private terminatingGroups: { node: SimNode; count: number; until: number }[] = [];
  private starting: StartingGroup[] = [];
  private startHead = 0;
  private nextId = 1;

  constructor(
    readonly pool: PoolSettings,
    readonly request: Resources,
    readonly timings: ClusterTimings,
    /** Where the cluster records what it does: the runtime's event type and reasons, at simulated times. */
    private readonly events: EventRecorder,
    /** The cluster's static agent-pool nodes (src/scaling/static-pools.ts): Ready at t = 0, as the runtime starts them. */
    staticNodes: StaticNode[] = [],
    /** The pods' tolerations (the scheduler keeps them off nodes whose taints they do not tolerate). */
    readonly tolerations: SchedToleration[] = [],
  ) {
    for (const s of staticNodes) {
      const node: SimNode = {
        id: this.nextId++,
        // The runtime's name for it: aks-<pool>-<index>.
        name: `aks-${s.pool}-${String(s.index).padStart(5, "0")}`,
        type: s.type,
        static: { pool: s.pool },
        taints: s.taints,
        labels: s.labels,
        capacity: this.podsFitting(s.type),
        state: "ready",
        createdAt: 0,
        readyAt: 0,
        bound: 0,
        ready: 0,
        readyGroups: [],
        terminating: 0,
      };
      this.nodes.push(node);
      this.pricePerHour += s.type.pricePerHour;
      // Worded as the runtime's Cluster.addNode words it: the allocatable left after reservations and DaemonSets.
      this.normal(
        0,
        `node/${node.name}`,
        REASONS.launched,
        `${s.type.name} (${s.type.cpuMillis}m CPU, ${Math.round(s.type.memoryBytes / 2 ** 20)}Mi, ${s.type.maxPods} pods) in agent pool ${s.pool}: ${s.reason}`,
      );
      this.normal(0, `node/${node.name}`, REASONS.ready, `${s.type.name} ready after 0 s`);
    }
  }

  /** Nodes Karpenter launched (of its NodePool): the only ones it counts against limits, buffers on and disrupts. */
  private owned(): SimNode[] {
    return this.nodes.filter((n) => !n.static);
  }

  private normal(t: number, object: string, reason: string, message: string): void {
    this.events.normal(object, reason, message, simTime(t));
  }

  /** Pods the Deployment has (pending, starting and ready): spec.replicas once reconciled. */
  get replicas(): number {
    return this.pending + this.startingPods + this.readyPods;
  }

  /** Pods holding a place on a node: starting, ready and terminating (what pod-seconds count). */
  get boundPods(): number {
    return this.startingPods + this.readyPods + this.terminatingPods;
  }

  /** Slots a node's pods take (bound and terminating). */
  private used(n: SimNode): number {
    return n.bound + n.terminating;
  }

  /** A removed pod terminates for podTerminationSeconds on its node. */
  private terminate(node: SimNode, count: number, t: number): void {
    if (count <= 0) return;
    const until = t + this.timings.podTerminationSeconds;
    if (until <= t) return;
    node.terminating += count;
    this.terminatingPods += count;
    const last = this.terminatingGroups[this.terminatingGroups.length - 1];
    if (last && last.node === node && last.until === until) last.count += count;
    else this.terminatingGroups.push({ node, count, until });
  }

  podsFitting(t: InstanceType): number {
    const r = this.request;
    return Math.min(t.maxPods, r.cpuMillis > 0 ? Math.floor(t.cpuMillis / r.cpuMillis) : Infinity, r.memoryBytes > 0 ? Math.floor(t.memoryBytes / r.memoryBytes) : Infinity);
  }

  /**
   * The ReplicaSet controller: create pending pods, or delete the pods upstream's ranking puts first
   * (src/scaling/replicaset.ts, controller_utils.go ActivePodsWithRanks): unassigned, then not ready, then
   * the most co-located, then the most recently ready. The simulator's pods carry no deletion cost.
   */
  setReplicas(want: number, t: number): void {
    const diff = want - this.replicas;
    if (diff > 0) {
      this.pending += diff;
      return;
    }
    if (diff === 0) return;
    type SimPod = RankedPod & { remove(): void };
    const pods: SimPod[] = [];
    for (let i = 0; i < this.pending; i++) pods.push({ uid: `pending-${i}`, phase: "Pending", ready: false, restarts: 0, createdAt: t, remove: () => this.pending-- });
    for (let gi = this.startHead; gi < this.starting.length; gi++) {
      const g = this.starting[gi]!;
      for (let k = 0; k < g.count; k++) {
        pods.push({
          uid: `${pad(g.node.id)}-s${pad(gi)}-${pad(k)}`,
          node: g.node.name,
          phase: "Running",
          ready: false,
          restarts: 0,
          createdAt: g.boundAt,
          remove: () => {
            g.count--;
            g.node.bound--;
            g.node.lastPodEventAt = t;
            this.startingPods--;
            this.terminate(g.node, 1, t);
          },
        });
      }
    }
    for (const n of this.nodes) {
      n.readyGroups.forEach((grp, gi) => {
        for (let k = 0; k < grp.count; k++) {
          pods.push({
            uid: `${pad(n.id)}-r${pad(gi)}-${pad(k)}`,
            node: n.name,
            phase: "Running",
            ready: true,
            readySince: grp.since,
            restarts: 0,
            createdAt: grp.since,
            remove: () => {
              grp.count--;
              n.ready--;
              n.bound--;
              n.lastPodEventAt = t;
              this.readyPods--;
              this.terminate(n, 1, t);
            },
          });
        }
      });
    }
    for (const v of scaleInOrder(pods, t, 1e9).slice(0, -diff)) v.remove();
    for (const n of this.nodes) n.readyGroups = n.readyGroups.filter((g) => g.count > 0);
    this.version++;
  }

  /**
   * kube-scheduler (src/scaling/scheduling.ts, the runtime's): bind pending pods to ready nodes whose taints
   * they tolerate and that have room, LeastAllocated first.
   */
  schedulePending(t: number): void {
    if (this.pending === 0) return;
    const req = this.request;
    const cands = this.nodes
      .filter((n) => n.state === "ready" && this.used(n) < n.capacity)
      .map((n) => {
        const cap = roomOf(n.type);
        const u = this.used(n);
        const view: SchedNode = {
          name: n.name,
          labels: n.labels,
          taints: n.taints,
          unschedulable: false,
          room: { cpuMillis: cap.cpuMillis - u * req.cpuMillis, memoryBytes: cap.memoryBytes - u * req.memoryBytes, pods: Math.min(cap.pods, n.capacity) - u },
          capacity: cap,
          podLabels: [],
        };
        return { node: n, view, placed: 0 };
      });
    if (cands.length === 0) return;
    const views = cands.map((c) => c.view);
    const pod = { requests: req, tolerations: this.tolerations, labels: {}, selector: {} };
    while (this.pending > 0) {
      const r = schedulePod(pod, views);
      if (r.node === undefined) break;
      const c = cands.find((x) => x.view.name === r.node)!;
      c.view.room = { cpuMillis: c.view.room.cpuMillis - req.cpuMillis, memoryBytes: c.view.room.memoryBytes - req.memoryBytes, pods: c.view.room.pods - 1 };
      c.placed++;
      this.pending--;
    }
    for (const c of cands) {
      if (c.placed === 0) continue;
      c.node.bound += c.placed;
      c.node.lastPodEventAt = t;
      this.startingPods += c.placed;
      // The first pods on a fresh node wait for the image; later ones find it there (or wait for the same pull).
      c.node.pulledAt ??= t + this.timings.imagePullSeconds;
      this.starting.push({ node: c.node, count: c.placed, boundAt: t, readyAt: Math.max(t, c.node.pulledAt) + this.timings.podStartSeconds });
      this.version++;
    }
  }

  /** Sets the capacity buffer (phantom pods); a change is one consolidation can see. */
  setWarm(pods: number, _t: number): void {
    const w = Math.max(0, Math.floor(pods));
    if (w === this.warm) return;
    this.warm = w;
    this.version++;
  }

  /** Free pod slots on ready nodes that stay (not being replaced): where the buffer sits now. */
  private freeReady(): number {
    let room = 0;
    for (const n of this.owned()) if (n.state === "ready" && !n.replacing) room += n.capacity - this.used(n);
    return room;
  }

  /** Pending pods no in-flight node will take (Karpenter counts in-flight capacity). */
  private unnominatedReal(): number {
    let room = 0;
    for (const n of this.nodes) if (n.state === "provisioning") room += n.capacity - this.used(n);
    return Math.max(0, this.pending - room);
  }

  /** Phantom pods with no room on ready nodes nor on in-flight ones left over by the pending pods. */
  private unnominatedWarm(): number {
    if (this.warm === 0) return 0;
    let inFlight = 0;
    for (const n of this.nodes) if (n.state === "provisioning") inFlight += n.capacity - this.used(n);
    return Math.max(0, this.warm - this.freeReady() - Math.max(0, inFlight - this.pending));
  }

  /** Pods (pending and phantom) that need a new node. */
  unnominated(): number {
    return this.unnominatedReal() + this.unnominatedWarm();
  }

  /** A closed batch: launch the cheapest nodes for the pods nothing else will hold, within the pool's limits. */
  provision(t: number): void {
    const real = this.unnominatedReal();
    const phantom = this.unnominatedWarm();
    const u = real + phantom;
    if (u === 0) return;
    const used = { cpuMillis: 0, memoryBytes: 0 };
    for (const n of this.owned()) {
      used.cpuMillis += n.type.cpuMillis;
      used.memoryBytes += n.type.memoryBytes;
    }
    const plan = planLaunch(new Array<Resources>(u).fill(this.request), this.pool.catalog, this.pool.limits, used);
    for (const p of plan.nodes) {
      const node = this.launch(p.type, t);
      // Pending pods come first in the batch (indexes below `real`); the rest are the buffer's.
      const forReal = p.pods.filter((i) => i < real).length;
      const forWarm = p.pods.length - forReal;
      const what =
        forWarm === 0 ? `${forReal} pending pod(s)` : forReal === 0 ? `${forWarm} pod(s) of capacity buffer` : `${forReal} pending pod(s) and ${forWarm} pod(s) of capacity buffer`;
      this.normal(t, `node/${node.name}`, REASONS.launched, `${p.type.name} for ${what} (cheapest type holding them); ready in ${this.timings.nodeBootSeconds} s`);
    }
    if (plan.unschedulable.length > 0) {
      const forWarm = plan.unschedulable.filter((i) => i >= real).length;
      const forReal = plan.unschedulable.length - forWarm;
      const what = forWarm === 0 ? `${forReal} pod(s)` : forReal === 0 ? `${forWarm} pod(s) of capacity buffer` : `${forReal} pod(s) and ${forWarm} pod(s) of capacity buffer`;
      this.events.warning(`nodepool/${this.pool.name}`, REASONS.failedScheduling, `${what} fit no instance type within the NodePool's limits`, simTime(t));
    }
  }

  private launch(type: InstanceType, t: number): SimNode {
    const id = this.nextId++;
    const node: SimNode = {
      id,
      name: `${this.pool.name}-${id}`,
      type,
      taints: this.pool.taints ?? [],
      labels: this.pool.labels ?? {},
      capacity: this.podsFitting(type),
      state: "provisioning",
      createdAt: t,
      readyAt: t + this.timings.nodeBootSeconds,
      bound: 0,
      ready: 0,
      readyGroups: [],
      terminating: 0,
    };
    this.nodes.push(node);
    this.pricePerHour += type.pricePerHour;
    this.version++;
    return node;
  }

  /** The next node-ready or pod-ready time. */
  nextChange(): number {
    let next = Infinity;
    for (const n of this.nodes) {
      if (n.state === "provisioning" && n.readyAt < next) next = n.readyAt;
      if (n.state === "deleting" && n.deleteAt! < next) next = n.deleteAt!;
    }
    for (const g of this.terminatingGroups) if (g.until < next) next = g.until;
    const g = this.starting[this.startHead];
    if (g && g.readyAt < next) next = g.readyAt;
    return next;
  }

  /** Nodes and pods whose startup has elapsed become ready; terminations and VM deletions that are due finish. */
  advanceTo(t: number): void {
    if (this.terminatingGroups.length > 0) {
      const keep: typeof this.terminatingGroups = [];
      for (const g of this.terminatingGroups) {
        if (g.until > t + EPS) keep.push(g);
        else {
          g.node.terminating -= g.count;
          this.terminatingPods -= g.count;
          g.node.lastPodEventAt = t;
          this.version++;
        }
      }
      this.terminatingGroups = keep;
    }
    for (const n of [...this.nodes]) {
      if (n.state === "deleting" && n.deleteAt! <= t + EPS) this.gone(n, t);
    }
    for (const n of [...this.nodes]) {
      if (n.state !== "provisioning" || n.readyAt > t + EPS) continue;
      n.state = "ready";
      n.readyAt = t;
      this.version++;
      this.normal(t, `node/${n.name}`, REASONS.ready, `${n.type.name} ready after ${round(t - n.createdAt)} s`);
      if (n.replaces) {
        const olds = n.replaces;
        n.replaces = undefined;
        for (const old of olds) this.remove(old, t, old.replacedBecause ?? `replaced by the cheaper ${n.type.name} ${n.name}`);
      }
    }
    while (this.startHead < this.starting.length && this.starting[this.startHead]!.readyAt <= t + EPS) {
      const g = this.starting[this.startHead++]!;
      g.node.ready += g.count;
      if (g.count > 0) g.node.readyGroups.push({ count: g.count, since: g.readyAt });
      this.startingPods -= g.count;
      this.readyPods += g.count;
    }
    if (this.startHead > 1024 && this.startHead * 2 > this.starting.length) {
      this.starting = this.starting.slice(this.startHead);
      this.startHead = 0;
    }
  }

  /**
   * Drains a node and deletes it: its pods are evicted (the ReplicaSet recreates them as pending at once)
   * and terminate on it for podTerminationSeconds; then the VM takes vmDeleteSeconds to go. It is
   * unschedulable from the start and costs until it is gone.
   */
  remove(node: SimNode, t: number, why: string): void {
    if (!this.nodes.includes(node) || node.state === "deleting" || node.static) return;
    for (const n of this.nodes) if (n.replaces?.includes(node)) n.replaces = n.replaces.filter((x) => x !== node);
    const evicted = node.bound;
    if (evicted > 0) {
      this.starting = this.starting.slice(this.startHead).filter((g) => g.node !== node);
      this.startHead = 0;
      this.startingPods -= node.bound - node.ready;
      this.readyPods -= node.ready;
      this.pending += node.bound;
      node.bound = 0;
      node.ready = 0;
      node.readyGroups = [];
      this.terminate(node, evicted, t);
    }
    node.state = "deleting";
    node.deleteAt = t + (node.terminating > 0 ? this.timings.podTerminationSeconds : 0) + this.timings.vmDeleteSeconds;
    node.deletionReason = why;
    this.version++;
    this.normal(t, `node/${node.name}`, REASONS.draining, evicted > 0 ? `${why}; ${evicted} pod(s) evicted and recreated` : why);
    if (node.deleteAt <= t + EPS) this.gone(node, t);
  }

  /** The VM is gone: the node leaves the cluster and stops costing. */
  private gone(node: SimNode, t: number): void {
    const i = this.nodes.indexOf(node);
    if (i < 0) return;
    this.nodes.splice(i, 1);
    this.pricePerHour -= node.type.pricePerHour;
    if (node.terminating > 0) {
      this.terminatingPods -= node.terminating;
      this.terminatingGroups = this.terminatingGroups.filter((g) => g.node !== node);
      node.terminating = 0;
    }
    this.version++;
    this.normal(t, `node/${node.name}`, REASONS.deleted, node.deletionReason ?? "deleted");
  }

  /**
   * Karpenter's view of its nodes (a static pool's are not its own) for a disruption pass, as the runtime's
   * provisioner takes it. The buffer's phantom pods sit in free room
   * like overprovisioning pods: ready nodes that stay first, fullest first (so the fewest nodes hold
   * it and the rest can empty), then in-flight ones. A node holding phantom pods is not empty, and a
   * node whose removal leaves no room for its pods and the buffer's is not consolidated.
   */
  views(): NodeView[] {
    const phantom = new Map<SimNode, number>();
    let left = this.warm;
    if (left > 0) {
      const order = this.owned()
        .filter((n) => !n.replacing && n.state !== "deleting" && this.used(n) < n.capacity)
        .sort((a, b) => (a.state === b.state ? 0 : a.state === "ready" ? -1 : 1) || this.used(b) - this.used(a) || a.id - b.id);
      for (const n of order) {
        if (left === 0) break;
        const k = Math.min(left, n.capacity - this.used(n));
        phantom.set(n, k);
        left -= k;
      }
    }
    const pod = this.podView();
    // Phantom pods tolerate the pool's taints and stay on its nodes (room the NodePool keeps for itself).
    const buffer: PodView = { ...this.request, tolerations: [{ operator: "Exists" }], ownNodesOnly: true };
    return this.owned().map((n) => ({
      name: n.name,
      type: n.type,
      taints: n.taints,
      pods: [...new Array<PodView>(this.used(n)).fill(pod), ...new Array<PodView>(phantom.get(n) ?? 0).fill(buffer)],
      ready: n.state === "ready",
      deleting: n.replacing === true || n.state === "deleting",
      lastPodEventAt: idleSince(n.readyAt, n.lastPodEventAt),
    }));
  }

  /**
   * The static agent pools' nodes as consolidation's destinations (as the runtime's provisioner takes them):
   * never candidates, but the set's pods may move onto their free room when they tolerate their taints.
   */
  staticViews(): NodeView[] {
    const pod = this.podView();
    return this.nodes
      .filter((n) => n.static)
      .map((n) => ({
        name: n.name,
        type: n.type,
        taints: n.taints,
        pods: new Array<PodView>(this.used(n)).fill(pod),
        ready: n.state === "ready",
        deleting: n.state === "deleting",
        lastPodEventAt: idleSince(n.readyAt, n.lastPodEventAt),
      }));
  }

  /** One of the Deployment's pods, as the scheduling simulation sees it. */
  private podView(): PodView {
    return { ...this.request, tolerations: this.tolerations };
  }

  consolidate(t: number): Disruption[] {
    return consolidate(this.pool, this.views(), t, new Array<PodView>(this.pending).fill(this.podView()), this.staticViews());
  }

  /**
   * Carries out a validated disruption: delete now, or pre-spin the replacement and delete once it is
   * ready. Recorded as the runtime's provisioner does: the replacement's launch, then draining and deletion.
   */
  execute(d: Disruption, t: number): void {
    const nodes = [d.node, ...(d.also ?? [])].map((name) => this.nodes.find((n) => n.name === name)).filter((n): n is SimNode => n !== undefined);
    if (nodes.length === 0) return;
    const why = `consolidation (${d.reason}): ${d.message}`;
    if (d.action === "delete") {
      for (const n of nodes) this.remove(n, t, why);
      return;
    }
    for (const n of nodes) {
      n.replacing = true;
      n.replacedBecause = why;
    }
    const repl = this.launch(d.replacement!, t);
    repl.replaces = nodes;
    this.normal(t, `node/${repl.name}`, REASONS.launched, `${repl.type.name}: replaces ${nodes.map((n) => n.name).join(", ")}; ready in ${this.timings.nodeBootSeconds} s`);
  }

  /** The earliest time a node becomes quiet for consolidateAfter (consolidation's answer can change then). */
  nextQuietAt(after: number): number {
    const wait = this.pool.consolidateAfterSeconds;
    if (wait === undefined) return Infinity;
    let next = Infinity;
    for (const n of this.owned()) {
      const q = idleSince(n.readyAt, n.lastPodEventAt) + wait;
      if (q > after && q < next) next = q;
    }
    return next;
  }
}

const round = (n: number) => Math.round(n * 10) / 10;
/** Fixed-width ids so that string order is numeric order. */
const pad = (n: number) => String(n).padStart(8, "0");
/** Simulated seconds → an event's time (milliseconds since the start of the run). */
const simTime = (t: number) => Math.round(t * 1000);
// Startup times are sums of floats; a due time within this slack counts as reached.
const EPS = 1e-9;

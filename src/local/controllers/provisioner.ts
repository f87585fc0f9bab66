import type { Cluster } from "../cluster/cluster.js";
import type { VirtualNode } from "../cluster/node.js";
import {
  Batcher,
  KARPENTER,
  ValidationQueue,
  consolidate,
  fitsOn,
  idleSince,
  revalidate,
  type Disruption,
  type NodeView,
  type PodView,
  type PoolSettings,
} from "../../scaling/karpenter.js";
import { fits, planLaunch, take, type Room } from "../../scaling/packing.js";
import type { ClusterClock } from "./clock.js";
import { disruptingReason } from "../../scaling/events.js";
import type { Timer } from "../cluster/clock.js";
import type { Resources } from "../../scaling/quantity.js";
import type { InstanceType } from "../../scaling/catalog.js";

export interface ProvisionerOptions {
  cluster: Cluster;
  pool: PoolSettings;
  clock: ClusterClock;
  /** VM create + kubelet registration, in cluster seconds. */
  nodeStartupSeconds: number;
  /** Drained → VM deleted, in cluster seconds (the timing profile's vmDeleteSeconds). */
  vmDeleteSeconds?: number;
  /** A capacity buffer: phantom pods (with these requests) that nodes must have room for but that never run. */
  buffer?: { pods: () => number; requests: Resources };
}

/**
 * Karpenter for the local cluster: batches pending pods, launches the cheapest node types that hold
 * them (counting capacity already on its way), and every 10 s consolidates empty or underutilized
 * nodes within the disruption budget — after re-validating each decision 15 s later, and for a
 * replacement only once the new node is Ready (pre-spun), then draining gracefully.
 */
export class Provisioner {
  private readonly batcher = new Batcher();
  private readonly timers: Timer[] = [];
  private lastPending = new Set<string>();
  /** Consolidation proposals waiting out the validation delay (the simulator's queue). */
  private readonly validations = new ValidationQueue();
  private disrupting = new Set<string>();
  private readonly work = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly o: ProvisionerOptions) {}

  start(): void {
    this.timers.push(
      this.o.clock.setInterval(() => this.provisionTick(), Math.max(20, this.o.clock.ms(0.25))),
      this.o.clock.setInterval(() => this.disruptionTick(), this.o.clock.ms(KARPENTER.disruptionPollSeconds)),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) this.o.clock.clearInterval(t);
    await Promise.all(this.work);
  }

  private launch(type: InstanceType, why: string): VirtualNode {
    const { pool } = this.o;
    return this.o.cluster.addNode(type, { kind: "nodePool", pool: pool.name }, this.o.clock.ms(this.o.nodeStartupSeconds), why, pool.taints ?? [], pool.labels ?? {});
  }

  private poolNodes(): VirtualNode[] {
    return this.o.cluster.liveNodes().filter((n) => n.nodePool === this.o.pool.name);
  }

  private provisionTick(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    // Validations fall due between disruption passes: re-check at 15 s, as the simulator does.
    if (this.validations.size > 0 && this.validations.nextAt() <= now) this.validateDue(now);
    const pending = this.o.cluster.unschedulablePods();
    const names = new Set(pending.map((p) => p.name));
    const unmetBuffer = this.unmetBuffer(pending.map((p) => p.requests));
    if ([...names].some((n) => !this.lastPending.has(n)) || (unmetBuffer.length > 0 && !this.batcher.open)) this.batcher.trigger(now);
    this.lastPending = names;
    if (!this.batcher.due(now) || (pending.length === 0 && unmetBuffer.length === 0)) return;
    // Capacity on its way (provisioning nodes) absorbs pending pods first, as Karpenter's in-flight NodeClaims do.
    const inflight: Room[] = this.poolNodes()
      .filter((n) => n.phase === "Provisioning")
      .map((n) => this.o.cluster.room(n));
    const rest = pending
      .map((p) => p.requests)
      .filter((r) => {
        const i = inflight.findIndex((room) => fits(r, room));
        if (i < 0) return true;
        inflight[i] = take(inflight[i]!, r);
        return false;
      });
    const want = [...rest, ...this.unmetBuffer(pending.map((p) => p.requests))];
    if (want.length === 0) return;
    const plan = planLaunch(want, this.o.pool.catalog, this.o.pool.limits, this.o.cluster.usedByPool(this.o.pool.name));
    for (const n of plan.nodes) {
      const phantoms = n.pods.filter((i) => i >= rest.length).length;
      const why =
        phantoms === n.pods.length
          ? `capacity buffer: room for ${phantoms} more pod(s) before they are needed`
          : `${n.pods.length - phantoms} pending pod(s) fit no ready node${phantoms ? ` (+${phantoms} buffered)` : ""}; cheapest type that holds them`;
      this.launch(n.type, why);
    }
    if (plan.unschedulable.length > 0) {
      this.o.cluster.events.warning(`nodepool/${this.o.pool.name}`, "FailedScheduling", `${plan.unschedulable.length} pod(s) fit no instance type within the NodePool limits`);
    }
  }

  /** Phantom buffer pods that the free room of pool nodes (ready or on the way), after `pending`, cannot hold. */
  private unmetBuffer(pending: Resources[]): Resources[] {
    const n = this.o.buffer?.pods() ?? 0;
    if (n <= 0) return [];
    const rooms: Room[] = this.poolNodes()
      .filter((x) => x.phase === "Ready" || x.phase === "Provisioning")
      .map((x) => this.o.cluster.room(x));
    const place = (r: Resources) => {
      const i = rooms.findIndex((room) => fits(r, room));
      if (i < 0) return false;
      rooms[i] = take(rooms[i]!, r);
      return true;
    };
    for (const p of pending) place(p);
    const unmet: Resources[] = [];
    for (let k = 0; k < n; k++) if (!place(this.o.buffer!.requests)) unmet.push(this.o.buffer!.requests);
    return unmet;
  }

  /** Karpenter's view of the pool's nodes, with the capacity buffer's phantom pods in free room. */
  private views(now: number): NodeView[] {
    const t0 = this.o.clock.wallNow();
    const toCluster = (wallMs: number) => now - ((t0 - wallMs) / 1000) * this.o.clock.timeScale;
    const views: NodeView[] = this.poolNodes().map((n) => ({
      name: n.name,
      type: n.type,
      taints: n.taints,
      pods: this.podViews(n.name),
      ready: n.phase === "Ready",
      deleting: n.phase === "Draining" || this.disrupting.has(n.name),
      // consolidateAfter counts from the last pod event, or from Ready before any (the simulator's rule).
      lastPodEventAt: idleSince(toCluster(n.readyAt ?? n.createdAt), toCluster(n.lastPodEventAt)),
    }));
    // Buffer pods occupy free room (first fit) so nodes holding them are neither empty nor underutilized.
    // They tolerate the pool's taints and stay on its nodes (room the NodePool keeps for itself).
    const buffer = this.o.buffer;
    const buffered = buffer?.pods() ?? 0;
    const phantom: PodView | undefined = buffer && { ...buffer.requests, tolerations: [{ operator: "Exists" }], ownNodesOnly: true };
    for (let k = 0; phantom && k < buffered; k++) {
      const v = views.find((x) => !x.deleting && fitsOn([phantom], [x]));
      if (!v) break;
      v.pods.push(phantom);
    }
    return views;
  }

  /**
   * The cluster's nodes Karpenter does not own (static agent pools): consolidation's destinations, never its
   * candidates (the simulator's SimCluster.staticViews).
   */
  private staticViews(now: number): NodeView[] {
    return this.o.cluster
      .liveNodes()
      .filter((n) => n.nodePool === undefined)
      .map((n) => ({
        name: n.name,
        type: n.type,
        taints: n.taints,
        pods: this.podViews(n.name),
        ready: n.phase === "Ready" && !n.unschedulable,
        deleting: n.phase === "Draining",
        lastPodEventAt: now,
      }));
  }

  /** The pods bound to a node, as consolidation's scheduling simulation sees them. */
  private podViews(node: string): PodView[] {
    return this.o.cluster.podsOn(node).map((p) => ({ ...p.requests, tolerations: p.template.tolerations }));
  }

  private disruptionTick(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    this.validations.propose(now, consolidate(this.o.pool, this.views(now), now, this.pendingRequests(), this.staticViews(now)));
  }

  private validateDue(now: number): void {
    const due = this.validations.due(now);
    if (due.length === 0) return;
    const fresh = consolidate(this.o.pool, this.views(now), now, this.pendingRequests(), this.staticViews(now));
    for (const v of due) {
      const d = revalidate(v, fresh);
      if (d) this.act(d, now - v.since);
    }
  }

  /** Pods waiting for a node: consolidation keeps the room they would use. */
  private pendingRequests(): PodView[] {
    return this.o.cluster.unschedulablePods().map((p) => ({ ...p.requests, tolerations: p.template.tolerations }));
  }

  /**
   * Carries out one command: its nodes are disrupting at once (budgets count them); a replacement is
   * launched first and the command waits until it is Ready (pre-spin), then every node of the command is
   * drained and deleted.
   */
  private act(d: Disruption, waitedSeconds: number): void {
    const nodes = [d.node, ...(d.also ?? [])];
    for (const n of nodes) this.disrupting.add(n);
    this.o.cluster.events.normal(`node/${d.node}`, disruptingReason(d.reason), `${d.action}: ${d.message} (validated ${Math.round(waitedSeconds)} s later)`);
    const job = (async () => {
      if (d.action === "replace" && d.replacement) {
        const fresh = this.launch(d.replacement, `replaces ${nodes.join(", ")}`);
        while (fresh.phase === "Provisioning" && !this.stopped) await new Promise<void>((r) => this.o.clock.setTimeout(r, 50));
      }
      if (this.stopped) return;
      const vmDeleteMs = this.o.clock.ms(this.o.vmDeleteSeconds ?? 0);
      // A node removed meanwhile (by hand) is skipped; the others still go.
      const live = new Set(this.o.cluster.liveNodes().map((n) => n.name));
      await Promise.all(nodes.filter((n) => live.has(n)).map((n) => this.o.cluster.drainAndDelete(n, `consolidation (${d.reason}): ${d.message}`, vmDeleteMs)));
    })().finally(() => {
      for (const n of nodes) this.disrupting.delete(n);
      this.work.delete(job);
    });
    this.work.add(job);
  }
}

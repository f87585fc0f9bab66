import type { VirtualNode } from "./node.js";
import type { Pod } from "./pod.js";
import type { Clock, Timer } from "./clock.js";
import { toleratesTaint } from "../../scaling/scheduling.js";

export interface NodeLifecycleSettings {
  kubernetesVersion?: string;
  timeScale: number;
  /** --node-monitor-period: how often node health is checked (5 s). */
  monitorPeriodMs: number;
  /** --node-monitor-grace-period: silence before a node is NotReady (40 s before 1.32, 50 s since). */
  gracePeriodMs: number;
}

/** Kubernetes' default node-monitor grace period for a version: 50 s from 1.32 (PR 126287), 40 s before. */
export function defaultGraceSeconds(kubernetesVersion: string | undefined): number {
  const m = /^v?1\.(\d+)/.exec(kubernetesVersion ?? "");
  if (!m) return 50;
  return Number(m[1]) >= 32 ? 50 : 40;
}

const UNREACHABLE = "node.kubernetes.io/unreachable";

/** What the controller needs of its cluster (the Cluster class provides it). */
export interface NodeLifecycleHost {
  readonly clock: Clock;
  liveNodes(): VirtualNode[];
  podsOn(node: string): Pod[];
  event(type: "Normal" | "Warning", object: string, reason: string, message: string): void;
  changed(): void;
  track(p: Promise<void>): void;
  later(fn: () => void, ms: number): void;
}

/**
 * The node lifecycle controller and the taint-based eviction it drives: a node whose kubelet has been
 * silent for the grace period turns NotReady (Ready=Unknown), its pods are marked not ready (so endpoints
 * drop them), it gets `node.kubernetes.io/unreachable:NoExecute`, and each pod is deleted once its
 * toleration of that taint runs out (DefaultTolerationSeconds gives 300 s; the seed's web app 1 s).
 * Simplification: the eviction rate limit (one node per 10 s) is not modelled.
 */
export class NodeLifecycle {
  readonly settings: NodeLifecycleSettings;
  private readonly monitor: Timer;
  private readonly scheduled = new Set<string>();

  constructor(
    private readonly cluster: NodeLifecycleHost,
    s: Partial<NodeLifecycleSettings> & { timeScale: number },
  ) {
    this.settings = {
      timeScale: s.timeScale,
      kubernetesVersion: s.kubernetesVersion,
      monitorPeriodMs: s.monitorPeriodMs ?? 5000 / s.timeScale,
      gracePeriodMs: s.gracePeriodMs ?? (defaultGraceSeconds(s.kubernetesVersion) * 1000) / s.timeScale,
    };
    this.monitor = cluster.clock.setInterval(() => this.monitorNodes(), this.settings.monitorPeriodMs);
  }

  stop(): void {
    this.cluster.clock.clearInterval(this.monitor);
  }

  /** A running kubelet posts status; a node that was NotReady becomes Ready again and loses its taints. */
  heartbeat(node: VirtualNode): void {
    node.lastHeartbeat = this.cluster.clock.now();
    if (node.phase !== "NotReady") return;
    node.phase = "Ready";
    for (let i = node.taints.length - 1; i >= 0; i--) if (node.taints[i]!.key === UNREACHABLE) node.taints.splice(i, 1);
    this.cluster.event("Normal", `node/${node.name}`, "NodeReady", `Node ${node.name} status is now: NodeReady`);
  }

  private monitorNodes(): void {
    const now = this.cluster.clock.now();
    for (const node of this.cluster.liveNodes()) {
      if (node.phase === "Provisioning") continue;
      if (node.powered) {
        this.heartbeat(node);
        continue;
      }
      const silent = now - node.lastHeartbeat;
      if (node.phase === "Ready" && silent >= this.settings.gracePeriodMs) this.markNotReady(node, silent);
    }
    this.tick();
  }

  private markNotReady(node: VirtualNode, silentMs: number): void {
    node.phase = "NotReady";
    const now = this.cluster.clock.now();
    this.cluster.event(
      "Warning",
      `node/${node.name}`,
      "NodeNotReady",
      `Node ${node.name} status is now: NodeNotReady (no kubelet heartbeat for ${Math.round(silentMs)} ms, grace ${Math.round(this.settings.gracePeriodMs)} ms)`,
    );
    // MarkPodsNotReady: the endpoints controller drops them from every Service.
    for (const p of this.cluster.podsOn(node.name)) p.setReady(false, `node ${node.name} is not ready`);
    node.taints.push({ key: UNREACHABLE, effect: "NoSchedule", addedAt: now }, { key: UNREACHABLE, effect: "NoExecute", addedAt: now });
    this.cluster.event("Normal", `node/${node.name}`, "TaintAdded", `${UNREACHABLE}:NoExecute`);
    this.cluster.changed();
  }

  /** The taint manager: deletes pods whose tolerations of their node's NoExecute taints have run out. */
  tick(): void {
    const now = this.cluster.clock.now();
    for (const node of this.cluster.liveNodes()) {
      const noExecute = node.taints.filter((t) => t.effect === "NoExecute");
      if (noExecute.length === 0) continue;
      for (const pod of this.cluster.podsOn(node.name)) {
        if (pod.phase !== "Running") continue;
        const due = evictionTime(pod, noExecute, this.settings.timeScale);
        if (due === undefined) continue;
        if (due <= now) {
          this.cluster.event(
            "Normal",
            `pod/${pod.name}`,
            "TaintManagerEviction",
            `Marking for deletion Pod ${pod.name}: node ${node.name} has ${noExecute.map((t) => `${t.key}:${t.effect}`).join(", ")}`,
          );
          this.cluster.track(pod.terminate(`evicted: node ${node.name} is unreachable`));
        } else if (!this.scheduled.has(pod.name)) {
          this.scheduled.add(pod.name);
          this.cluster.later(() => {
            this.scheduled.delete(pod.name);
            this.tick();
          }, due - now);
        }
      }
    }
  }
}

/** When the taint manager deletes the pod (ms), or undefined when it tolerates the taints forever. */
export function evictionTime(
  pod: Pod,
  taints: { key: string; value?: string; effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute"; addedAt?: number }[],
  timeScale: number,
): number | undefined {
  let due: number | undefined;
  for (const t of taints) {
    const used = pod.template.tolerations.filter((tol) => toleratesTaint(tol, t));
    // The taint manager counts from when it first sees the pod on the tainted node: the taint, or the bind.
    const added = Math.max(t.addedAt ?? 0, pod.scheduledAt ?? 0);
    if (used.length === 0) return added; // untolerated NoExecute: at once
    const secs = used.map((u) => u.tolerationSeconds).filter((x): x is number => x !== undefined);
    if (secs.length === 0) continue; // no tolerationSeconds: tolerated forever
    const limit = added + (Math.max(0, Math.min(...secs)) * 1000) / timeScale;
    due = due === undefined ? limit : Math.min(due, limit);
  }
  return due;
}

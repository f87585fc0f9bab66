import type { InstanceType } from "./catalog.js";
import type { Resources } from "./quantity.js";

/** Free room on a node. */
export interface Room {
  cpuMillis: number;
  memoryBytes: number;
  pods: number;
}

export function fits(req: Resources, room: Room): boolean {
  return req.cpuMillis <= room.cpuMillis && req.memoryBytes <= room.memoryBytes && room.pods >= 1;
}

export function take(room: Room, req: Resources): Room {
  return { cpuMillis: room.cpuMillis - req.cpuMillis, memoryBytes: room.memoryBytes - req.memoryBytes, pods: room.pods - 1 };
}

export function roomOf(t: InstanceType): Room {
  return { cpuMillis: t.cpuMillis, memoryBytes: t.memoryBytes, pods: t.maxPods };
}

export interface LaunchPlan {
  /** Instance types to launch, each with the indexes of the pods it will hold. */
  nodes: { type: InstanceType; pods: number[] }[];
  /** Pods that fit no instance type in the catalog (or beyond the limits). */
  unschedulable: number[];
}

export interface PoolLimits {
  cpuMillis?: number;
  memoryBytes?: number;
}

/** Whether one more node of type `t` stays within the NodePool's limits (scheduler.go filterByRemainingResources). */
function withinLimits(t: InstanceType, limits: PoolLimits, usedCpu: number, usedMem: number): boolean {
  return (limits.cpuMillis === undefined || usedCpu + t.cpuMillis <= limits.cpuMillis) && (limits.memoryBytes === undefined || usedMem + t.memoryBytes <= limits.memoryBytes);
}

/**
 * Whether `pending` all fit on one new node of type `t` within the limits: what `planLaunch(pending, [t], limits,
 * used)` answers with one node and nothing unschedulable, in one pass. Room is additive (cpu, memory, a pod slot
 * each), so first fit into a single node takes every pod exactly when the sums fit; consolidation asks this of
 * each catalog type for up to thousands of left-over pods, where planning the nodes would be quadratic.
 */
export function fitsOneNode(pending: Resources[], t: InstanceType, limits: PoolLimits = {}, used: Resources = { cpuMillis: 0, memoryBytes: 0 }): boolean {
  if (!withinLimits(t, limits, used.cpuMillis, used.memoryBytes)) return false;
  if (pending.length === 0 || pending.length > t.maxPods) return false;
  let cpu = 0;
  let mem = 0;
  for (const p of pending) {
    cpu += p.cpuMillis;
    mem += p.memoryBytes;
  }
  return cpu <= t.cpuMillis && mem <= t.memoryBytes;
}

/**
 * Karpenter-style launch decision for a batch of pending pods: first-fit decreasing (largest pods
 * first) into new nodes; each new node takes the cheapest type that fits what it will hold, then is
 * re-evaluated to the cheapest type holding as many of the remaining pods as the largest type would.
 * Respects the NodePool's cpu/memory limits counting what already exists (`used`).
 */
export function planLaunch(pending: Resources[], catalog: InstanceType[], limits: PoolLimits = {}, used: Resources = { cpuMillis: 0, memoryBytes: 0 }): LaunchPlan {
  const order = pending.map((r, i) => ({ r, i })).sort((a, b) => b.r.cpuMillis - a.r.cpuMillis || b.r.memoryBytes - a.r.memoryBytes || a.i - b.i);
  const plan: LaunchPlan = { nodes: [], unschedulable: [] };
  let remaining = order;
  let usedCpu = used.cpuMillis;
  let usedMem = used.memoryBytes;
  while (remaining.length > 0) {
    // Types that would exceed the remaining limits are filtered out.
    const allowed = catalog.filter((t) => withinLimits(t, limits, usedCpu, usedMem));
    const byPrice = [...allowed].sort((a, b) => a.pricePerHour - b.pricePerHour);
    const largest = [...allowed].sort((a, b) => b.cpuMillis - a.cpuMillis)[0];
    if (!largest) {
      plan.unschedulable.push(...remaining.map((p) => p.i));
      break;
    }
    // How much of the remaining batch would the largest type take?
    const packInto = (t: InstanceType) => {
      let room = roomOf(t);
      const taken: typeof order = [];
      for (const p of remaining)
        if (fits(p.r, room)) {
          room = take(room, p.r);
          taken.push(p);
        }
      return taken;
    };
    const maxTaken = packInto(largest);
    if (maxTaken.length === 0) {
      plan.unschedulable.push(...remaining.map((p) => p.i));
      break;
    }
    // Cheapest type that holds the same pods the largest would.
    const choice = byPrice.find((t) => packInto(t).length === maxTaken.length) ?? largest;
    const taken = packInto(choice);
    usedCpu += choice.cpuMillis;
    usedMem += choice.memoryBytes;
    plan.nodes.push({ type: choice, pods: taken.map((p) => p.i).sort((a, b) => a - b) });
    const set = new Set(taken);
    remaining = remaining.filter((p) => !set.has(p));
  }
  return plan;
}

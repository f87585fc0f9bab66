// A local cluster on a fake clock with fake containers, for the controllers' tests.
import { Cluster, type ClusterOptions } from "../../src/local/cluster/cluster.js";
import { FakeClock } from "../../src/local/cluster/clock.js";
import type { ClusterEvent } from "../../src/local/cluster/events.js";
import type { Pod, PodTemplate, ProbeSettings } from "../../src/local/cluster/pod.js";
import type { Taint, VirtualNode } from "../../src/local/cluster/node.js";
import type { InstanceType } from "../../src/scaling/catalog.js";
import { FakeRunner, advance, settle } from "./fake-runner.js";

export const GiB = 1024 ** 3;
export const T0 = 1_700_000_000_000;

/** A small node: 2 CPUs, 4 GiB, 10 pods. */
export const SMALL: InstanceType = { name: "Test_2c4g", cpuMillis: 2000, memoryBytes: 4 * GiB, maxPods: 10, pricePerHour: 0.1 };

export function template(over: Partial<PodTemplate> = {}): PodTemplate {
  return {
    app: "web",
    labels: { app: "web" },
    script: "web.js",
    args: [],
    env: {},
    requests: { cpuMillis: 100, memoryBytes: 128 * 2 ** 20 },
    tolerations: [],
    graceMs: 30_000,
    ...over,
  };
}

export function probe(over: Partial<ProbeSettings> = {}): ProbeSettings {
  return { path: "/ready", periodMs: 1000, timeoutMs: 1000, failureThreshold: 3, successThreshold: 1, initialDelayMs: 0, ...over };
}

export interface Harness {
  clock: FakeClock;
  runner: FakeRunner;
  cluster: Cluster;
  /** Milliseconds since the cluster was created. */
  t(): number;
  /** Moves the clock (see `advance`). */
  run(ms: number, step?: number): Promise<void>;
  /** Lets queued work run without moving the clock. */
  settle(): Promise<void>;
  node(name?: string, type?: InstanceType, taints?: Taint[], labels?: Record<string, string>): VirtualNode;
  /** The deployment's pods, oldest first, optionally only those in one phase. */
  pods(app?: string, phase?: Pod["phase"]): Pod[];
  pod(name: string): Pod;
  events(reason: string, object?: string): ClusterEvent[];
}

export function harness(o: Partial<Omit<ClusterOptions, "clock" | "runner" | "allocatePort">> = {}): Harness {
  const clock = new FakeClock(T0);
  const runner = new FakeRunner(clock);
  let nextPort = 30_000;
  const cluster = new Cluster({ name: "test", timeScale: 1, ...o, clock, runner, allocatePort: async () => nextPort++ });
  return {
    clock,
    runner,
    cluster,
    t: () => clock.now() - T0,
    run: (ms, step) => advance(clock, ms, step),
    settle,
    // The pool name becomes the node's name: aks-<pool>-00000.
    node: (name = "a", type = SMALL, taints = [], labels = {}) => cluster.addNode(type, { kind: "agentPool", pool: name, mode: "User" }, 0, "test", taints, labels),
    pods: (app = "web", phase) =>
      cluster
        .podsOf(app)
        .filter((p) => !phase || p.phase === phase)
        .sort((a, b) => a.createdAt - b.createdAt),
    pod: (name) => {
      const p = cluster.pods.get(name);
      if (!p) throw new Error(`no pod ${name}`);
      return p;
    },
    events: (reason, object) => cluster.events.list().filter((e) => e.reason === reason && (!object || e.object === object)),
  };
}

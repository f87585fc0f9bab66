import { request } from "node:http";
import type { Blueprint, ClusterSpec } from "../../blueprints/types.js";
import type { LocalRuntime } from "../runtime.js";
import type { Cluster } from "../cluster/cluster.js";
import { startGateway, type Gateway } from "../gateway/gateway.js";
import { gatewaySettingsFor } from "../gateway/settings.js";
import { watchLatency } from "../gateway/index.js";
import { UserError } from "../../errors.js";
import { BackendLease, LeaseRefused } from "./backend-lease.js";
import { ClusterSplit, compareWindow } from "./split.js";
import {
  actionFor,
  agicOf,
  checkUpgrade,
  clustersOf,
  initialState,
  inProgress,
  serving,
  standby,
  step,
  UpgradeInputError,
  type Action,
  type BlueGreenState,
  type ClusterRef,
  type Input,
  type UpgradePlan,
} from "../../upgrade/machine.js";
import { writeBlueGreenState } from "./state-file.js";
import { HELLO_FAULTS } from "../../apps/hello/server.js";
import type { BlueGreenStatusV1 } from "../status.js";

/** `blueGreen` of StatusV1 (the dashboard reads these names). */
export type BlueGreenStatus = BlueGreenStatusV1;

export interface UpgradeRequest {
  to: string;
  canary?: number[];
  holdSeconds?: number;
  readyTimeoutSeconds?: number;
  smokeRequests?: number;
  fault?: string;
}

export interface BlueGreenControllerOptions {
  /** The blueprint as written (every cluster it names; the versions it knows). */
  blueprint: Blueprint;
  runtime: LocalRuntime;
  /** Where `.akspilot/` lives. */
  cwd: string;
  /** The state to resume, or undefined to start at T0 with the blueprint's active cluster. */
  resume?: BlueGreenState;
  timeScale: number;
  host?: string;
  /** A fixed port for the Application Gateway (its `gatewayUrl`); a free one when absent. */
  port?: number;
  now?: () => number;
}

/** The Kubernetes versions a blue-green blueprint can be upgraded to (its clusters' and any it lists). */
export function knownVersions(bp: Blueprint): string[] {
  const all = [...bp.clusters.map((c) => c.kubernetesVersion ?? ""), ...(bp.blueGreen?.kubernetesVersions ?? [])].filter(Boolean);
  return [...new Set(all)].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}

/** The cluster spec a ClusterRef runs: the blueprint's cluster of that name (its pools) at the ref's version. */
export function clusterSpecFor(bp: Blueprint, ref: ClusterRef): ClusterSpec {
  const base = bp.clusters.find((c) => c.name === ref.name) ?? bp.clusters[0]!;
  return { ...base, name: ref.name, kubernetesVersion: ref.version };
}

/** Where a blue-green run starts: the state to resume (an upgrade in progress) or T0 from the blueprint. */
export function startingState(bp: Blueprint, saved: BlueGreenState | undefined, now: number): BlueGreenState {
  if (saved && inProgress(saved)) return saved;
  const name = bp.blueGreen?.activeCluster ?? bp.clusters[0]!.name;
  const spec = bp.clusters.find((c) => c.name === name) ?? bp.clusters[0]!;
  return initialState({ name: spec.name, version: spec.kubernetesVersion ?? "" }, now);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/** One GET on a fresh connection: status and the answering cluster's headers. */
function get(url: string, timeoutMs: number): Promise<{ status: number; cluster?: string; version?: string; ms: number } | { error: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { agent: false, headers: { "user-agent": "akspilot-bluegreen" } }, (res) => {
      res.resume();
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          cluster: res.headers["x-cluster"] as string | undefined,
          version: res.headers["x-kubernetes-version"] as string | undefined,
          ms: performance.now() - t0,
        }),
      );
      res.on("error", (e) => resolve({ error: e.message }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (e) => resolve({ error: e.message }));
    req.end();
  });
}

/**
 * Runs blue-green upgrades on the local runtime: the gateway in front of the clusters (the Application
 * Gateway), its backend owned through a lease by one cluster's ingress controller, and the executor of
 * the state machine — it performs each phase's action, feeds the outcome back, records every transition
 * as an event and in `.akspilot/bluegreen.json`, and resumes from there after a kill.
 */
export class BlueGreenController {
  state: BlueGreenState;
  readonly lease: BackendLease;
  readonly split: ClusterSplit;
  gateway!: Gateway;
  private readonly now: () => number;
  /** Bumped by every transition: an action's outcome counts only for the transition it was started in. */
  private epoch = 0;
  private running?: { epoch: number; abort: AbortController; done: Promise<void> };
  private loop?: NodeJS.Timeout;
  private closed = false;
  /** Resumed with green recreated: green must be Ready again before it gets traffic. */
  private restoring = false;
  private readonly app;

  private constructor(
    private readonly o: BlueGreenControllerOptions,
    state: BlueGreenState,
  ) {
    this.now = o.now ?? Date.now;
    this.state = state;
    const app = o.blueprint.apps.find((a) => a.service) ?? o.blueprint.apps[0]!;
    this.app = app;
    this.lease = new BackendLease(state.owner, (type, reason, message) => this.event(type, reason, message));
    this.split = new ClusterSplit(this.lease, (type, reason, message) => this.event(type, reason, message));
  }

  /** The blueprint's runtime view: only the cluster serving before the upgrade; the rest is added live. */
  static runtimeBlueprint(bp: Blueprint, state: BlueGreenState): Blueprint {
    return { ...bp, clusters: [clusterSpecFor(bp, state.blue)] };
  }

  static async start(o: BlueGreenControllerOptions): Promise<BlueGreenController> {
    const state = o.resume ?? startingState(o.blueprint, undefined, (o.now ?? Date.now)());
    const c = new BlueGreenController(o, state);
    const rt = o.runtime;
    const latency = watchLatency();
    c.gateway = await startGateway(c.split, {
      observe: latency.observe,
      settings: gatewaySettingsFor(c.app, o.timeScale),
      host: o.host,
      port: o.port,
      onEvent: (type, reason, message) => c.event(type, reason, message),
      route: c.split.route,
      observeTry: c.split.observe,
    });
    latency.attach(c.gateway);
    rt.ingressGateway = c.gateway;
    for (const cl of rt.clusters.values()) c.joinCluster(cl);
    c.split.write(state.owner, state.weights, o.resume ? "restored from .akspilot/bluegreen.json" : "the blueprint's active cluster serves");
    c.event(
      "Normal",
      "GatewayReady",
      `Application Gateway on ${c.gateway.url}: backend owned by ${state.owner.holder} (generation ${state.owner.generation}), ${Object.entries(state.weights)
        .map(([k, v]) => `${k} ${v}%`)
        .join(", ")}`,
    );
    if (o.resume) {
      c.event("Normal", "UpgradeResumed", `resuming at stage ${state.stage} (${state.phase}) from .akspilot/bluegreen.json`);
      // The clusters of the interrupted upgrade run again: green is recreated as it was (version, fault).
      const green = state.green;
      if (green && state.phase !== "creating-green" && clustersOf(state).some((x) => x.name === green.name) && !rt.clusters.has(green.name)) {
        await c.createCluster(green);
        c.restoring = true;
      }
    }
    c.persist();
    c.loop = setInterval(() => c.pump(), 100);
    c.pump();
    return c;
  }

  private event(type: "Normal" | "Warning", reason: string, message: string): void {
    this.o.runtime.events.record(type, `upgrade/${this.app.name}`, reason, message, undefined, undefined);
  }

  private joinCluster(cl: Cluster): void {
    const svc = this.o.runtime.services.find((s) => s.cluster === cl.name && s.name === this.app.name);
    if (svc && !this.split.has(cl.name)) this.split.join(cl.name, svc.endpoints);
  }

  private persist(): void {
    writeBlueGreenState(this.o.cwd, this.state);
  }

  /** Applies an input: the transition, its events, the state on disk; a running action of an older phase is stopped. */
  private apply(input: Input): void {
    const r = step(this.state, input, this.now());
    if (r.state === this.state) return;
    const phaseChanged = r.state.phase !== this.state.phase || r.state.step !== this.state.step || r.state.stage !== this.state.stage;
    this.state = r.state;
    for (const e of r.events) this.event(e.type, e.reason, e.message);
    this.persist();
    if (phaseChanged) {
      this.epoch++;
      this.running?.abort.abort();
    }
    queueMicrotask(() => this.pump());
  }

  // ---- requests (control API) -------------------------------------------------------------

  upgrade(req: UpgradeRequest): BlueGreenStatus {
    const known = knownVersions(this.o.blueprint);
    if (req.fault !== undefined && !HELLO_FAULTS.includes(req.fault as (typeof HELLO_FAULTS)[number])) {
      throw new UserError(`fault "${req.fault.slice(0, 30)}" is not a rehearsal fault`, `faults: ${HELLO_FAULTS.join(", ")}`);
    }
    this.guard(() => checkUpgrade(this.state, req.to, known));
    const current = serving(this.state);
    const greenName = this.o.blueprint.clusters.map((c) => c.name).find((n) => n !== current.name) ?? `${current.name}-next`;
    const plan: UpgradePlan = {
      to: req.to,
      canary: req.canary ?? [],
      holdSeconds: req.holdSeconds ?? 30,
      readyTimeoutSeconds: req.readyTimeoutSeconds ?? 300,
      smokeRequests: req.smokeRequests ?? 30,
      ...(req.fault ? { fault: req.fault } : {}),
    };
    this.guard(() => this.apply({ kind: "upgrade", plan, greenName }));
    return this.status();
  }

  rollback(reason = "asked for (`akspilot rollback`)"): BlueGreenStatus {
    this.guard(() => this.apply({ kind: "rollback", reason }));
    return this.status();
  }

  finish(): BlueGreenStatus {
    this.guard(() => this.apply({ kind: "finish" }));
    return this.status();
  }

  /** An ingress controller asks to own the gateway's backend: granted only to the holder, else refused with an event. */
  claimOwner(holder: string): { ok: true; owner: { holder: string; generation: number } } | { ok: false; error: string; owner: { holder: string; generation: number } | null } {
    try {
      return { ok: true, owner: this.lease.acquire(holder) };
    } catch (e) {
      if (e instanceof LeaseRefused) return { ok: false, error: e.message, owner: this.lease.owner };
      throw e;
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof UpgradeInputError) throw new UserError(e.message, e.hint);
      throw e;
    }
  }

  status(): BlueGreenStatus {
    const s = this.state;
    return {
      stage: s.stage,
      phase: s.phase,
      activeCluster: serving(s).name,
      standbyCluster: standby(s)?.name ?? null,
      targetVersion: s.plan?.to ?? (s.stage === "T4" ? (s.green?.version ?? null) : null),
      weights: { ...s.weights },
      owner: this.lease.owner,
    };
  }

  // ---- the executor -----------------------------------------------------------------------

  private pump(): void {
    if (this.closed) return;
    const s = this.state;
    if (s.phase === "waiting-ready") {
      this.apply({ kind: "tick", greenReady: this.ready(s.green!) });
      return;
    }
    if (this.running) return; // one action at a time (an aborted one may still be unwinding)
    const action = actionFor(s);
    if (!action) return;
    // After a restart, an action that sends green traffic waits until green is Ready again.
    if (this.restoring && (action.kind === "smoke-test" || action.kind === "canary-step" || action.kind === "switch")) {
      if (!this.ready(s.green!)) return;
      this.restoring = false;
      this.event("Normal", "GreenRestored", `${s.green!.name} (${s.green!.version}) Ready again after the restart; going on with ${s.phase}`);
    }
    const epoch = this.epoch;
    const abort = new AbortController();
    const done = this.perform(action, abort.signal)
      .then(
        (r) => r,
        (e: unknown) => ({ ok: false, reason: e instanceof Error ? e.message : String(e) }),
      )
      .then((r) => {
        this.running = undefined;
        if (this.closed || epoch !== this.epoch || abort.signal.aborted) {
          queueMicrotask(() => this.pump());
          return;
        }
        this.apply({ kind: "done", ok: r.ok, reason: r.reason });
      });
    this.running = { epoch, abort, done };
  }

  /** Every node of the cluster Ready and every replica of the app Ready. */
  private ready(ref: ClusterRef): boolean {
    const c = this.o.runtime.clusters.get(ref.name);
    if (!c) return false;
    const d = c.deployments.get(this.app.name);
    if (!d) return false;
    const nodes = c.liveNodes();
    const readyPods = c.podsOf(this.app.name).filter((p) => p.phase === "Running" && p.ready).length;
    return nodes.length > 0 && nodes.every((n) => n.phase === "Ready") && readyPods >= d.replicas && d.replicas > 0;
  }

  private async perform(a: Action, signal: AbortSignal): Promise<{ ok: boolean; reason: string }> {
    switch (a.kind) {
      case "create-green":
        return this.createCluster(a.cluster);
      case "smoke-test":
        return this.smoke(a.cluster, a.requests, signal);
      case "canary-step":
        return this.canary(a, signal);
      case "switch": {
        // The hand-over and the write are one step for the gateway: no moment with two owners or none.
        const from = this.lease.owner!;
        const to = agicOf(a.to);
        const owner = from.holder === to ? from : this.lease.transfer(from, to, `switch to ${a.to}`);
        this.split.write(owner, a.weights, `T3: every new request to ${a.to}`);
        this.state = { ...this.state, owner };
        return { ok: true, reason: "requests in flight finish where they started; keep-alive connections stay open at the gateway" };
      }
      case "remove-cluster": {
        this.split.leave(a.cluster);
        await this.o.runtime.removeCluster(a.cluster);
        return { ok: true, reason: `cluster ${a.cluster} deleted (nodes, pods, Services)` };
      }
      case "rollback": {
        const from = this.lease.owner!;
        const to = agicOf(a.to);
        const owner = from.holder === to ? from : this.lease.transfer(from, to, `rollback to ${a.to}`);
        this.split.write(owner, a.weights, `rollback: every new request to ${a.to}`);
        this.state = { ...this.state, owner };
        this.persist();
        if (a.remove) {
          this.split.leave(a.remove);
          await this.o.runtime.removeCluster(a.remove);
        }
        return { ok: true, reason: a.remove ? `${a.remove} removed` : "nothing to remove" };
      }
    }
  }

  async createCluster(ref: ClusterRef): Promise<{ ok: boolean; reason: string }> {
    const rt = this.o.runtime;
    if (!rt.clusters.has(ref.name)) {
      const spec = clusterSpecFor(this.o.blueprint, ref);
      await rt.addCluster(spec, ref.fault ? { HELLO_FAULT: ref.fault } : {});
    }
    this.joinCluster(rt.clusters.get(ref.name)!);
    const spec = clusterSpecFor(this.o.blueprint, ref);
    // Green's ingress controller is installed in standby: it may not write the gateway while blue's owns it.
    const pools = spec.agentPools.map((p) => `${p.count} × ${p.vmSize}`).join(", ");
    return { ok: true, reason: `${pools} nodes labelled with Kubernetes ${ref.version}, ${this.app.name} deployed, ${agicOf(ref.name)} installed in standby` };
  }

  /** Smoke test straight at green's pods (bypassing the gateway): every pod answers, right version, no error. */
  private async smoke(ref: ClusterRef, requests: number, signal: AbortSignal): Promise<{ ok: boolean; reason: string }> {
    const c = this.o.runtime.clusters.get(ref.name);
    const pods = (c?.podsOf(this.app.name) ?? []).filter((p) => p.phase === "Running" && p.ready && p.port !== undefined);
    if (pods.length === 0) return { ok: false, reason: "no ready pod to test" };
    const path = this.app.ingress?.path ?? "/";
    const per = Math.max(1, Math.ceil(requests / pods.length));
    let sent = 0;
    const wrong: string[] = [];
    for (const p of pods) {
      for (let i = 0; i < per; i++) {
        if (signal.aborted) return { ok: false, reason: "interrupted" };
        const r = await get(`http://127.0.0.1:${p.port}${path}`, 5000);
        sent++;
        if ("error" in r) wrong.push(`${p.name}: ${r.error}`);
        else if (r.status !== 200) wrong.push(`${p.name} answered ${r.status}`);
        else if (r.version !== ref.version) wrong.push(`${p.name} says Kubernetes ${r.version ?? "(nothing)"}, not ${ref.version}`);
        else if (r.cluster !== ref.name) wrong.push(`${p.name} says cluster ${r.cluster ?? "(nothing)"}, not ${ref.name}`);
      }
    }
    if (wrong.length > 0) return { ok: false, reason: `${wrong.length} of ${sent} requests wrong (first: ${wrong[0]})` };
    return {
      ok: true,
      reason: `smoke test passed: ${sent} requests straight to its ${pods.length} pods, every pod answered 200 from ${ref.name} on Kubernetes ${ref.version}, 0 errors`,
    };
  }

  /**
   * One canary step: the weights written, then a window in which green's tries are compared with blue's.
   * The controller adds 20 requests/s of its own through the gateway (like Flagger's load tester), so a
   * quiet rehearsal is judged too.
   */
  private async canary(a: Extract<Action, { kind: "canary-step" }>, signal: AbortSignal): Promise<{ ok: boolean; reason: string }> {
    this.split.write(this.lease.owner!, a.weights, `T2 canary step: ${a.green} ${a.weights[a.green]}%`);
    this.split.startWindow();
    const until = performance.now() + a.holdSeconds * 1000;
    const url = this.gateway.url + (this.app.ingress?.path ?? "/");
    const inflight = new Set<Promise<unknown>>();
    while (!signal.aborted && performance.now() < until) {
      const p = get(url, 5000);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      await sleep(50, signal);
    }
    await Promise.all(inflight);
    if (signal.aborted) return { ok: false, reason: "interrupted" };
    return compareWindow(this.split.windowFigures(a.green), this.split.windowFigures(a.blue));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.loop);
    this.running?.abort.abort();
    await this.running?.done.catch(() => undefined);
    this.split.close();
  }

  /** The clusters this state runs (for a restart). */
  static clusters(s: BlueGreenState): ClusterRef[] {
    return clustersOf(s);
  }
}

/**
 * The blue-green upgrade as a pure state machine (no I/O, no clock of its own): Microsoft's stages
 * T0 blue serving → T1 green deployed (created, Ready, smoke-tested) → T2 green takes canary weights
 * (each held and compared with blue) → T3 traffic switched, blue on standby → T4 blue removed. Each
 * phase names the one action the executor performs next; the action's outcome is fed back as input.
 * The state is plain data written to disk after every transition, so a killed upgrade resumes at the
 * phase it was in (every action is idempotent).
 */

/** Who writes the gateway's backend, and under which generation of the lease (see local/bluegreen/backend-lease.ts). */
export interface LeaseHolder {
  holder: string;
  generation: number;
}

export type Stage = "T0" | "T1" | "T2" | "T3" | "T4";
export type Phase =
  | "serving"
  | "creating-green"
  | "waiting-ready"
  | "smoke-test"
  | "canary"
  | "switching"
  | "standby"
  | "removing-blue"
  | "finished"
  | "rolling-back"
  | "rolled-back";

export interface ClusterRef {
  name: string;
  version: string;
  /** A fault injected into this cluster's app for a rehearsal (see docs/blue-green.md). */
  fault?: string;
}

export interface UpgradePlan {
  to: string;
  /** Green's share of traffic at each canary step, ascending; a final 100 is the switch itself. */
  canary: number[];
  holdSeconds: number;
  readyTimeoutSeconds: number;
  /** Requests of the smoke test, spread over green's pods. */
  smokeRequests: number;
  fault?: string;
}

export interface BlueGreenState {
  version: 1;
  stage: Stage;
  phase: Phase;
  /** The cluster serving before the upgrade (being replaced). */
  blue: ClusterRef;
  /** The cluster being upgraded to, while it exists. */
  green: ClusterRef | null;
  plan: UpgradePlan | null;
  /** Index into plan.canary while in T2. */
  step: number;
  /** Share of new requests per cluster, as written to the gateway's backend. */
  weights: Record<string, number>;
  /** Who owns the gateway's backend (an ingress controller per cluster: `agic-<cluster>`). */
  owner: LeaseHolder;
  /** When the current phase began (ms, the injected clock). */
  since: number;
  /** Why the last upgrade ended as it did (rolled back, finished). */
  outcome: string | null;
}

export type Action =
  | { kind: "create-green"; cluster: ClusterRef }
  | { kind: "smoke-test"; cluster: ClusterRef; requests: number }
  | { kind: "canary-step"; weights: Record<string, number>; holdSeconds: number; green: string; blue: string }
  | { kind: "switch"; to: string; weights: Record<string, number> }
  | { kind: "remove-cluster"; cluster: string }
  | { kind: "rollback"; to: string; weights: Record<string, number>; remove: string | null };

export type Input =
  | { kind: "upgrade"; plan: UpgradePlan; greenName: string }
  | { kind: "rollback"; reason: string }
  | { kind: "finish" }
  | { kind: "tick"; greenReady: boolean }
  | { kind: "done"; ok: boolean; reason: string };

export interface MachineEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export interface Step {
  state: BlueGreenState;
  events: MachineEvent[];
}

/** Bad input to the machine: the caller's mistake, told in one line with what to do. */
export class UpgradeInputError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "UpgradeInputError";
  }
}

export const agicOf = (cluster: string): string => `agic-${cluster}`;

export function initialState(blue: ClusterRef, now: number): BlueGreenState {
  return {
    version: 1,
    stage: "T0",
    phase: "serving",
    blue,
    green: null,
    plan: null,
    step: 0,
    weights: { [blue.name]: 100 },
    owner: { holder: agicOf(blue.name), generation: 1 },
    since: now,
    outcome: null,
  };
}

/** The cluster taking new requests at full weight (green once switched, else blue). */
export function serving(s: BlueGreenState): ClusterRef {
  return (s.stage === "T3" || s.stage === "T4") && s.green ? s.green : s.blue;
}

/** The other cluster that exists besides the serving one, if any. */
export function standby(s: BlueGreenState): ClusterRef | null {
  if (s.stage === "T4") return s.phase === "removing-blue" ? s.blue : null;
  if (s.stage === "T3") return s.blue;
  return s.green;
}

/** The clusters that exist in this state (what a restarted runtime must run). */
export function clustersOf(s: BlueGreenState): ClusterRef[] {
  if (s.stage === "T4" && s.phase === "finished") return [s.green!];
  if (s.stage === "T0" && s.phase !== "rolling-back") return [s.blue];
  return s.green ? [s.blue, s.green] : [s.blue];
}

export function inProgress(s: BlueGreenState): boolean {
  return s.stage === "T1" || s.stage === "T2" || s.stage === "T3" || s.phase === "rolling-back" || s.phase === "removing-blue";
}

/** The action the current phase performs, or none (waiting for Ready, standing by, at rest). */
export function actionFor(s: BlueGreenState): Action | null {
  const plan = s.plan;
  switch (s.phase) {
    case "creating-green":
      return { kind: "create-green", cluster: s.green! };
    case "smoke-test":
      return { kind: "smoke-test", cluster: s.green!, requests: plan!.smokeRequests };
    case "canary":
      return { kind: "canary-step", weights: s.weights, holdSeconds: plan!.holdSeconds, green: s.green!.name, blue: s.blue.name };
    case "switching":
      return { kind: "switch", to: s.green!.name, weights: s.weights };
    case "removing-blue":
      return { kind: "remove-cluster", cluster: s.blue.name };
    case "rolling-back":
      return { kind: "rollback", to: s.blue.name, weights: s.weights, remove: s.green?.name ?? null };
    default:
      return null;
  }
}

/** Checks an upgrade request against the running version and the versions the blueprint knows. */
export function checkUpgrade(s: BlueGreenState, to: string, known: readonly string[]): void {
  if (inProgress(s)) {
    throw new UpgradeInputError(
      `an upgrade to ${s.green?.version ?? s.plan?.to} is already in progress (stage ${s.stage}, ${s.phase})`,
      "wait for it, or run `akspilot rollback` or `akspilot upgrade --finish`",
    );
  }
  const current = serving(s).version;
  if (!known.includes(to)) {
    const shown = to.length > 40 ? `${to.slice(0, 37)}…` : to;
    throw new UpgradeInputError(`--to "${shown}" is not a Kubernetes version this blueprint knows`, `known versions: ${known.join(", ")}`);
  }
  if (to === current)
    throw new UpgradeInputError(
      `--to ${to} is the version cluster ${serving(s).name} already runs`,
      `pick a newer version (known: ${known.filter((v) => compareVersions(v, current) > 0).join(", ") || "none newer"})`,
    );
  if (compareVersions(to, current) < 0)
    throw new UpgradeInputError(`--to ${to} is older than the running ${current}: a blue-green upgrade only goes forward`, "to go back during an upgrade, run `akspilot rollback`");
}

/** Canary weights: whole percentages from 1 to 100, strictly ascending. */
export function checkCanary(canary: readonly number[]): void {
  let last = 0;
  for (const w of canary) {
    if (!Number.isInteger(w) || w < 1 || w > 100)
      throw new UpgradeInputError(`canary weight ${String(w).slice(0, 20)} is not a whole percentage from 1 to 100`, "pass e.g. --canary 10,50,100");
    if (w <= last) throw new UpgradeInputError(`canary weights must go up: ${canary.join(",")}`, "pass e.g. --canary 10,50,100");
    last = w;
  }
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function to(s: BlueGreenState, stage: Stage, phase: Phase, now: number, patch: Partial<BlueGreenState> = {}): BlueGreenState {
  return { ...s, ...patch, stage, phase, since: now };
}

function rollback(s: BlueGreenState, reason: string, now: number, type: "Normal" | "Warning"): Step {
  const weights = { [s.blue.name]: 100 };
  return {
    state: to(s, "T0", "rolling-back", now, { weights, outcome: `rolled back: ${reason}` }),
    events: [
      {
        type,
        reason: "UpgradeRollingBack",
        message: `${s.stage} ${s.phase} → T0: traffic back to ${s.blue.name} (${s.blue.version}), ${s.green ? `${s.green.name} removed` : "nothing to remove"}: ${reason}`,
      },
    ],
  };
}

/** Canary steps below 100 %: the final 100 (if given) is the switch itself. */
function canarySteps(plan: UpgradePlan): number[] {
  return plan.canary.filter((w) => w < 100);
}

function enterCanaryOrSwitch(s: BlueGreenState, index: number, now: number, why: string): Step {
  const steps = canarySteps(s.plan!);
  const green = s.green!.name;
  const blue = s.blue.name;
  if (index < steps.length) {
    const w = steps[index]!;
    const weights = { [blue]: 100 - w, [green]: w };
    return {
      state: to(s, "T2", "canary", now, { step: index, weights }),
      events: [
        {
          type: "Normal",
          reason: "CanaryStep",
          message: `T2 canary ${index + 1}/${steps.length}: ${green} takes ${w}% of new requests, ${blue} ${100 - w}%, held ${s.plan!.holdSeconds} s while green's error rate and p95 are compared with blue's (${why})`,
        },
      ],
    };
  }
  return {
    state: to(s, "T3", "switching", now, { weights: { [green]: 100 } }),
    events: [{ type: "Normal", reason: "SwitchingTraffic", message: `→ T3: moving the gateway's backend to ${green} (${s.green!.version}) (${why})` }],
  };
}

/** One transition. Throws UpgradeInputError for a request that makes no sense in this state. */
export function step(s: BlueGreenState, input: Input, now: number): Step {
  switch (input.kind) {
    case "upgrade": {
      const plan = input.plan;
      checkCanary(plan.canary);
      // After a finished upgrade, the cluster that was green serves: it is blue for the next one.
      const blue = serving(s);
      const green: ClusterRef = { name: input.greenName, version: plan.to, ...(plan.fault ? { fault: plan.fault } : {}) };
      const state = to(s, "T1", "creating-green", now, { blue: { name: blue.name, version: blue.version }, green, plan, step: 0, weights: { [blue.name]: 100 }, outcome: null });
      const canary = plan.canary.length ? `canary ${plan.canary.join("% → ")}%` : "no canary";
      return {
        state,
        events: [
          {
            type: "Normal",
            reason: "UpgradeStarted",
            message: `T0 → T1: upgrade ${blue.name} (${blue.version}) to ${plan.to} on a new cluster ${green.name}, ${canary}${plan.fault ? `; rehearsal fault ${plan.fault} injected into ${green.name}` : ""}`,
          },
        ],
      };
    }
    case "rollback": {
      if (s.stage === "T4") {
        throw new UpgradeInputError(
          s.phase === "finished"
            ? `nothing to roll back to: the upgrade to ${s.green?.version} was finished and ${s.blue.name} removed`
            : `the upgrade is being finished: ${s.blue.name} is being removed`,
          "start a new upgrade with `akspilot upgrade --to <version>`",
        );
      }
      if (s.phase === "rolling-back") return { state: s, events: [] };
      if (!inProgress(s)) throw new UpgradeInputError("nothing to roll back: no upgrade is in progress", "start one with `akspilot upgrade --to <version>`");
      return rollback(s, input.reason, now, "Normal");
    }
    case "finish": {
      if (s.stage === "T3" && s.phase === "standby") {
        return {
          state: to(s, "T4", "removing-blue", now),
          events: [
            { type: "Normal", reason: "RemovingBlue", message: `T3 → T4: ${s.green!.name} (${s.green!.version}) serves; removing ${s.blue.name} (${s.blue.version}) on request` },
          ],
        };
      }
      if (s.stage === "T1" || s.stage === "T2" || (s.stage === "T3" && s.phase === "switching")) {
        throw new UpgradeInputError(
          `cannot finish yet: traffic has not been switched to ${s.green?.name} (stage ${s.stage}, ${s.phase})`,
          "wait until `akspilot status` shows stage T3, or run `akspilot rollback`",
        );
      }
      throw new UpgradeInputError("--finish: no upgrade is in progress", "start one with `akspilot upgrade --to <version>`");
    }
    case "tick": {
      if (s.phase !== "waiting-ready") return { state: s, events: [] };
      if (input.greenReady) {
        return {
          state: to(s, "T1", "smoke-test", now),
          events: [{ type: "Normal", reason: "GreenReady", message: `${s.green!.name}: every node and replica Ready; smoke-testing its pods directly, bypassing the gateway` }],
        };
      }
      const waited = (now - s.since) / 1000;
      if (waited > s.plan!.readyTimeoutSeconds) return rollback(s, `${s.green!.name} was not Ready within ${s.plan!.readyTimeoutSeconds} s`, now, "Warning");
      return { state: s, events: [] };
    }
    case "done": {
      const ok = input.ok;
      switch (s.phase) {
        case "creating-green":
          if (!ok) return rollback(s, `creating ${s.green!.name} failed: ${input.reason}`, now, "Warning");
          return {
            state: to(s, "T1", "waiting-ready", now),
            events: [
              {
                type: "Normal",
                reason: "GreenCreated",
                message: `${s.green!.name} (${s.green!.version}) created: ${input.reason}; waiting until it is Ready (at most ${s.plan!.readyTimeoutSeconds} s)`,
              },
            ],
          };
        case "smoke-test": {
          if (!ok) return rollback(s, `smoke test of ${s.green!.name} failed: ${input.reason}`, now, "Warning");
          const passed: MachineEvent = { type: "Normal", reason: "SmokeTestPassed", message: `${s.green!.name}: ${input.reason}` };
          const next = enterCanaryOrSwitch(s, 0, now, "smoke test passed");
          return { state: next.state, events: [passed, ...next.events] };
        }
        case "canary": {
          if (!ok) return rollback(s, `canary at ${s.weights[s.green!.name]}% regressed: ${input.reason}`, now, "Warning");
          const passed: MachineEvent = { type: "Normal", reason: "CanaryPassed", message: `canary at ${s.weights[s.green!.name]}%: ${input.reason}` };
          const next = enterCanaryOrSwitch(s, s.step + 1, now, `canary at ${s.weights[s.green!.name]}% passed`);
          return { state: next.state, events: [passed, ...next.events] };
        }
        case "switching": {
          if (!ok) return rollback(s, `switch failed: ${input.reason}`, now, "Warning");
          const owner = { holder: agicOf(s.green!.name), generation: s.owner.holder === agicOf(s.green!.name) ? s.owner.generation : s.owner.generation + 1 };
          return {
            state: to(s, "T3", "standby", now, { owner }),
            events: [
              {
                type: "Normal",
                reason: "TrafficSwitched",
                message: `T3: ${s.green!.name} (${s.green!.version}) takes every new request (owner ${owner.holder}, generation ${owner.generation}); ${s.blue.name} (${s.blue.version}) on standby for rollback until \`akspilot upgrade --finish\`: ${input.reason}`,
              },
            ],
          };
        }
        case "removing-blue": {
          if (!ok) return { state: s, events: [{ type: "Warning", reason: "RemoveBlueFailed", message: `${input.reason}; will retry` }] };
          return {
            state: to(s, "T4", "finished", now, { weights: { [s.green!.name]: 100 }, outcome: `finished: ${s.green!.name} runs ${s.green!.version}` }),
            events: [
              {
                type: "Normal",
                reason: "UpgradeFinished",
                message: `T4: ${s.blue.name} (${s.blue.version}) removed; ${s.green!.name} (${s.green!.version}) serves alone: ${input.reason}`,
              },
            ],
          };
        }
        case "rolling-back": {
          if (!ok) return { state: s, events: [{ type: "Warning", reason: "RollbackRetry", message: `${input.reason}; will retry` }] };
          const owner = { holder: agicOf(s.blue.name), generation: s.owner.holder === agicOf(s.blue.name) ? s.owner.generation : s.owner.generation + 1 };
          return {
            state: to(s, "T0", "rolled-back", now, { green: null, plan: null, step: 0, owner, weights: { [s.blue.name]: 100 } }),
            events: [
              {
                type: "Normal",
                reason: "RolledBack",
                message: `T0: ${s.blue.name} (${s.blue.version}) serves alone again (owner ${owner.holder}, generation ${owner.generation}): ${input.reason}`,
              },
            ],
          };
        }
        default:
          return { state: s, events: [] };
      }
    }
  }
}

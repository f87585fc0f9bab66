import type { AppSpec, Blueprint } from "../../blueprints/types.js";
import type { BlueprintDriver } from "../drivers/driver.js";
import type { AppOverrides, LocalRuntime } from "../runtime.js";
import type { StatusV1 } from "../status.js";
import { WebDriver, type WebReport } from "../web/driver.js";
import { UserError } from "../../errors.js";
import { BlueGreenController, startingState, type UpgradeRequest } from "./controller.js";
import { readBlueGreenState } from "./state-file.js";
import type { BlueGreenState } from "../../upgrade/machine.js";

export interface BlueGreenDriverOptions {
  /** The blueprint as written. */
  blueprint: Blueprint;
  cwd: string;
  timeScale: number;
  host?: string;
  /** `--gateway-port`: the Application Gateway's fixed port. */
  gatewayPort?: number;
  exitWhenReady: boolean;
  readyTimeoutSeconds: number;
}

function echo(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}…` : s;
}

function numberField(body: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max)
    throw new UserError(`"${field}" must be a number from ${min} to ${max}, got ${echo(v)}`, `fix "${field}" or leave it out`);
  return v;
}

/** The upgrade request of `POST /v1/upgrade`: `{"to": "1.20.7", "canary": [10, 50, 100], ...}`. */
export function parseUpgradeBody(body: Record<string, unknown>): UpgradeRequest {
  const to = body.to;
  if (typeof to !== "string" || to.trim() === "") throw new UserError(`"to" must be a Kubernetes version, got ${echo(to)}`, 'send {"to": "1.20.7"}');
  const canary = body.canary;
  if (canary !== undefined && (!Array.isArray(canary) || canary.some((w) => typeof w !== "number"))) {
    throw new UserError(`"canary" must be a list of percentages, got ${echo(canary)}`, 'send {"canary": [10, 50, 100]} or leave it out');
  }
  const fault = body.fault;
  if (fault !== undefined && typeof fault !== "string") throw new UserError(`"fault" must be a string, got ${echo(fault)}`, "leave it out, or name a rehearsal fault");
  const holdSeconds = numberField(body, "holdSeconds", 0.1, 86_400);
  const readyTimeoutSeconds = numberField(body, "readyTimeoutSeconds", 1, 86_400);
  const smokeRequests = numberField(body, "smokeRequests", 1, 100_000);
  return {
    to: to.trim(),
    ...(canary ? { canary: canary as number[] } : {}),
    ...(holdSeconds !== undefined ? { holdSeconds } : {}),
    ...(readyTimeoutSeconds !== undefined ? { readyTimeoutSeconds } : {}),
    ...(smokeRequests !== undefined ? { smokeRequests: Math.round(smokeRequests) } : {}),
    ...(fault !== undefined ? { fault } : {}),
  };
}

/**
 * `up bluegreen`: the web driver plus the Application Gateway in front of the clusters and the upgrade
 * controller. The runtime starts the cluster serving now (the blueprint's active one, or — when an
 * upgrade was interrupted — the state's); the controller adds and removes clusters as the upgrade goes.
 */
export class BlueGreenDriver implements BlueprintDriver<WebReport> {
  private readonly web: WebDriver;
  readonly initial: BlueGreenState;
  private readonly resumed: boolean;
  controller?: BlueGreenController;

  constructor(private readonly o: BlueGreenDriverOptions) {
    this.web = new WebDriver({ blueprint: o.blueprint, exitWhenReady: o.exitWhenReady, readyTimeoutSeconds: o.readyTimeoutSeconds });
    const saved = readBlueGreenState(o.cwd);
    this.initial = startingState(o.blueprint, saved, Date.now());
    this.resumed = saved !== undefined && this.initial === saved;
  }

  /** What the runtime starts with: only the cluster serving before the upgrade. */
  runtimeBlueprint(): Blueprint {
    return BlueGreenController.runtimeBlueprint(this.o.blueprint, this.initial);
  }

  async prepare(): Promise<void> {}

  app(_app: AppSpec): AppOverrides | "driver" {
    return {};
  }

  async started(rt: LocalRuntime): Promise<void> {
    this.controller = await BlueGreenController.start({
      blueprint: this.o.blueprint,
      runtime: rt,
      cwd: this.o.cwd,
      ...(this.resumed ? { resume: this.initial } : {}),
      timeScale: this.o.timeScale,
      host: this.o.host,
      ...(this.o.gatewayPort !== undefined ? { port: this.o.gatewayPort } : {}),
    });
  }

  readonly route = async (method: string, path: string, body: () => Promise<Record<string, unknown>>): Promise<{ code: number; body: unknown } | undefined> => {
    if (!path.startsWith("/v1/upgrade") && path !== "/v1/gateway/owner") return undefined;
    const c = this.controller;
    if (!c) return { code: 503, body: { error: "the upgrade controller is starting; try again in a moment" } };
    if (method === "POST" && path === "/v1/gateway/owner") {
      // An ingress controller asking to own the gateway's backend (AGIC installed on a cluster): one owner at a time.
      const holder = (await body()).holder;
      if (typeof holder !== "string" || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(holder))
        throw new UserError(`"holder" must be a controller name like "agic-green", got ${echo(holder)}`, 'send {"holder": "agic-green"}');
      const r = c.claimOwner(holder);
      return r.ok ? { code: 200, body: r.owner } : { code: 409, body: { error: r.error, owner: r.owner } };
    }
    if (method === "GET" && path === "/v1/upgrade") return { code: 200, body: c.status() };
    if (method !== "POST") return undefined;
    if (path === "/v1/upgrade") return { code: 202, body: c.upgrade(parseUpgradeBody(await body())) };
    if (path === "/v1/upgrade/rollback") return { code: 202, body: c.rollback() };
    if (path === "/v1/upgrade/finish") return { code: 202, body: c.finish() };
    return undefined;
  };

  decorateStatus(s: StatusV1): void {
    const c = this.controller;
    if (!c) return;
    s.blueGreen = c.status();
    if (s.gateway) s.gateway.byCluster = c.split.byCluster();
  }

  async run(rt: LocalRuntime, ctx: { signal: AbortSignal; status(line: string): void }): Promise<void> {
    try {
      await this.web.run(rt, {
        signal: ctx.signal,
        status: (line) => {
          const b = this.controller?.status();
          ctx.status(
            b
              ? `${line} | ${b.stage} ${b.phase} · ${Object.entries(b.weights)
                  .map(([k, v]) => `${k} ${v}%`)
                  .join(" ")}`
              : line,
          );
        },
      });
    } finally {
      await this.controller?.close();
    }
  }

  report(rt: LocalRuntime): Promise<WebReport> {
    return this.web.report(rt);
  }

  async stop(): Promise<void> {
    await this.controller?.close();
  }
}

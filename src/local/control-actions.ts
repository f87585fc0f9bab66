// The control API's longer actions: a load burst and the node-failure drill. Each runs in the background,
// answers at once (202) and tells how it went as events, so that the dashboard's feed shows every step.
import { UserError } from "../errors.js";
import type { LocalRuntime } from "./runtime.js";
import { startLoad } from "./drill/load.js";
import { nodeFailureDrill } from "./drill/node-failure.js";
import type { NodeFailureReport } from "./drill/report.js";
import { percentile } from "../util/time.js";

/** Bounds of a load burst: enough to show a scale-out, not enough to swamp the machine. */
export const LOAD_MAX = 100_000;
export const REQUEST_RATE_MAX = 1000;

/** `wait`: the answer streams until every message is answered (`akspilot load`), rather than a 202 at once. */
export type LoadRequest = { kind: "messages"; count: number; wait: boolean } | { kind: "requests"; count: number; rate: number };

function wholeNumber(v: unknown, field: string, max: number, example: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) {
    const shown = JSON.stringify(v) ?? String(v);
    throw new UserError(`"${field}" must be a whole number from 1 to ${max}, got ${shown.length > 40 ? `${shown.slice(0, 37)}…` : shown}`, `send ${example}`);
  }
  return v;
}

/** `{"messages": N, "wait"?: true}` (a queue blueprint) or `{"requests": N, "rate"?: R}` (a blueprint with a gateway). */
export function parseLoad(body: Record<string, unknown>): LoadRequest {
  const has = (k: string) => body[k] !== undefined;
  if (has("messages") === has("requests"))
    throw new UserError('send either "messages" (a queue blueprint) or "requests" (a blueprint with a gateway)', 'send {"messages": 500} or {"requests": 1000}');
  if (has("wait") && (typeof body.wait !== "boolean" || has("requests")))
    throw new UserError(
      `"wait" must be true or false, with "messages" only; got ${JSON.stringify(body.wait)?.slice(0, 40) ?? String(body.wait)}`,
      'send {"messages": 500, "wait": true}',
    );
  if (has("messages")) return { kind: "messages", count: wholeNumber(body.messages, "messages", LOAD_MAX, '{"messages": 500}'), wait: body.wait === true };
  const count = wholeNumber(body.requests, "requests", LOAD_MAX, '{"requests": 1000}');
  const rate = has("rate") ? wholeNumber(body.rate, "rate", REQUEST_RATE_MAX, '{"requests": 1000, "rate": 100}') : 100;
  return { kind: "requests", count, rate };
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/**
 * The control API's background work: one request burst and one drill at a time at most, each stopped
 * (and awaited) when the API closes.
 */
export class ControlActions {
  private readonly stop = new AbortController();
  private readonly running = new Set<Promise<unknown>>();
  private burst?: Promise<void>;
  private drill?: Promise<void>;

  constructor(
    private readonly rt: LocalRuntime,
    private readonly self: { url: () => string; token: string },
  ) {}

  private event(type: "Normal" | "Warning", object: string, reason: string, message: string): void {
    this.rt.events.record(type, object, reason, message, undefined, this.rt.primary.name);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    void p.finally(() => this.running.delete(p)).catch(() => undefined);
    return p;
  }

  /** `requests` at the gateway URL at `rate` per second, counted like the drill's load; the outcome is an event. */
  requests(count: number, rate: number): { gatewayUrl: string; requests: number; rate: number } {
    const url = this.rt.gatewayUrl;
    if (!url) throw new UserError(`blueprint ${this.rt.blueprint.name} has no gateway to send requests to`, 'send {"messages": N} to a queue blueprint');
    if (this.burst) throw new UserError("a request burst is already running", "wait for its LoadBurstDone event");
    const object = `gateway/${this.rt.services.find((s) => s.type === "LoadBalancer")?.name ?? "gateway"}`;
    this.event("Normal", object, "LoadBurst", `${count} request(s) at ${rate}/s to ${url} (from the control API)`);
    this.burst = this.track(
      (async () => {
        const load = startLoad(url, rate, 2000);
        const until = performance.now() + (count / rate) * 1000;
        while (performance.now() < until && !this.stop.signal.aborted) await new Promise((r) => setTimeout(r, Math.min(100, until - performance.now())));
        const samples = (await load.stop()).slice(0, count);
        const failed = samples.filter((s) => !s.ok);
        const kinds: Record<string, number> = {};
        for (const s of failed) kinds[s.why ?? "error"] = (kinds[s.why ?? "error"] ?? 0) + 1;
        const lat = samples.map((s) => s.end - s.start).sort((a, b) => a - b);
        this.event(
          failed.length ? "Warning" : "Normal",
          object,
          "LoadBurstDone",
          `${samples.length} request(s), ${failed.length} failed${
            failed.length
              ? ` (${Object.entries(kinds)
                  .map(([k, n]) => `${n} ${k}`)
                  .join(", ")})`
              : ""
          }; p50 ${r1(percentile(lat, 50))} ms, p99 ${r1(percentile(lat, 99))} ms`,
        );
      })().finally(() => (this.burst = undefined)),
    );
    return { gatewayUrl: url, requests: count, rate };
  }

  /** The node-failure drill of `akspilot drill node-failure`, against this API; progress and report as events. */
  nodeFailure(o: { rate: number; durationSeconds: number }): { rate: number; durationSeconds: number } {
    if (this.drill) throw new UserError("a node-failure drill is already running", "wait for its DrillDone event");
    if (!this.rt.gatewayUrl) throw new UserError(`blueprint ${this.rt.blueprint.name} has no gateway to drill against`, "run `akspilot up resilient-web`");
    const object = "drill/node-failure";
    this.event("Normal", object, "DrillStarted", `node-failure drill: ${o.rate} req/s at ${this.rt.gatewayUrl} (from the control API)`);
    this.drill = this.track(
      (async () => {
        try {
          const report: NodeFailureReport = await nodeFailureDrill({
            runtime: { controlUrl: this.self.url(), token: this.self.token, pid: process.pid, blueprint: this.rt.blueprint.name },
            rate: o.rate,
            durationSeconds: o.durationSeconds,
            requestTimeoutMs: 2000,
            restoreTimeoutSeconds: 300,
            signal: this.stop.signal,
            progress: (line) => this.event("Normal", object, "DrillProgress", line.replace(/^drill node-failure: /, "")),
          });
          const kinds = Object.entries(report.failures)
            .map(([k, n]) => `${n} ${k}`)
            .join(", ");
          this.event(
            report.failed > 0 ? "Warning" : "Normal",
            object,
            "DrillDone",
            `stopped ${report.node} (${report.replicasOnNode} replicas), gateway ${report.mode}: ${report.requests} requests, ${report.failed} failed${kinds ? ` (${kinds})` : ""}; p99 ${report.p99Ms} ms (steady ${report.steadyP99Ms} ms); longest gap ${report.maxGapMs} ms; ${report.replicasRestoredSeconds === null ? "replicas not restored in time" : `replicas restored in ${report.replicasRestoredSeconds} s`}`,
          );
        } catch (e) {
          this.event("Warning", object, "DrillFailed", e instanceof UserError ? e.line() : "the drill failed (AKSPILOT_DEBUG=1 on `up` prints why)");
          if (!(e instanceof UserError) && process.env.AKSPILOT_DEBUG) process.stderr.write(`drill: ${(e as Error).stack}\n`);
        }
      })().finally(() => (this.drill = undefined)),
    );
    return o;
  }

  /** Stops what runs (a drill starts its node again on the way out) and waits for it. */
  async close(): Promise<void> {
    this.stop.abort();
    await Promise.allSettled([...this.running]);
  }
}

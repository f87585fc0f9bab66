import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { ClusterEvent } from "./cluster/events.js";
import { statusSnapshot, type StatusSource } from "./status.js";
import { UserError, errorMessage } from "../errors.js";
import { ControlActions, parseLoad } from "./control-actions.js";

export interface ControlApi {
  url: string;
  token: string;
  close(): Promise<void>;
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Echoed input is cut short: an error message never carries a whole hostile string back. */
function echo(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 64 * 1024) throw new UserError("request body is larger than 64 KiB", "send a small JSON object");
  }
  if (body.trim() === "") return {};
  try {
    const v = JSON.parse(body) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
    return v as Record<string, unknown>;
  } catch {
    throw new UserError("request body is not a JSON object", 'send e.g. {"replicas": 3}');
  }
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") throw new UserError(`"${field}" must be a non-empty string, got ${echo(v)}`, `send {"${field}": "<name>"} or leave it out`);
  return v;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

function segment(raw: string, what: string): string {
  let v: string;
  try {
    v = decodeURIComponent(raw);
  } catch {
    throw new UserError(`the ${what} in the path is not valid percent-encoding`, `encode the ${what} with encodeURIComponent`);
  }
  if (v.trim() === "") throw new UserError(`the ${what} is empty`, `name a ${what}`);
  return v;
}

/**
 * The runtime's control API on 127.0.0.1 (random port). Every request needs `Authorization: Bearer
 * <token>`; the token is random per run and written only to the owner-only runtime file. User errors are
 * 400 with a message; an unexpected failure is 500 with no internal detail.
 */
export async function startControlApi(t: StatusSource, host = "127.0.0.1"): Promise<ControlApi> {
  const token = randomBytes(24).toString("base64url");
  const streams = new Set<ServerResponse>();
  const drains = new Set<AbortController>();
  const rt = t.runtime;
  let selfUrl = "";
  const actions = new ControlActions(rt, { url: () => selfUrl, token });
  const server: Server = createServer((req, res) => {
    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer ") || !sameToken(auth.slice(7), token)) {
      res.writeHead(401, { "content-type": "application/json", "www-authenticate": "Bearer" });
      res.end(JSON.stringify({ error: "missing or wrong bearer token (see .akspilot/runtime.json)" }));
      return;
    }
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.end(JSON.stringify({ error: e instanceof UserError ? e.line() : "internal error" }) + "\n");
        return;
      }
      if (e instanceof UserError) send(res, 400, { error: e.line() });
      else {
        if (process.env.AKSPILOT_DEBUG) process.stderr.write(`control API: ${errorMessage(e)}\n`);
        send(res, 500, { error: "internal error in the runtime (AKSPILOT_DEBUG=1 on `up` prints it)" });
      }
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://control");
    const path = url.pathname;
    if (req.method === "GET" && path === "/v1/status") return send(res, 200, await statusSnapshot(t));
    if (req.method === "GET" && path === "/v1/events") {
      const raw = url.searchParams.get("since");
      const since = raw === null ? 0 : Number(raw);
      if (!Number.isFinite(since)) throw new UserError(`"since" must be a time in ms, got ${echo(raw)}`, "pass since=0 for every event");
      if (url.searchParams.get("follow") !== "1") return send(res, 200, rt.events.list(since));
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
      const write = (e: ClusterEvent) => res.write(`data: ${JSON.stringify(e)}\n\n`);
      for (const e of rt.events.list(since)) write(e);
      const off = rt.events.subscribe(write);
      streams.add(res);
      req.on("close", () => {
        off();
        streams.delete(res);
      });
      return;
    }
    if (req.method === "POST" && path === "/v1/scale") {
      const body = await readJson(req);
      const replicas = body.replicas;
      if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0 || replicas > 1000) {
        throw new UserError(`"replicas" must be a whole number from 0 to 1000, got ${echo(replicas)}`, 'send {"replicas": 3}');
      }
      if (body.pause !== undefined && typeof body.pause !== "boolean") throw new UserError(`"pause" must be true or false, got ${echo(body.pause)}`, 'send {"pause": true}');
      const deployment = optionalString(body, "deployment") ?? rt.primary.deployments.keys().next().value;
      if (!deployment) throw new UserError("this runtime has no Deployment to scale", "check `akspilot status`");
      const cluster = rt.clusterOfDeployment(deployment, optionalString(body, "cluster"));
      if (typeof body.pause === "boolean") t.autoscaler?.setPaused(body.pause);
      cluster.setReplicas(
        deployment,
        replicas,
        "akspilot scale",
        t.autoscaler && !t.autoscaler.isPaused ? "manual; the autoscaler may change it at its next tick (pause it with --pause)" : "manual",
      );
      return send(res, 200, { cluster: cluster.name, deployment, replicas, paused: t.autoscaler?.isPaused ?? false });
    }
    if (req.method === "POST" && path === "/v1/autoscaler") {
      const body = await readJson(req);
      if (typeof body.paused !== "boolean") throw new UserError(`"paused" must be true or false, got ${echo(body.paused)}`, 'send {"paused": false}');
      if (!t.autoscaler) throw new UserError("this runtime has no autoscaler (started with --replicas, or the blueprint has none)", "restart without --replicas");
      t.autoscaler.setPaused(body.paused);
      return send(res, 200, { paused: body.paused });
    }
    const node = /^\/v1\/nodes\/([^/]*)\/([a-z]+)$/.exec(path);
    if (req.method === "POST" && node) {
      const action = node[2]!;
      if (!["stop", "start", "drain", "cordon", "uncordon"].includes(action))
        throw new UserError(`unknown node action "${action.slice(0, 20)}"`, "use stop, start, drain, cordon or uncordon");
      const name = segment(node[1]!, "node name");
      const cluster = rt.clusterOfNode(name);
      if (action === "stop") cluster.stopNode(name);
      else if (action === "start") cluster.startNode(name);
      else if (action === "cordon") cluster.cordon(name, "cordoned by `akspilot node cordon`");
      else if (action === "uncordon") cluster.uncordon(name);
      else {
        // A drain can wait on a PodDisruptionBudget for long: progress streams as NDJSON; closing the
        // request interrupts it (the node stays cordoned, as kubectl leaves it).
        const ac = new AbortController();
        drains.add(ac);
        res.on("close", () => ac.abort());
        res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
        try {
          await cluster.drainNode(name, (line) => res.write(JSON.stringify({ line }) + "\n"), ac.signal);
          res.end(JSON.stringify({ done: true, node: name }) + "\n");
        } finally {
          drains.delete(ac);
        }
        return;
      }
      return send(res, 200, { cluster: cluster.name, node: name, action });
    }
    if (req.method === "POST" && path === "/v1/load") {
      const load = parseLoad(await readJson(req));
      if (load.kind === "messages") {
        if (!t.load) throw new UserError(`blueprint ${rt.blueprint.name} has no queue to load`, rt.gatewayUrl ? 'send {"requests": N} for its gateway' : "run `akspilot up edw`");
        const burst = t.load(load.count);
        if (!load.wait) return send(res, 202, burst.accepted);
        // A caller that waits gets NDJSON: the acceptance at once, then how the burst ended (a large burst can
        // take longer than a client waits for headers).
        res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
        res.write(JSON.stringify({ accepted: burst.accepted }) + "\n");
        const outcome = await burst.done;
        res.end(JSON.stringify(outcome.error ? { error: outcome.error, sent: outcome.sent } : { done: outcome }) + "\n");
        return;
      }
      return send(res, 202, actions.requests(load.count, load.rate));
    }
    if (req.method === "POST" && path === "/v1/drill/node-failure") {
      const body = await readJson(req);
      const num = (k: string, dflt: number, max: number) => {
        const v = body[k] ?? dflt;
        if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || v > max)
          throw new UserError(`"${k}" must be a number above 0 and at most ${max}, got ${echo(v)}`, `send {"${k}": ${dflt}} or leave it out`);
        return v;
      };
      return send(res, 202, actions.nodeFailure({ rate: num("rate", 20, 1000), durationSeconds: num("durationSeconds", 5, 3600) }));
    }
    const own = await t.route?.(req.method ?? "GET", path, () => readJson(req));
    if (own) return send(res, own.code, own.body);
    send(res, 404, { error: `no route ${req.method} ${path.slice(0, 80)}` });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  selfUrl = `http://${host}:${port}`;
  return {
    url: selfUrl,
    token,
    close: async () => {
      // A drill running starts its node again through this API: it is stopped while the API still serves.
      await actions.close();
      for (const d of drains) d.abort();
      for (const s of streams) s.end();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}

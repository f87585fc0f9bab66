import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Cluster } from "./cluster/cluster.js";
import type { ClusterEvent } from "./cluster/events.js";
import { UserError } from "../errors.js";

export interface ControlTarget {
  cluster: Cluster;
  blueprint: string;
  /** Deployment that `scale` applies to by default. */
  deployment: string;
  queueDepth(): Promise<number>;
  autoscaler?: { setPaused(p: boolean): void; readonly isPaused: boolean; readonly lastNotes: Map<string, string>; measured(): { arrivalRate: number; perPodThroughput: number } };
  policy?: string;
}

export interface ControlApi {
  url: string;
  token: string;
  close(): Promise<void>;
}

/** Everything `akspilot status` shows. */
export async function statusSnapshot(t: ControlTarget) {
  const c = t.cluster;
  const now = Date.now();
  return {
    blueprint: t.blueprint,
    policy: t.policy ?? "fixed",
    paused: t.autoscaler?.isPaused ?? false,
    queueDepth: await t.queueDepth().catch(() => null),
    autoscaler: t.autoscaler ? { notes: Object.fromEntries(t.autoscaler.lastNotes), ...t.autoscaler.measured() } : null,
    deployments: [...c.deployments.values()].map((d) => {
      const pods = c.podsOf(d.name);
      return {
        name: d.name,
        desired: d.replicas,
        current: pods.filter((p) => p.phase === "Running").length,
        ready: pods.filter((p) => p.phase === "Running" && p.ready).length,
        pending: pods.filter((p) => p.phase === "Pending").length,
        terminating: pods.filter((p) => p.phase === "Terminating").length,
      };
    }),
    pods: [...c.pods.values()].filter((p) => p.phase !== "Succeeded").map((p) => ({
      name: p.name,
      phase: p.phase,
      ready: p.ready,
      node: p.nodeName ?? null,
      pid: p.pid ?? null,
      restarts: p.restarts,
      inFlight: Number(p.stats.inFlight ?? 0),
      processed: Number(p.stats.processed ?? 0),
      ageSeconds: Math.round((now - p.createdAt) / 1000),
    })),
    nodes: c.liveNodes().map((n) => {
      const room = c.room(n);
      return {
        name: n.name,
        type: n.type.name,
        phase: n.phase,
        pool: n.nodePool ?? null,
        pods: c.podsOn(n.name).length,
        cpuRequestedMillis: n.type.cpuMillis - room.cpuMillis,
        cpuAllocatableMillis: n.type.cpuMillis,
        ageSeconds: Math.round((now - n.createdAt) / 1000),
      };
    }),
    podSeconds: Math.round(c.podSeconds(now)),
    nodeSeconds: Math.round(c.nodeSeconds(now)),
  };
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
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

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

/**
 * The runtime's control API on 127.0.0.1 (random port). Every request needs `Authorization: Bearer
 * <token>`; the token is random per run and written only to the owner-readable runtime file.
 */
export async function startControlApi(t: ControlTarget, host = "127.0.0.1"): Promise<ControlApi> {
  const token = randomBytes(24).toString("base64url");
  const streams = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer ") || !sameToken(auth.slice(7), token)) {
      res.writeHead(401, { "content-type": "application/json", "www-authenticate": "Bearer" });
      res.end(JSON.stringify({ error: "missing or wrong bearer token (see .akspilot/runtime.json)" }));
      return;
    }
    handle(req, res).catch((e: unknown) => {
      if (e instanceof UserError) send(res, 400, { error: e.line() });
      else send(res, 500, { error: (e as Error).message });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://control");
    const path = url.pathname;
    if (req.method === "GET" && path === "/v1/status") return send(res, 200, await statusSnapshot(t));
    if (req.method === "GET" && path === "/v1/events") {
      const since = Number(url.searchParams.get("since") ?? 0) || 0;
      if (url.searchParams.get("follow") !== "1") return send(res, 200, t.cluster.events.list(since));
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
      const write = (e: ClusterEvent) => res.write(`data: ${JSON.stringify(e)}\n\n`);
      for (const e of t.cluster.events.list(since)) write(e);
      const off = t.cluster.events.subscribe(write);
      streams.add(res);
      req.on("close", () => {
        off();
        streams.delete(res);
      });
      return;
    }
    if (req.method === "POST" && path === "/v1/scale") {
      const body = await readJson(req);
      const name = body.deployment === undefined ? t.deployment : String(body.deployment);
      const replicas = body.replicas;
      if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0 || replicas > 1000) {
        throw new UserError(`"replicas" must be a whole number from 0 to 1000, got ${JSON.stringify(replicas)}`, 'send {"replicas": 3}');
      }
      t.cluster.requireDeployment(name);
      if (typeof body.pause === "boolean") t.autoscaler?.setPaused(body.pause);
      t.cluster.setReplicas(name, replicas, "akspilot scale", t.autoscaler && !t.autoscaler.isPaused ? "manual; the autoscaler may change it at its next tick (pause it with --pause)" : "manual");
      return send(res, 200, { deployment: name, replicas, paused: t.autoscaler?.isPaused ?? false });
    }
    if (req.method === "POST" && path === "/v1/autoscaler") {
      const body = await readJson(req);
      if (typeof body.paused !== "boolean") throw new UserError('"paused" must be true or false', 'send {"paused": false}');
      if (!t.autoscaler) throw new UserError("this runtime has no autoscaler (started with --replicas)", "restart without --replicas");
      t.autoscaler.setPaused(body.paused);
      return send(res, 200, { paused: body.paused });
    }
    const node = /^\/v1\/nodes\/([^/]+)\/(stop|start)$/.exec(path);
    if (req.method === "POST" && node) {
      const name = decodeURIComponent(node[1]!);
      if (node[2] === "stop") await t.cluster.stopNode(name);
      else t.cluster.startNode(name);
      return send(res, 200, { node: name, action: node[2] });
    }
    send(res, 404, { error: `no route ${req.method} ${path}` });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    token,
    close: async () => {
      for (const s of streams) s.end();
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
    },
  };
}

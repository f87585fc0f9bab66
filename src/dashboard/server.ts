import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Readable } from "node:stream";
import { UserError } from "../errors.js";
import { clip } from "../util/text.js";
import { authorized, sameToken, sessionCookie } from "./auth.js";
import { Feed } from "./feed.js";
import { PAGE_CSS, PAGE_HTML } from "./page.js";
import type { Push } from "./snapshot.js";

export interface DashboardOptions {
  /** The control API this dashboard reads and drives (over HTTP, like any client). */
  controlUrl: string;
  /** The run's token: the control API's bearer token, and what the page must present. */
  token: string;
  /** 127.0.0.1 unless the user asks for another address. */
  host?: string;
  windowSeconds?: number;
  intervalMs?: number;
  eventCapacity?: number;
}

export interface Dashboard {
  /** The page's URL, without the token (what runtime.json records). */
  url: string;
  /** The URL to open once: it carries the token, which the page trades for a cookie. */
  loginUrl: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host);
}

/** The page's static files, read once at start: all local, nothing fetched from the network. */
function assets(): Map<string, { type: string; body: Buffer }> {
  const require = createRequire(import.meta.url);
  const file = (p: string) => readFileSync(p);
  return new Map([
    ["/", { type: "text/html; charset=utf-8", body: Buffer.from(PAGE_HTML) }],
    ["/assets/app.css", { type: "text/css; charset=utf-8", body: Buffer.from(PAGE_CSS) }],
    ["/assets/app.js", { type: "text/javascript; charset=utf-8", body: file(fileURLToPath(new URL("./client/app.js", import.meta.url))) }],
    ["/assets/markers.js", { type: "text/javascript; charset=utf-8", body: file(fileURLToPath(new URL("./client/markers.js", import.meta.url))) }],
    ["/assets/uplot.js", { type: "text/javascript; charset=utf-8", body: file(require.resolve("uplot/dist/uPlot.iife.min.js")) }],
    ["/assets/uplot.css", { type: "text/css; charset=utf-8", body: file(require.resolve("uplot/dist/uPlot.min.css")) }],
  ]);
}

/** The control API's actions the page may call, under /api instead of /v1. */
const ACTIONS = [
  /^\/api\/scale$/,
  /^\/api\/autoscaler$/,
  /^\/api\/nodes\/[^/]+\/(stop|start|drain|cordon|uncordon)$/,
  /^\/api\/load$/,
  /^\/api\/drill\/node-failure$/,
  // Blue-green (shown only when the status has a blueGreen field).
  /^\/api\/upgrade$/,
  /^\/api\/upgrade\/(rollback|finish)$/,
];

const SECURITY_HEADERS = {
  // Scripts and styles only from this server; no inline script, no framing, no referrer carrying a URL.
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { ...SECURITY_HEADERS, "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/**
 * The live dashboard: a page, its assets, a server-sent-events stream of one snapshot a second (with the
 * history window first, so a reloaded page backfills), and the control API's actions proxied. Every
 * request needs the run's token (cookie or bearer); the token is taken from the URL only once and traded
 * for an HttpOnly, SameSite=Strict cookie.
 */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const host = o.host ?? "127.0.0.1";
  const files = assets();
  const feed = new Feed({
    controlUrl: o.controlUrl,
    token: o.token,
    windowSeconds: o.windowSeconds ?? 900,
    intervalMs: o.intervalMs ?? 1000,
    eventCapacity: o.eventCapacity ?? 1000,
  });
  const streams = new Set<ServerResponse>();
  let port = 0;
  // Cookies are not scoped by port: each run's cookie has its own name, so two runs do not log each other out.
  const cookieName = () => `akspilot_${port}`;
  const origin = () => `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) json(res, 500, { error: "internal error in the dashboard" });
      else res.end();
    });
  });
  server.headersTimeout = 10_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://dashboard");
    // A loopback dashboard answers only to its loopback names: a rebound DNS name gets nothing.
    if (isLoopback(host) && !/^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(req.headers.host ?? "")) return json(res, 403, { error: "unexpected Host header" });
    const given = url.searchParams.get("token");
    if (req.method === "GET" && url.pathname === "/" && given !== null) {
      if (!sameToken(given, o.token)) return json(res, 401, { error: "wrong token (see the URL `akspilot up` printed)" });
      // The token leaves the address bar at once: the page itself is only ever served at "/".
      res.writeHead(303, { ...SECURITY_HEADERS, location: "/", "set-cookie": sessionCookie(cookieName(), o.token) });
      res.end();
      return;
    }
    if (!authorized(req, cookieName(), o.token)) {
      res.writeHead(401, { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", "www-authenticate": "Bearer" });
      res.end("401: open the dashboard URL that `akspilot up` printed (it carries the run's token once)\n");
      return;
    }
    if (req.method === "GET" && files.has(url.pathname)) {
      const f = files.get(url.pathname)!;
      res.writeHead(200, { ...SECURITY_HEADERS, "content-type": f.type });
      res.end(f.body);
      return;
    }
    if (req.method === "GET" && url.pathname === "/api/stream") return stream(req, res);
    if (req.method === "GET" && url.pathname === "/api/history") return json(res, 200, feed.backfill());
    if (req.method === "POST" && ACTIONS.some((re) => re.test(url.pathname))) {
      // A cross-site form cannot send JSON without a preflight this server never grants, nor an Origin of ours.
      if (!(req.headers["content-type"] ?? "").startsWith("application/json")) return json(res, 415, { error: "send application/json" });
      if (req.headers.origin !== undefined && req.headers.origin !== origin()) return json(res, 403, { error: "cross-origin request refused" });
      return proxy(req, res, `/v1${url.pathname.slice("/api".length)}`);
    }
    json(res, 404, { error: `no route ${req.method} ${url.pathname.slice(0, 80)}` });
  }

  function stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/event-stream", connection: "keep-alive" });
    // EventSource reconnects by itself after this delay; the new stream starts with the backfill again.
    res.write(`retry: 1000\nevent: backfill\ndata: ${JSON.stringify(feed.backfill())}\n\n`);
    const off = feed.subscribe((p: Push) => res.write(`event: push\ndata: ${JSON.stringify(p)}\n\n`));
    streams.add(res);
    req.on("close", () => {
      off();
      streams.delete(res);
    });
  }

  async function proxy(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    let body = "";
    for await (const chunk of req) {
      body += chunk;
      if (body.length > 16 * 1024) return json(res, 413, { error: "request body too large" });
    }
    const ac = new AbortController();
    res.on("close", () => ac.abort());
    const asked = `POST ${path}${body.trim() && body.trim() !== "{}" ? ` ${clip(body.trim().replace(/\s+/g, " "), 80)}` : ""}`;
    let r: Response;
    try {
      r = await fetch(`${o.controlUrl}${path}`, { method: "POST", headers: { authorization: `Bearer ${o.token}`, "content-type": "application/json" }, body, signal: ac.signal });
    } catch {
      feed.note("Warning", "ActionFailed", `${asked}: the runtime's control API did not answer`);
      return json(res, 502, { error: "the runtime's control API did not answer (is `akspilot up` still running?)" });
    }
    // Every action shows in the feed with its outcome; a refusal with the control API's own words.
    if (r.ok) feed.note("Normal", "Action", `${asked} → ${r.status}`);
    else {
      const text = await r.text();
      let why = text.trim().slice(0, 300);
      try {
        why = String((JSON.parse(text) as { error?: unknown }).error ?? why);
      } catch {
        /* not JSON: the text as it came */
      }
      feed.note("Warning", "ActionRefused", `${asked} → ${r.status}: ${clip(why, 200)}`);
      res.writeHead(r.status, { ...SECURITY_HEADERS, "content-type": "application/json" });
      res.end(JSON.stringify({ error: why }));
      return;
    }
    res.writeHead(r.status, { ...SECURITY_HEADERS, "content-type": r.headers.get("content-type") ?? "application/json" });
    // A drain streams its progress (NDJSON): it is passed on as it comes.
    if (r.body)
      Readable.fromWeb(r.body as import("node:stream/web").ReadableStream<Uint8Array>)
        .on("error", () => res.end())
        .pipe(res);
    else res.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      reject(new UserError(`the dashboard cannot listen on ${clip(host)} (${e.code ?? e.message})`, "give --host an address of this machine, or leave it out for 127.0.0.1"));
    });
    server.listen(0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  feed.start();
  return {
    url: `${origin()}/`,
    loginUrl: `${origin()}/?token=${encodeURIComponent(o.token)}`,
    close: async () => {
      await feed.stop();
      for (const s of streams) s.end();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}

import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Dispatcher } from "undici";
import { UserError } from "../../errors.js";
import type { GatewaySettings } from "./settings.js";
import { RetryBudget } from "./retry-budget.js";
import { HoldQueue } from "./hold.js";
import { downstreamHeaders, upstreamHeaders } from "./headers.js";
import { UpstreamSet, type EndpointSource, type GatewayEventFn, type Upstream } from "./upstreams.js";
import { Deadlines, type Deadline } from "./deadlines.js";
import { TryHandler } from "./relay.js";

export interface GatewayStats {
  requests: number;
  retries: number;
  /** Requests that waited for a replica (scale from zero). */
  held: number;
  /** Requests waiting for a replica right now. */
  waiting: number;
  /** Retries refused because the retry budget was spent. */
  retriesRefused: number;
  /** Answers the gateway made itself (400, 408, 413, 431, 502, 503, 504), by status. */
  ownAnswers: Record<string, number>;
  endpoints: { pod: string; node: string; port: number; healthy: boolean; ejected: boolean; inFlight: number; ejections: number }[];
}

export interface Gateway {
  readonly port: number;
  readonly url: string;
  stats(): GatewayStats;
  close(): Promise<void>;
}

export interface GatewayOptions {
  settings: GatewaySettings;
  host?: string;
  port?: number;
  onEvent?: GatewayEventFn;
  /**
   * Scale from zero: asks for a replica when a request finds no endpoint, and says whether one is on its
   * way (then the request is held). Without it, such a request gets 503 at once.
   */
  activate?: () => boolean;
  /** Told each request's duration (ms) and whether its answer was a 5xx (the status's recent latency). */
  observe?: (ms: number, failed: boolean) => void;
  /** Narrows the endpoints each try may go to (a weighted split between clusters). */
  route?: (candidates: Upstream[]) => Upstream[];
  /** Told the outcome of every try: the endpoint, whether it answered below 500, its time to headers (ms). */
  observeTry?: (pod: string, ok: boolean, ms: number) => void;
}

/** Safe to send twice (RFC 9110 §9.2.2 idempotent methods that also carry no side effects in practice). */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS"]);
/** Failures that prove the request never reached the app: safe to retry whatever the method. */
const NEVER_REACHED = new Set(["ECONNREFUSED", "UND_ERR_CONNECT_TIMEOUT", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  // No Content-Length and no Transfer-Encoding: the request has no body (RFC 9112 §6.3); skip the stream.
  if (req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return size === 0 ? undefined : Buffer.concat(chunks);
}

/** The request target as a path: origin-form as is, absolute-form reduced to its path; anything else is refused. */
function targetPath(url: string | undefined): string | undefined {
  if (!url) return undefined;
  if (url.startsWith("/")) return url;
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? `${u.pathname}${u.search}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The HTTP gateway in front of a Service's endpoints (the AKS ingress / Application Gateway role):
 * health-checked endpoints (active probes, passive outlier ejection), idempotent requests retried on
 * another endpoint within a per-request budget and the global retry budget, keep-alive pools to the
 * endpoints, and clean answers for what it refuses. Binds 127.0.0.1 unless told otherwise.
 */
export async function startGateway(source: EndpointSource, o: GatewayOptions): Promise<Gateway> {
  const s = o.settings;
  const host = o.host ?? "127.0.0.1";
  const emit: GatewayEventFn = o.onEvent ?? (() => undefined);
  const upstreams = new UpstreamSet(source, s, emit);
  const budget = new RetryBudget(s.retry.budgetPercent, s.retry.minRetries);
  const stats = { requests: 0, retries: 0, held: 0, ownAnswers: {} as Record<string, number> };
  const holding = new HoldQueue(s.hold, emit);
  upstreams.onJoin = (pod) => holding.release(pod);
  upstreams.route = o.route;

  function answer(res: ServerResponse, code: number, why: string, extra: Record<string, string> = {}): void {
    stats.ownAnswers[code] = (stats.ownAnswers[code] ?? 0) + 1;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = `${code} ${STATUS_CODES[code] ?? ""}: ${why}\n`;
    res.writeHead(code, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), "x-akspilot-gateway": "refused", ...extra });
    res.end(body);
  }

  const deadlines = new Deadlines(s.retry.deadlineMs);

  function handle(req: IncomingMessage, res: ServerResponse): void {
    stats.requests++;
    budget.requestStarted();
    const observe = o.observe;
    if (!observe) {
      forward(req, res).catch(() => answer(res, 502, "the gateway failed to forward the request"));
      return;
    }
    const t0 = performance.now();
    forward(req, res)
      .then(() => observe(performance.now() - t0, res.statusCode >= 500))
      .catch(() => answer(res, 502, "the gateway failed to forward the request"));
  }

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const path = targetPath(req.url);
    if (path === undefined) return answer(res, 400, "the request target must be a path", { connection: "close" });
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > s.limits.maxBodyBytes) {
      return answer(res, 413, `the body is larger than ${s.limits.maxBodyBytes} bytes`, { connection: "close" });
    }
    let body: Buffer | undefined;
    if (declared === undefined && req.headers["transfer-encoding"] === undefined)
      req.resume(); // no body: no stream, no await
    else {
      try {
        // Buffered (bounded): a retry must be able to send the same body again.
        body = await readBody(req, s.limits.maxBodyBytes);
      } catch (e) {
        if (e instanceof BodyTooLarge) return answer(res, 413, `the body is larger than ${s.limits.maxBodyBytes} bytes`, { connection: "close" });
        return; // the client went away while sending
      }
    }
    if (o.activate && upstreams.size === 0) {
      const held = await holding.hold(o.activate);
      if (held !== "none") stats.held++;
      if (held === "full") return answer(res, 503, `no ready endpoint and ${s.hold.maxQueue} request(s) already waiting for one`, { "retry-after": "1" });
      if (held === "timeout") return answer(res, 503, `no endpoint became ready within ${s.hold.timeoutMs} ms`, { "retry-after": "1" });
      if (res.destroyed || req.socket.destroyed) return;
    }
    const x = new Exchange(res, method, path, upstreamHeaders(req.rawHeaders, req.socket.remoteAddress ?? ""), body);
    try {
      await tries(x);
    } finally {
      x.finish();
    }
  }

  /** The tries of one request, on one endpoint after another, until one answers or none may be tried. */
  async function tries(x: Exchange): Promise<void> {
    const { res } = x;
    const idempotent = IDEMPOTENT.has(x.method);
    // Tries abandoned because their endpoint stalled cost the app nothing (they were never answered):
    // they do not use up the request's attempts, only its deadline, the retry budget and the endpoints.
    let counted = 0;
    let lastWhy = "";
    for (let attempt = 1; ; attempt++) {
      const up = upstreams.pick(x.tried);
      if (!up) {
        if (attempt === 1) return answer(res, 503, "no healthy endpoint", { "retry-after": "1" });
        return answer(res, 502, `${attempt - 1} endpoint(s) failed, none left to try (last: ${lastWhy})`);
      }
      if (attempt > 1) {
        if (!budget.tryRetry()) return answer(res, 502, `retry budget spent (last failure: ${lastWhy})`);
        stats.retries++;
      }
      (x.tried ??= []).push(up);
      const remaining = s.retry.deadlineMs - (Date.now() - x.started);
      const headersTimeout = Math.max(1, Math.min(s.retry.perTryTimeoutMs, remaining));
      const h = startTry(up, x, idempotent, headersTimeout);
      const outcome = await h.outcome;
      up.starts.delete(h);
      const r = outcome.kind === "response" ? outcome : tryError(h, outcome.error, headersTimeout);
      o.observeTry?.(up.pod, r.kind === "response" && r.status < 500, r.kind === "response" ? r.ms : 0);
      if (x.clientGone) return;
      if (r.kind === "response" || r.code !== "STALLED") counted++;
      const canRetry = counted < s.retry.attempts && !x.deadlinePassed;
      if (r.kind === "response") {
        if (r.status >= 500) {
          up.eject(Date.now(), `answered ${r.status}`);
          if (idempotent && canRetry) {
            lastWhy = `${up.pod} answered ${r.status}`;
            r.discard();
            continue;
          }
        } else up.succeeded(Date.now());
        deadlines.remove(x);
        upstreams.observe(r.ms);
        const relayed = r.relay(res, downstreamHeaders(r.headers));
        if (relayed) await relayed;
        return;
      }
      if (x.deadlinePassed) return answer(res, 504, `no answer within ${s.retry.deadlineMs} ms`);
      up.eject(Date.now(), r.why);
      lastWhy = `${up.pod}: ${r.why}`;
      if (!idempotent && !NEVER_REACHED.has(r.code)) return answer(res, 502, `${lastWhy} (a ${x.method} that may have reached the app is not retried)`);
      if (!canRetry) return answer(res, 502, `${counted} attempt(s) failed (last: ${lastWhy})`);
    }
  }

  /**
   * One request on its way to the endpoints: what each try sends, the endpoints tried, and the two things that
   * end the try in flight — the request's deadline (one shared timer for all requests) and the client leaving.
   */
  class Exchange implements Deadline {
    expiresAt = 0;
    prev: Deadline | undefined = undefined;
    next: Deadline | undefined = undefined;
    queued = false;
    readonly started = Date.now();
    tried: Upstream[] | undefined = undefined;
    /** The try in flight (one at a time). */
    current: TryHandler | undefined = undefined;
    deadlinePassed = false;
    clientGone = false;

    constructor(
      readonly res: ServerResponse,
      readonly method: string,
      readonly path: string,
      readonly headers: string[],
      readonly body: Buffer | undefined,
    ) {
      deadlines.add(this);
      res.on("close", this.onClose);
    }

    expire(): void {
      this.deadlinePassed = true;
      this.current?.abort("deadline");
    }

    private readonly onClose = (): void => {
      if (!this.res.writableFinished) {
        this.clientGone = true;
        this.current?.abort("client");
      }
    };

    finish(): void {
      deadlines.remove(this);
    }
  }

  /**
   * One try on one endpoint, dispatched straight to its keep-alive pool; its in-flight count lasts until
   * the endpoint's answer has ended (relayed or dropped) or failed. Its `outcome` says how it went.
   */
  function startTry(up: Upstream, x: Exchange, idempotent: boolean, headersTimeout: number): TryHandler {
    up.inFlight++;
    let finished = false;
    const h = new TryHandler(
      performance.now(),
      () => {
        if (finished) return;
        finished = true;
        up.inFlight--;
      },
      idempotent,
    );
    x.current = h;
    up.starts.add(h);
    up.pool.dispatch({ path: x.path, method: x.method as Dispatcher.HttpMethod, headers: x.headers, body: x.body, headersTimeout }, h);
    return h;
  }

  /** A failed try as the retry loop and the client's answer name it. */
  function tryError(h: TryHandler, error: Error & { code?: string }, headersTimeout: number): { kind: "error"; code: string; why: string } {
    const code = h.abortedBy === "stalled" ? "STALLED" : (error.code ?? "ERROR");
    const why =
      code === "STALLED"
        ? "no answer while other endpoints answered"
        : code === "UND_ERR_HEADERS_TIMEOUT"
          ? `no answer within ${headersTimeout} ms`
          : code === "UND_ERR_CONNECT_TIMEOUT"
            ? `connect timed out after ${s.connectTimeoutMs} ms`
            : code === "ECONNREFUSED"
              ? "connection refused"
              : code === "UND_ERR_SOCKET" || code === "ECONNRESET"
                ? "connection reset"
                : `${code}`;
    return { kind: "error", code, why };
  }

  const l = s.limits;
  const server: Server = createServer(
    {
      maxHeaderSize: l.maxHeaderBytes,
      headersTimeout: l.headersTimeoutMs,
      requestTimeout: l.requestTimeoutMs,
      keepAliveTimeout: l.idleTimeoutMs,
      // Node checks the two timeouts above on this period (30 s by default): a tighter check keeps them honest.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, l.headersTimeoutMs / 4)),
    },
    (req, res) => {
      handle(req, res);
    },
  );
  // A connection that says nothing at all is closed after the idle time.
  server.timeout = l.idleTimeoutMs;
  const sockets = new Set<Socket>();
  server.on("connection", (sock: Socket) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
  });
  // What Node's parser refuses: too-large headers (431), too slow (408), malformed (400) — one clean answer, then close.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    const code = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : err.code === "ECONNRESET" ? 0 : 400;
    if (code === 0 || !socket.writable) return socket.destroy();
    stats.ownAnswers[code] = (stats.ownAnswers[code] ?? 0) + 1;
    const body = `${code} ${STATUS_CODES[code]}\n`;
    socket.end(
      `HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nx-akspilot-gateway: refused\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      void upstreams.close();
      reject(
        e.code === "EADDRINUSE" || e.code === "EACCES"
          ? new UserError(
              `cannot listen on ${host}:${o.port}: ${e.code === "EADDRINUSE" ? "the port is in use" : "permission denied"}`,
              "choose another port (or leave it out for a free one)",
            )
          : e,
      );
    });
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${host}:${port}`,
    stats: () => ({
      requests: stats.requests,
      retries: stats.retries,
      held: stats.held,
      waiting: holding.size,
      retriesRefused: budget.refused,
      ownAnswers: { ...stats.ownAnswers },
      endpoints: upstreams.list().map((u) => ({
        pod: u.pod,
        node: u.node,
        port: u.port,
        healthy: u.healthy,
        ejected: u.probation || Date.now() < u.ejectedUntil,
        inFlight: u.inFlight,
        ejections: u.ejections,
      })),
    }),
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const sock of sockets) sock.destroy();
      });
      await upstreams.close();
      deadlines.close();
    },
  };
}

import type { IncomingMessage, ServerResponse } from "node:http";
import { Pool, type Dispatcher } from "undici";

/**
 * The storage front's hop to Azurite: one keep-alive undici pool per backend origin, each request
 * dispatched with a handler that writes the answer straight to the client's response. Against
 * http.request and two pipes, this makes no ClientRequest, no IncomingMessage, no header object and no
 * stream per request; an answer that arrives whole (the usual case: queue and table answers are small) is
 * sent to the client in one write, head and body together (one TLS record instead of two or three).
 */

/** Answers larger than this are streamed to the client as they come instead of sent in one write. */
const WHOLE_ANSWER_MAX = 64 * 1024;

/** Hop-by-hop headers of Azurite's answer: about the front's pooled connection, not the client's. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"]);

export interface RelayRequest {
  method: string;
  /** Path and query at the backend. */
  path: string;
  headers: Record<string, string | string[]>;
  /** A body read already (a rewritten table batch), else the client's request is streamed when it has one. */
  body?: Buffer;
}

export class StorageRelay {
  private readonly pools = new Map<string, Pool>();

  private pool(origin: string): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      // Up to 64 connections to Azurite: the front's own concurrency, one process serving every pod.
      p = new Pool(origin, { connections: 64, keepAliveTimeout: 10_000, pipelining: 1 });
      this.pools.set(origin, p);
    }
    return p;
  }

  /** Relays one request; `onFail` answers the client when Azurite could not be reached before any answer. */
  relay(origin: string, r: RelayRequest, req: IncomingMessage, res: ServerResponse, onFail: () => void): void {
    const hasBody = r.body !== undefined || req.headers["transfer-encoding"] !== undefined || (req.headers["content-length"] ?? "0") !== "0";
    const body = r.body ?? (hasBody ? req : null);
    this.pool(origin).dispatch({ origin, path: r.path, method: r.method as Dispatcher.HttpMethod, headers: r.headers, body }, new RelayHandler(res, onFail));
  }

  async close(): Promise<void> {
    const ps = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(ps.map((p) => p.destroy().catch(() => undefined)));
  }
}

/** One relayed request: Azurite's answer (raw headers and chunks from undici) to the client's response. */
class RelayHandler implements Dispatcher.DispatchHandler {
  private status = 0;
  private headers: string[] = [];
  private hasLength = false;
  private chunks: Buffer[] = [];
  private size = 0;
  private streaming = false;
  private resume?: () => void;
  private waitingDrain = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly onFail: () => void,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    // The client left: Azurite's work for it stops too.
    this.res.once("close", () => {
      if (!this.res.writableFinished) abort(new Error("client gone"));
    });
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    if (status < 200) return true; // informational: the real answer follows
    this.status = status;
    this.resume = resume;
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toString("latin1");
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower)) continue;
      if (lower === "content-length") this.hasLength = true;
      out.push(name, raw[i + 1]!.toString("latin1"));
    }
    this.headers = out;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (!this.streaming) {
      this.chunks.push(chunk);
      this.size += chunk.length;
      if (this.size <= WHOLE_ANSWER_MAX) return true;
      // A large answer (a blob download): head and what came so far now, the rest as it comes.
      this.streaming = true;
      this.res.writeHead(this.status, this.headers);
      const pending = this.chunks;
      this.chunks = [];
      let ok = true;
      for (const c of pending) ok = this.res.write(c);
      return ok || this.waitDrain();
    }
    return this.res.write(chunk) || this.waitDrain();
  }

  private waitDrain(): false {
    if (!this.waitingDrain) {
      this.waitingDrain = true;
      this.res.once("drain", () => {
        this.waitingDrain = false;
        this.resume?.();
      });
    }
    return false;
  }

  onComplete(): void {
    if (this.streaming) {
      this.res.end();
      return;
    }
    const c = this.chunks;
    const body = c.length === 0 ? undefined : c.length === 1 ? c[0] : Buffer.concat(c);
    // The whole answer is here: a chunked one goes on with its length, in the same single write.
    if (!this.hasLength && body) this.headers.push("content-length", String(body.length));
    this.res.writeHead(this.status, this.headers);
    this.res.end(body);
  }

  onError(): void {
    if (!this.res.headersSent && !this.streaming) this.onFail();
    else this.res.destroy();
  }
}

import type { ServerResponse } from "node:http";
import type { Dispatcher } from "undici";

/** What one try on an endpoint came to: its answer's head (the body follows through `relay`), or a failure. */
export type TryOutcome =
  | {
      kind: "response";
      status: number;
      /** undici's raw [name, value, …] list. */
      headers: Buffer[];
      /** Time to the answer's headers. */
      ms: number;
      /**
       * Sends the answer to the client: the head given, then the body as it comes (with back-pressure). Settles
       * when the endpoint's answer has ended or failed; undefined when it is already over (the usual case).
       */
      relay(res: ServerResponse, headers: string[]): Promise<void> | undefined;
      /** Reads the rest of the answer and drops it (the connection stays reusable). */
      discard(): void;
    }
  | { kind: "error"; error: Error & { code?: string } };

const noop = () => undefined;

/** The reason a try is ended by the gateway (deadline, client gone, endpoint stalled). */
function abortedError(): Error & { code: string } {
  return Object.assign(new Error("request aborted"), { code: "UND_ERR_ABORTED" });
}

/** Why the gateway ended a try itself. */
export type AbortCause = "deadline" | "client" | "stalled";

/**
 * One try as an undici dispatch handler, straight from the endpoint's socket to the client's response:
 * no body stream, no parsed header object and no promise per chunk, as `request()` would make. Body
 * chunks that arrive before the caller has decided what to do with the answer (they usually come with
 * the headers, in the same read) are kept until then. `onEnd` runs once, when the endpoint's part is over.
 * It is also the try's entry among its endpoint's in-flight tries (`at`, and `abandon` when a stalled
 * endpoint's idempotent tries are moved elsewhere), so a try costs one object besides undici's own.
 */
export class TryHandler implements Dispatcher.DispatchHandler {
  readonly outcome: Promise<TryOutcome>;
  /** When the try started (ms since the epoch), for stall detection. */
  readonly at = Date.now();
  /** Set when the gateway ended the try itself, and why (the deadline or the client leaving outrank a stall). */
  abortedBy: AbortCause | undefined;
  /** Present for idempotent tries only: ends the try so that it is retried elsewhere. */
  readonly abandon: (() => void) | undefined;
  private settle: (o: TryOutcome) => void = noop;
  private abortFn?: (err: Error) => void;
  private abortReason?: Error;
  private headersSeen = false;
  private chunks: Buffer[] | undefined = [];
  private sink?: ServerResponse;
  private discarding = false;
  private ended = false;
  private failed = false;
  private resumeFn?: () => void;
  private finish: () => void = noop;
  private drainWait = false;
  private status = 0;

  constructor(
    private readonly t0: number,
    private readonly onEnd: () => void,
    idempotent: boolean,
  ) {
    this.outcome = new Promise<TryOutcome>((r) => (this.settle = r));
    this.abandon = idempotent ? () => this.abort("stalled") : undefined;
  }

  /** Ends the try (deadline, client gone, endpoint stalled); before it is sent, as soon as it would be. */
  abort(cause: AbortCause): void {
    if (cause !== "stalled" || this.abortedBy === undefined) this.abortedBy = cause;
    const reason = abortedError();
    if (this.abortFn) this.abortFn(reason);
    else this.abortReason ??= reason;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.abortReason) abort(this.abortReason);
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    if (status < 200) return true; // an informational answer: the real one follows
    this.headersSeen = true;
    this.status = status;
    this.resumeFn = resume;
    this.settle({ kind: "response", status, headers: raw, ms: performance.now() - this.t0, relay: (res, h) => this.relay(res, h), discard: () => this.discard() });
    return true;
  }

  onData(chunk: Buffer): boolean {
    const sink = this.sink;
    if (sink) {
      if (sink.write(chunk)) return true;
      if (!this.drainWait) {
        this.drainWait = true;
        sink.once("drain", () => {
          this.drainWait = false;
          this.resumeFn?.();
        });
      }
      return false;
    }
    if (!this.discarding) this.chunks!.push(chunk);
    return true;
  }

  onComplete(): void {
    this.ended = true;
    this.onEnd();
    if (this.sink) {
      this.sink.end();
      this.finish();
    }
  }

  onError(err: Error): void {
    this.onEnd();
    if (!this.headersSeen) {
      this.settle({ kind: "error", error: err });
      return;
    }
    this.failed = true;
    this.sink?.destroy();
    this.finish();
  }

  private relay(res: ServerResponse, headers: string[]): Promise<void> | undefined {
    if (this.failed) {
      res.destroy();
      return undefined;
    }
    res.writeHead(this.status, headers);
    const chunks = this.chunks!;
    this.chunks = undefined;
    if (this.ended) {
      // The whole answer is here already (the usual case for small answers): one write.
      res.end(chunks.length === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
      return undefined;
    }
    this.sink = res;
    for (const c of chunks) res.write(c);
    return new Promise<void>((r) => (this.finish = r));
  }

  private discard(): void {
    this.discarding = true;
    this.chunks = [];
  }
}

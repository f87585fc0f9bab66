import type { HttpClient } from "@azure/core-rest-pipeline";
import { createSecureContext } from "node:tls";
import { HttpsProxyAgent } from "hpagent";

/**
 * The Azure SDK's proxy policy gives each HTTPS request a tunnelling agent without keep-alive: every call
 * opens a new CONNECT tunnel and does a full TLS handshake (and turning keep-alive on in that agent does
 * not help: its pool is named per call, so released sockets are never reused). This module gives our
 * clients one shared keep-alive tunnelling agent instead, for exactly the requests the SDK would send
 * through a proxy. With no proxy in the environment (as on AKS) nothing changes.
 */

/** The proxy and bypass list as the SDK's proxy policy reads them from the environment. */
export interface ProxyRule {
  proxyUrl: URL;
  /** NO_PROXY patterns: a host, or `.domain` for the domain and its subdomains. */
  noProxy: string[];
}

/** An upper-case variable, else its lower-case form (the SDK's order). */
function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return env[name] || env[name.toLowerCase()] || undefined;
}

/** HTTPS_PROXY, else ALL_PROXY, else HTTP_PROXY, with NO_PROXY; undefined without a (valid) proxy URL. */
export function proxyRuleFromEnv(env: NodeJS.ProcessEnv = process.env): ProxyRule | undefined {
  const raw = envValue(env, "HTTPS_PROXY") || envValue(env, "ALL_PROXY") || envValue(env, "HTTP_PROXY");
  if (!raw) return undefined;
  let proxyUrl: URL;
  try {
    proxyUrl = new URL(raw);
  } catch {
    // The SDK fails such requests itself with its own message; leave them to it.
    return undefined;
  }
  const noProxy = (envValue(env, "NO_PROXY") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  return { proxyUrl, noProxy };
}

/** The SDK's NO_PROXY match: `.foo.com` matches foo.com and its subdomains; anything else the exact host name. */
export function isBypassed(hostname: string, noProxy: readonly string[]): boolean {
  return noProxy.some((p) => (p.startsWith(".") ? hostname.endsWith(p) || hostname === p.slice(1) : hostname === p));
}

/** Whether the SDK would send this HTTPS request through the rule's proxy (plain HTTP is left to the SDK). */
export function tunnelsThroughProxy(url: string, rule: ProxyRule): boolean {
  const u = new URL(url);
  return u.protocol === "https:" && !isBypassed(u.hostname, rule.noProxy);
}

/**
 * Idle tunnels are dropped after this long. Node's agent shortens it to a server's `Keep-Alive: timeout=`
 * hint (less a second), so a tunnel is not reused just as a Node front closes it.
 */
const IDLE_TUNNEL_MS = 30_000;

/**
 * Calls in flight at once to one origin through the proxy, hence tunnels open to it. Each new tunnel costs a
 * CONNECT and a full TLS handshake on both ends; a burst of parallel calls (a batch of 32 deletes from each of
 * several workers) would otherwise open a tunnel per call in flight. Calls beyond it wait their turn (the
 * calls per message are the same); 64 keeps two batches of 32 on the wire at once. The agent's own
 * `maxSockets` cannot do this: it counts a tunnel only once its CONNECT has been answered, so a burst in
 * one tick opens a tunnel per call, and the agent then closes the surplus as each call ends.
 */
export const MAX_TUNNELS_PER_ORIGIN = 64;

/** At most `limit` calls at once; the rest wait in order, and a waiting call that is aborted leaves the line. */
export class CallGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  /** Calls waiting for their turn. */
  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(signal: AbortSignalLike | undefined, call: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await this.turn(signal);
    try {
      return await call();
    } finally {
      // Hand the slot to the next in line, or give it back.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  private turn(signal: AbortSignalLike | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError());
        return;
      }
      const go = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(go);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortError());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(go);
    });
  }
}

/** What the SDK's abort signal offers (its own type, not the DOM's). */
type AbortSignalLike = NonNullable<Parameters<HttpClient["sendRequest"]>[0]["abortSignal"]>;

/** The error the SDK's own HTTP client throws for an aborted call (its retry policy knows it by name). */
function abortError(): Error {
  return Object.assign(new Error("The operation was aborted."), { name: "AbortError" });
}

const gates = new Map<string, CallGate>();

/** The gate of one origin (`host:port`), shared by every client of the process. */
export function originGate(host: string): CallGate {
  let g = gates.get(host);
  if (!g) {
    g = new CallGate(MAX_TUNNELS_PER_ORIGIN);
    gates.set(host, g);
  }
  return g;
}

const agents = new Map<string, HttpsProxyAgent>();

/** One keep-alive tunnelling agent per proxy URL, shared by every client of the process. */
export function sharedTunnelAgent(proxyUrl: URL): HttpsProxyAgent {
  let agent = agents.get(proxyUrl.href);
  if (!agent) {
    // TLS to the origin goes through https.Agent's own connect with no `ca`: Node's default store,
    // which holds NODE_EXTRA_CA_CERTS (the local CA). One secure context made here serves every tunnel:
    // without it, tls.connect builds a new one (and loads the trust store into it) per connection.
    // 256 free sockets is Node's default, as the SDK's own keep-alive agent has for a direct endpoint.
    agent = new HttpsProxyAgent({
      proxy: proxyUrl,
      keepAlive: true,
      keepAliveMsecs: 1000,
      maxFreeSockets: 256,
      timeout: IDLE_TUNNEL_MS,
      scheduling: "lifo",
      secureContext: createSecureContext(),
    });
    agents.set(proxyUrl.href, agent);
  }
  return agent;
}

/**
 * Wraps the last step of an SDK pipeline (after its proxy policy): a request the SDK would tunnel through
 * the environment's proxy gets the shared keep-alive agent in place of the policy's one-shot agent, and waits
 * its turn at its origin's gate (MAX_TUNNELS_PER_ORIGIN in flight). Our clients set no agent of their own, so
 * the only agent replaced is the proxy policy's.
 */
export function proxyKeepAliveHttpClient(inner: HttpClient, env: NodeJS.ProcessEnv = process.env): HttpClient {
  const rule = proxyRuleFromEnv(env);
  if (!rule) return inner;
  return {
    sendRequest(req) {
      if (req.proxySettings || !tunnelsThroughProxy(req.url, rule)) return inner.sendRequest(req);
      req.agent = sharedTunnelAgent(rule.proxyUrl);
      return originGate(new URL(req.url).host).run(req.abortSignal, () => inner.sendRequest(req));
    },
  };
}

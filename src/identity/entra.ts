import { randomUUID } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, SignJWT, type JWTPayload } from "jose";
import { ClusterIssuer, identityDir } from "./issuer.js";
import { KeyRing } from "./keys.js";
import { isLocalTenant, LOCAL_TENANT_ID, RecordCache, TOKEN_EXCHANGE_AUDIENCE, type IdentityRecord } from "./records.js";

/** Access tokens live one hour by default (Entra's default for app tokens is 60–90 minutes). */
export const ACCESS_TOKEN_TTL_SECONDS = 3600;
/** Clock skew Entra tolerates on a client assertion's nbf/exp. */
const SKEW_SECONDS = 300;

/** Clock skew the services tolerate on an access token's exp and nbf. */
const CLOCK_TOLERANCE_SECONDS = 5;
/** Verified access tokens remembered at most (one per identity and resource is the usual need). */
const VERIFIED_TOKENS_MAX = 1024;

interface VerifiedToken {
  claims: AccessClaims;
  kid: string;
}

/** The time checks jwtVerify makes, with its errors, for a token whose signature was already checked. */
function checkLifetime(claims: JWTPayload, nowS: number): void {
  if (typeof claims.exp === "number" && claims.exp <= nowS - CLOCK_TOLERANCE_SECONDS) {
    throw new errors.JWTExpired('"exp" claim timestamp check failed', claims, "exp", "check_failed");
  }
  if (typeof claims.nbf === "number" && claims.nbf > nowS + CLOCK_TOLERANCE_SECONDS) {
    throw new errors.JWTClaimValidationFailed('"nbf" claim timestamp check failed', claims, "nbf", "check_failed");
  }
}

export const STS_ISSUER = (tenant: string) => `https://sts.windows.net/${tenant}/`;

/** Entra's error response: the AADSTS code leads the description, and is repeated in error_codes. */
export class EntraError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly code: number,
    readonly description: string,
  ) {
    super(`AADSTS${code}: ${description}`);
    this.name = "EntraError";
  }

  body(): Record<string, unknown> {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = new Date()
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d+Z$/, "Z");
    return {
      error: this.error,
      error_description: `AADSTS${this.code}: ${this.description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [this.code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${this.code}`,
    };
  }
}

/** What a verified access token says about its caller. */
export interface AccessClaims extends JWTPayload {
  oid: string;
  appid: string;
  tid: string;
}

export interface TokenServiceOptions {
  root: string;
  accessTokenTtlSeconds?: number;
  /** Clock skew allowed on an assertion's nbf/exp (Entra's five minutes unless a test asks for less). */
  assertionSkewSeconds?: number;
  now?: () => number;
}

/**
 * A token endpoint shaped like Entra's v2 endpoint for the local target: client credentials with a
 * client assertion (a projected service-account token) are exchanged for an access token of the managed
 * identity whose federated credential matches the assertion's issuer, subject and audience. It verifies
 * the assertion's signature with the cluster issuer's keys and answers with Entra's own errors.
 */
export class EntraTokenService {
  private readonly records: RecordCache;
  private sts?: KeyRing;
  private readonly issuers = new Map<string, { at: number; issuer: ClusterIssuer }>();
  private readonly now: () => number;
  /** Successful exchanges (a figure for status and benchmarks). */
  issued = 0;
  /** Access tokens already verified, by audiences and exact text (bounded: VERIFIED_TOKENS_MAX). */
  private readonly verified = new Map<string, VerifiedToken>();
  private jwks?: { kids: string; set: ReturnType<typeof createLocalJWKSet> };

  constructor(private readonly o: TokenServiceOptions) {
    this.records = new RecordCache(o.root);
    this.now = o.now ?? Date.now;
  }

  async signingRing(): Promise<KeyRing> {
    return (this.sts ??= await KeyRing.open(join(identityDir(this.o.root), "sts.json")));
  }

  /** The issuer of the cluster whose OIDC URL is `url`, with its keys as on disk now. */
  async issuerFor(url: string): Promise<ClusterIssuer | undefined> {
    const cluster = this.records.get().clusters.find((c) => c.issuerUrl === url);
    if (!cluster) return undefined;
    const path = join(identityDir(this.o.root), "issuers", `${cluster.name}.json`);
    const at = existsSync(path) ? statSync(path).mtimeMs : -1;
    const hit = this.issuers.get(cluster.name);
    if (hit && hit.at === at) return hit.issuer;
    const issuer = await ClusterIssuer.open(this.o.root, cluster);
    this.issuers.set(cluster.name, { at: existsSync(path) ? statSync(path).mtimeMs : -1, issuer });
    return issuer;
  }

  /**
   * Verifies an access token this service issued for one of `audiences`; throws on anything else (jose's
   * errors: ERR_JWT_EXPIRED for an expired token). A client sends the same token on every request until it
   * expires, so a token whose signature and claims passed is remembered by its exact text: later uses
   * check only what can change, that its signing key is still published (a rotation that drops the key
   * refuses it) and the clock (exp and nbf, as jwtVerify does).
   */
  async verifyAccessToken(token: string, audiences: string[]): Promise<AccessClaims> {
    const ring = await this.signingRing();
    const key = `${audiences.join(" ")}\n${token}`;
    const hit = this.verified.get(key);
    if (hit) {
      if (ring.publishes(hit.kid)) {
        try {
          checkLifetime(hit.claims, Math.floor(this.now() / 1000));
          return hit.claims;
        } catch (e) {
          this.verified.delete(key);
          throw e;
        }
      }
      this.verified.delete(key);
    }
    const { payload, protectedHeader } = await jwtVerify(token, this.keySet(ring), {
      audience: audiences,
      currentDate: new Date(this.now()),
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    if (typeof payload.oid !== "string" || typeof payload.appid !== "string" || typeof payload.iss !== "string" || !payload.iss.startsWith("https://sts.windows.net/")) {
      throw new Error("not an access token of the local token service");
    }
    this.remember(key, { claims: payload as AccessClaims, kid: protectedHeader.kid ?? "" });
    return payload as AccessClaims;
  }

  /** The JWKS of the signing ring, rebuilt only when its keys change. */
  private keySet(ring: KeyRing): ReturnType<typeof createLocalJWKSet> {
    const jwks = ring.jwks();
    const kids = jwks.keys.map((k) => k.kid).join(",");
    if (this.jwks?.kids !== kids) this.jwks = { kids, set: createLocalJWKSet(jwks) };
    return this.jwks.set;
  }

  private remember(key: string, v: VerifiedToken): void {
    if (this.verified.size >= VERIFIED_TOKENS_MAX) {
      const nowS = Math.floor(this.now() / 1000);
      for (const [k, t] of this.verified) if ((t.claims.exp ?? 0) <= nowS - CLOCK_TOLERANCE_SECONDS) this.verified.delete(k);
      // Still full: the oldest go first (a Map iterates in insertion order).
      for (const k of this.verified.keys()) {
        if (this.verified.size < VERIFIED_TOKENS_MAX) break;
        this.verified.delete(k);
      }
    }
    this.verified.set(key, v);
  }

  /** The exchange itself: form fields in, token response out (or an EntraError). */
  async exchange(tenant: string, form: URLSearchParams): Promise<Record<string, unknown>> {
    if (!isLocalTenant(tenant)) {
      throw new EntraError(
        400,
        "invalid_request",
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
    }
    const grant = form.get("grant_type");
    if (grant !== "client_credentials") {
      throw new EntraError(400, "unsupported_grant_type", 70003, `The app requested an unsupported grant type '${grant ?? ""}'.`);
    }
    const clientId = form.get("client_id") ?? "";
    if (!clientId) throw new EntraError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.");
    const scope = form.get("scope") ?? "";
    if (!scope) throw new EntraError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.");
    const resource = resourceOfScope(scope);
    if (!resource)
      throw new EntraError(
        400,
        "invalid_scope",
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );

    const records = this.records.get();
    const identity = records.identities.find((i) => i.clientId.toLowerCase() === clientId.toLowerCase());
    if (!identity) {
      throw new EntraError(
        400,
        "unauthorized_client",
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    if (form.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || !form.get("client_assertion")) {
      throw new EntraError(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    const assertion = form.get("client_assertion")!;
    let claims: JWTPayload;
    try {
      decodeProtectedHeader(assertion);
      claims = decodeJwt(assertion);
    } catch {
      throw new EntraError(400, "invalid_request", 50027, "JWT token is invalid or malformed.");
    }
    const nowS = Math.floor(this.now() / 1000);
    const skew = this.o.assertionSkewSeconds ?? SKEW_SECONDS;
    if (typeof claims.exp !== "number" || nowS - skew >= claims.exp || (typeof claims.nbf === "number" && nowS + skew < claims.nbf)) {
      const at = (s?: number) => (s === undefined ? "unknown" : new Date(s * 1000).toISOString().replace(/\.\d+Z$/, "Z"));
      throw new EntraError(
        401,
        "invalid_client",
        700024,
        `Client assertion is not within its valid time range. Current time: ${at(nowS)}, assertion valid from ${at(claims.nbf ?? claims.iat)}, expiry time of assertion ${at(claims.exp)}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
      );
    }
    const aud = Array.isArray(claims.aud) ? claims.aud : claims.aud ? [claims.aud] : [];
    const mine = records.federated.filter((f) => f.identity.toLowerCase() === identity.name.toLowerCase());
    const match = mine.find((f) => f.issuer === claims.iss && f.subject === claims.sub && f.audiences.some((a) => aud.includes(a)));
    if (!match) {
      throw new EntraError(
        400,
        "invalid_request",
        70021,
        `No matching federated identity record found for presented assertion. Assertion Issuer: '${claims.iss ?? ""}'. Assertion Subject: '${claims.sub ?? ""}'. Assertion Audience: '${aud.join(",")}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
      );
    }
    const issuer = await this.issuerFor(match.issuer);
    try {
      if (!issuer) throw new Error("no keys");
      await compactVerify(assertion, createLocalJWKSet(issuer.ring.jwks()));
    } catch {
      throw new EntraError(
        401,
        "invalid_client",
        700027,
        "Client assertion failed signature validation. Trace the key identifier (kid) of the assertion against the issuer's published keys.",
      );
    }
    const ttl = this.o.accessTokenTtlSeconds ?? ACCESS_TOKEN_TTL_SECONDS;
    const token = await this.accessToken(identity, resource, ttl, nowS);
    this.issued++;
    return { token_type: "Bearer", expires_in: ttl, ext_expires_in: ttl, access_token: token };
  }

  private async accessToken(identity: IdentityRecord, resource: string, ttl: number, nowS: number): Promise<string> {
    const key = (await this.signingRing()).current;
    return new SignJWT({
      appid: identity.clientId,
      appidacr: "2",
      idp: STS_ISSUER(LOCAL_TENANT_ID),
      idtyp: "app",
      oid: identity.principalId,
      tid: LOCAL_TENANT_ID,
      ver: "1.0",
      xms_mirid: identity.id,
    })
      .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" })
      .setIssuer(STS_ISSUER(LOCAL_TENANT_ID))
      .setSubject(identity.principalId)
      .setAudience(resource)
      .setIssuedAt(nowS)
      .setNotBefore(nowS)
      .setExpirationTime(nowS + ttl)
      .sign(key.privateKey);
  }

  /** HTTP handler: token endpoint, tenant metadata, instance discovery, and each cluster issuer's documents. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = req.headers.host ?? "127.0.0.1";
    const base = `https://${host}`;
    const url = new URL(req.url ?? "/", base);
    const parts = url.pathname.split("/").filter(Boolean);
    try {
      if (req.method === "POST" && parts.length === 4 && parts[1] === "oauth2" && parts[2] === "v2.0" && parts[3] === "token") {
        const form = new URLSearchParams(await readBody(req));
        return json(res, 200, await this.exchange(decodeURIComponent(parts[0]!), form));
      }
      if (req.method === "GET" && parts.join("/") === "common/discovery/instance") {
        const authorize = url.searchParams.get("authorization_endpoint") ?? base;
        const h = new URL(authorize).host;
        return json(res, 200, {
          tenant_discovery_endpoint: `${new URL(authorize).origin}/${LOCAL_TENANT_ID}/v2.0/.well-known/openid-configuration`,
          "api-version": "1.1",
          metadata: [{ preferred_network: h, preferred_cache: h, aliases: [h] }],
        });
      }
      if (req.method === "GET" && parts.length === 4 && parts[1] === "v2.0" && parts[2] === ".well-known" && parts[3] === "openid-configuration") {
        const t = decodeURIComponent(parts[0]!);
        return json(res, 200, {
          issuer: `${base}/${t}/v2.0`,
          token_endpoint: `${base}/${t}/oauth2/v2.0/token`,
          authorization_endpoint: `${base}/${t}/oauth2/v2.0/authorize`,
          jwks_uri: `${base}/${t}/discovery/v2.0/keys`,
          end_session_endpoint: `${base}/${t}/oauth2/v2.0/logout`,
          token_endpoint_auth_methods_supported: ["private_key_jwt"],
          id_token_signing_alg_values_supported: ["RS256"],
          tenant_region_scope: "NA",
        });
      }
      if (req.method === "GET" && parts.length === 4 && parts[1] === "discovery" && parts[2] === "v2.0" && parts[3] === "keys") {
        return json(res, 200, (await this.signingRing()).jwks());
      }
      // Cluster issuers: /<issuer path>/.well-known/openid-configuration and /<issuer path>/openid/v1/jwks.
      const issuerDoc = await this.issuerDocument(url, base);
      if (issuerDoc) return json(res, 200, issuerDoc);
      json(res, 404, { error: "not_found", error_description: `no such endpoint: ${req.method} ${url.pathname}` });
    } catch (e) {
      if (e instanceof EntraError) return json(res, e.status, e.body());
      json(res, 500, { error: "server_error", error_description: "the local token service failed" });
    }
  }

  private async issuerDocument(url: URL, base: string): Promise<Record<string, unknown> | undefined> {
    const p = url.pathname;
    for (const c of this.records.get().clusters) {
      const path = new URL(c.issuerUrl).pathname.replace(/\/?$/, "/");
      if (p === `${path}.well-known/openid-configuration`) {
        return (await this.issuerFor(c.issuerUrl))!.discovery(`${base}${path}openid/v1/jwks`);
      }
      if (p === `${path}openid/v1/jwks`) return (await this.issuerFor(c.issuerUrl))!.ring.jwks();
    }
    return undefined;
  }
}

/** `https://storage.azure.com/.default` → `https://storage.azure.com`; a bare resource is refused as Entra's v2 does. */
export function resourceOfScope(scope: string): string | undefined {
  const first = scope.split(/\s+/).find((s) => s.endsWith("/.default"));
  return first ? first.slice(0, -"/.default".length) : undefined;
}

async function readBody(req: IncomingMessage, limit = 1 << 20): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new EntraError(413, "invalid_request", 90005, "The request body is too large.");
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

export { TOKEN_EXCHANGE_AUDIENCE };

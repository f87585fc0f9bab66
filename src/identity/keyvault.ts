import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { localDir } from "../provisioning/local/ledger.js";
import { LocalSecretVault, VaultError, type SecretProperties } from "../provisioning/local/vault.js";
import type { EntraTokenService } from "./entra.js";
import { LOCAL_TENANT_ID, type RecordCache, type VaultRecord } from "./records.js";

export const KEY_VAULT_RESOURCE = "https://vault.azure.net";

type Permission = "get" | "list" | "set" | "delete" | "recover" | "purge";

/** A decision of the vault plane, for status and `identity explain` (never a value). */
export interface VaultDecision {
  at: number;
  vault: string;
  principalId?: string;
  method: string;
  path: string;
  status: number;
  code?: string;
}

class KvError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly inner?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * Key Vault's secrets data plane (the REST API `@azure/keyvault-secrets` speaks, api-version 7.x) over
 * the local vault files: set, get, list, versions, soft delete, recover and purge. Authentication is
 * Key Vault's challenge: a request without a token gets 401 with a `WWW-Authenticate` naming the tenant
 * and resource; tokens come from the local token service; access policies (the seed's vault has RBAC
 * authorization off) are enforced per operation, with Key Vault's 403.
 */
export class KeyVaultPlane {
  readonly recent: VaultDecision[] = [];

  constructor(
    private readonly root: string,
    private readonly tokens: EntraTokenService,
    private readonly records: RecordCache,
  ) {}

  private vaultRecord(name?: string): VaultRecord {
    const vaults = this.records.get().vaults;
    const v = name ? vaults.find((x) => x.name.toLowerCase() === name.toLowerCase()) : vaults.length === 1 ? vaults[0] : undefined;
    if (!v)
      throw new KvError(
        404,
        "VaultNotFound",
        name
          ? `The vault '${name}' was not found.`
          : "This endpoint serves one vault; more than one (or none) is recorded: use https://<vault>.vault.azure.net/ through the proxy.",
      );
    return v;
  }

  async handle(req: IncomingMessage, res: ServerResponse, vaultName?: string): Promise<void> {
    const url = new URL(req.url ?? "/", "https://vault.invalid");
    const method = req.method ?? "GET";
    const base = `https://${req.headers.host ?? "127.0.0.1"}/`;
    let vault = vaultName ?? "?";
    let principal: string | undefined;
    try {
      const rec = this.vaultRecord(vaultName);
      vault = rec.name;
      const auth = req.headers.authorization;
      if (!auth || !/^Bearer /i.test(auth)) {
        // Key Vault's challenge: the client learns the tenant and resource, then asks for a token.
        for await (const _ of req) {
          /* drain the body, if any */
        }
        throw new KvError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", undefined, {
          "www-authenticate": `Bearer authorization="https://login.microsoftonline.com/${LOCAL_TENANT_ID}", resource="${KEY_VAULT_RESOURCE}"`,
        });
      }
      let claims;
      try {
        claims = await this.tokens.verifyAccessToken(auth.slice(7).trim(), [KEY_VAULT_RESOURCE, `${KEY_VAULT_RESOURCE}/`]);
      } catch (e) {
        const expired = (e as { code?: string }).code === "ERR_JWT_EXPIRED";
        throw new KvError(
          401,
          "Unauthorized",
          expired ? "AKV10022: Invalid audience or the token is expired." : "AKV10022: Invalid audience or the token was not issued by the expected authority.",
          undefined,
          {
            "www-authenticate": `Bearer authorization="https://login.microsoftonline.com/${LOCAL_TENANT_ID}", resource="${KEY_VAULT_RESOURCE}", error="invalid_token"`,
          },
        );
      }
      principal = claims.oid;
      const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
      const op = operation(method, parts);
      const policy = rec.accessPolicies.find((p) => p.objectId.toLowerCase() === claims.oid.toLowerCase());
      if (!policy?.secrets.map((s) => s.toLowerCase()).includes(op.permission)) {
        throw new KvError(
          403,
          "Forbidden",
          `The user, group or application 'appid=${claims.appid};oid=${claims.oid};iss=${claims.iss}' does not have secrets ${op.permission} permission on key vault '${rec.name};location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
          "AccessDenied",
        );
      }
      const body = method === "PUT" || method === "PATCH" || method === "POST" ? await readJson(req) : undefined;
      const out = this.serve(rec, op.name, parts, base, body);
      this.note(vault, principal, method, url.pathname, out.status);
      send(res, out.status, out.body);
    } catch (e) {
      const err = e instanceof KvError ? e : e instanceof VaultError ? new KvError(e.statusCode, e.code, e.message) : new KvError(500, "InternalError", "the local vault failed");
      this.note(vault, principal, method, url.pathname, err.status, err.code);
      send(res, err.status, { error: { code: err.code, message: err.message, ...(err.inner ? { innerError: { code: err.inner } } : {}) } }, err.headers);
    }
  }

  private note(vault: string, principalId: string | undefined, method: string, path: string, status: number, code?: string): void {
    this.recent.push({ at: Date.now(), vault, principalId, method, path, status, code });
    if (this.recent.length > 200) this.recent.splice(0, this.recent.length - 200);
  }

  private serve(rec: VaultRecord, op: string, parts: string[], base: string, body: Record<string, unknown> | undefined): { status: number; body?: unknown } {
    const v = LocalSecretVault.open(join(localDir(this.root), "vaults", `${rec.name}.json`));
    const name = parts[1] ?? "";
    switch (op) {
      case "set": {
        if (typeof body?.value !== "string") throw new KvError(400, "BadParameter", "Property value is required.");
        const tags = (body.tags && typeof body.tags === "object" ? body.tags : undefined) as Record<string, string> | undefined;
        const p = v.setSecret(name, body.value, { contentType: typeof body.contentType === "string" ? body.contentType : undefined, tags });
        return { status: 200, body: bundle(base, p, body.value, v.retentionDays) };
      }
      case "get": {
        const { value, properties } = v.getSecret(name, parts[2] || undefined);
        return { status: 200, body: bundle(base, properties, value, v.retentionDays) };
      }
      case "list":
        return { status: 200, body: { value: v.listSecrets().map((p) => item(base, p, false, v.retentionDays)), nextLink: null } };
      case "versions":
        return { status: 200, body: { value: v.listVersions(name).map((p) => item(base, p, true, v.retentionDays)), nextLink: null } };
      case "delete": {
        const latest = v.listVersions(name).at(-1)!;
        v.deleteSecret(name);
        return { status: 200, body: { ...item(base, latest, true, v.retentionDays), ...deletedFields(base, name, v) } };
      }
      case "getDeleted": {
        const d = v.listDeletedSecrets().find((x) => x.name === name);
        if (!d) throw new KvError(404, "SecretNotFound", `Deleted Secret not found: ${name}`);
        return { status: 200, body: { id: `${base}secrets/${name}`, attributes: attrs(d.deletedDate, true, v.retentionDays), ...deletedFields(base, name, v) } };
      }
      case "listDeleted":
        return {
          status: 200,
          body: {
            value: v
              .listDeletedSecrets()
              .map((d) => ({ id: `${base}secrets/${d.name}`, attributes: attrs(d.deletedDate, true, v.retentionDays), ...deletedFields(base, d.name, v) })),
            nextLink: null,
          },
        };
      case "recover": {
        const p = v.recoverDeletedSecret(name);
        return { status: 200, body: item(base, p, true, v.retentionDays) };
      }
      case "purge":
        v.purgeDeletedSecret(name);
        return { status: 204 };
      default:
        throw new KvError(400, "BadParameter", "The request URI is not a secrets operation this local vault serves.");
    }
  }
}

function operation(method: string, parts: string[]): { name: string; permission: Permission } {
  const [coll, name, third] = parts;
  if (coll === "secrets") {
    if (!name && method === "GET") return { name: "list", permission: "list" };
    if (name && method === "PUT" && !third) return { name: "set", permission: "set" };
    if (name && method === "GET" && third === "versions") return { name: "versions", permission: "list" };
    if (name && method === "GET") return { name: "get", permission: "get" };
    if (name && method === "DELETE" && !third) return { name: "delete", permission: "delete" };
  }
  if (coll === "deletedsecrets") {
    if (!name && method === "GET") return { name: "listDeleted", permission: "list" };
    if (name && method === "GET" && !third) return { name: "getDeleted", permission: "list" };
    if (name && method === "POST" && third === "recover") return { name: "recover", permission: "recover" };
    if (name && method === "DELETE" && !third) return { name: "purge", permission: "purge" };
  }
  throw new KvError(400, "BadParameter", `${method} ${parts.join("/")} is not a secrets operation this local vault serves.`);
}

function attrs(created: string, enabled: boolean, days: number): Record<string, unknown> {
  const s = Math.floor(Date.parse(created) / 1000);
  return { enabled, created: s, updated: s, recoveryLevel: "Recoverable+Purgeable", recoverableDays: days };
}

function item(base: string, p: SecretProperties, versioned: boolean, days: number): Record<string, unknown> {
  return {
    id: versioned ? `${base}secrets/${p.name}/${p.version}` : `${base}secrets/${p.name}`,
    attributes: attrs(p.createdOn, p.enabled, days),
    tags: p.tags,
    ...(p.contentType ? { contentType: p.contentType } : {}),
  };
}

function bundle(base: string, p: SecretProperties, value: string, days: number): Record<string, unknown> {
  return { value, ...item(base, p, true, days) };
}

function deletedFields(base: string, name: string, v: LocalSecretVault): Record<string, unknown> {
  const d = v.listDeletedSecrets().find((x) => x.name === name);
  return d
    ? {
        recoveryId: `${base}deletedsecrets/${name}`,
        deletedDate: Math.floor(Date.parse(d.deletedDate) / 1000),
        scheduledPurgeDate: Math.floor(Date.parse(d.scheduledPurgeDate) / 1000),
      }
    : {};
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new KvError(400, "BadParameter", "The request body is not valid JSON.");
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const requestId = randomUUID();
  if (body === undefined) {
    res.writeHead(status, { "x-ms-request-id": requestId, ...headers });
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "x-ms-request-id": requestId,
    "x-ms-keyvault-service-version": "1.9.0.0",
    "cache-control": "no-cache",
    ...headers,
  });
  res.end(text);
}

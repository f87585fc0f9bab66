import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, generateAccountSASQueryParameters, StorageSharedKeyCredential } from "@azure/storage-blob";
import type { EntraTokenService } from "./entra.js";
import type { RecordCache } from "./records.js";
import { StorageRelay } from "./storage-relay.js";
import { DATA_ACTIONS, grantingRoles, requiredAccess, roleFor, type RequiredAccess, type StorageService } from "./storage-actions.js";

interface Backend {
  accountName: string;
  accountKey: string;
  endpoints: Record<StorageService, URL>;
}

function parseBackend(cs: string): Backend {
  const get = (k: string) => new RegExp(`(?:^|;)${k}=([^;]+)`, "i").exec(cs)?.[1];
  const accountName = get("AccountName");
  const accountKey = get("AccountKey");
  const q = get("QueueEndpoint");
  const t = get("TableEndpoint");
  const b = get("BlobEndpoint");
  if (!accountName || !accountKey || !q || !t || !b) throw new Error("the storage front needs an Azurite connection string with Blob, Queue and Table endpoints");
  return { accountName, accountKey, endpoints: { queue: new URL(q), table: new URL(t), blob: new URL(b) } };
}

/**
 * Request headers not passed to Azurite: the client's token (the SAS authorises the hop), its host, and
 * hop-by-hop headers, which the relay's own connection frames itself (a chunked body is re-chunked).
 */
const FORWARD_SKIP = new Set(["authorization", "host", "connection", "proxy-connection", "keep-alive", "transfer-encoding", "te", "upgrade", "expect"]);

/** A decision the front made, for status and `identity explain` (no token, no secret). */
export interface FrontDecision {
  at: number;
  principalId?: string;
  appid?: string;
  service: StorageService;
  method: string;
  path: string;
  status: number;
  code?: string;
}

/**
 * The enforcing front of local storage: HTTPS in front of Azurite for queue, table and blob. It accepts
 * only bearer tokens of the local token service, holds each request to the role assignments the local
 * provider recorded (by Azure's data actions), and answers with Azure Storage's status codes and errors.
 * Allowed requests go on to Azurite, authorised there with an account SAS made by the storage SDK.
 */
export class StorageFront {
  private readonly backend: Backend;
  private sas?: { query: string; until: number };
  private readonly relay = new StorageRelay();
  readonly recent: FrontDecision[] = [];
  /** Requests forwarded to Azurite (a figure for benchmarks). */
  forwarded = 0;

  constructor(
    private readonly tokens: EntraTokenService,
    private readonly records: RecordCache,
    connectionString: string,
  ) {
    this.backend = parseBackend(connectionString);
  }

  private sasQuery(): string {
    const now = Date.now();
    if (this.sas && this.sas.until - now > 3600_000) return this.sas.query;
    const expiresOn = new Date(now + 6 * 3600_000);
    const q = generateAccountSASQueryParameters(
      {
        services: AccountSASServices.parse("bqt").toString(),
        resourceTypes: AccountSASResourceTypes.parse("sco").toString(),
        permissions: AccountSASPermissions.parse("rwdlacup"),
        startsOn: new Date(now - 5 * 60_000),
        expiresOn,
      },
      new StorageSharedKeyCredential(this.backend.accountName, this.backend.accountKey),
    ).toString();
    this.sas = { query: q, until: expiresOn.getTime() };
    return q;
  }

  /**
   * Serves one request. `account` comes from the host name (`<account>.queue.core.windows.net`); when
   * undefined (loopback, path-style URLs as Azurite's) it is the first path segment.
   */
  async handle(req: IncomingMessage, res: ServerResponse, service: StorageService, account?: string): Promise<void> {
    const url = new URL(req.url ?? "/", "https://front.invalid");
    const rawParts = url.pathname.split("/").filter(Boolean);
    const pathStyle = account === undefined;
    const acct = pathStyle ? decodeURIComponent(rawParts.shift() ?? "") : account;
    const parts = rawParts.map((p) => decodeURIComponent(p));
    const method = req.method ?? "GET";
    const record = (status: number, code?: string, who?: { oid?: string; appid?: string }) => {
      this.recent.push({ at: Date.now(), principalId: who?.oid, appid: who?.appid, service, method, path: `/${acct}/${parts.join("/")}`, status, code });
      if (this.recent.length > 200) this.recent.splice(0, this.recent.length - 200);
    };
    if (!acct) return this.fail(res, service, 400, "InvalidUri", "The requested URI does not represent any resource on the server.");

    const auth = req.headers.authorization;
    if (!auth) {
      record(401, "NoAuthenticationInformation");
      return this.fail(
        res,
        service,
        401,
        "NoAuthenticationInformation",
        "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
        { "www-authenticate": bearerChallenge() },
      );
    }
    if (!/^Bearer /i.test(auth) || url.searchParams.has("sig")) {
      record(403, "KeyBasedAuthenticationNotPermitted");
      return this.fail(res, service, 403, "KeyBasedAuthenticationNotPermitted", "Key based authentication is not permitted on this storage account.");
    }
    let claims: { oid: string; appid: string };
    try {
      claims = await this.tokens.verifyAccessToken(auth.slice(7).trim(), [
        "https://storage.azure.com",
        "https://storage.azure.com/",
        `https://${acct}.${service}.core.windows.net`,
        `https://${acct}.${service}.core.windows.net/`,
      ]);
    } catch (e) {
      const expired = (e as { code?: string }).code === "ERR_JWT_EXPIRED";
      record(401, "InvalidAuthenticationInfo");
      return this.fail(
        res,
        service,
        401,
        "InvalidAuthenticationInfo",
        expired
          ? "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.\nLifetime validation failed. The token is expired."
          : "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
        { "www-authenticate": bearerChallenge(expired ? "invalid_token" : undefined) },
      );
    }

    // A table batch names its tables only in its body: each change is checked.
    let body: Buffer | undefined;
    const needs: RequiredAccess[] = [];
    if (service === "table" && parts[parts.length - 1] === "$batch") {
      body = await readAll(req);
      const text = body.toString("utf8");
      const tables = new Set<string>();
      for (const m of text.matchAll(/^(?:PUT|POST|PATCH|DELETE|MERGE|GET) https?:\/\/[^\s]+?\/([A-Za-z][A-Za-z0-9]{2,62})(?:\(|\s|\?)/gm)) tables.add(m[1]!);
      for (const table of tables) needs.push({ service, target: { account: acct, table }, dataAction: DATA_ACTIONS.tableWrite });
      if (needs.length === 0) needs.push({ service, target: { account: acct }, dataAction: DATA_ACTIONS.tableWrite });
      // Sub-requests name the front's URLs; Azurite parses them as its own.
      const front = `https://${req.headers.host ?? ""}${pathStyle ? `/${acct}` : ""}`;
      const back = `${this.backend.endpoints.table.origin}/${this.backend.accountName}`;
      body = Buffer.from(text.split(front).join(back), "utf8");
    } else {
      needs.push(requiredAccess(service, method, parts, url.searchParams, acct));
    }
    const roles = this.records.get().roles;
    for (const need of needs) {
      if (grantingRoles(roles, claims.oid, need).length === 0) {
        record(403, "AuthorizationPermissionMismatch", claims);
        return this.fail(
          res,
          service,
          403,
          "AuthorizationPermissionMismatch",
          "This request is not authorized to perform this operation using this permission.",
          {},
          roleFor(need),
        );
      }
    }
    record(200, undefined, claims);
    this.forward(req, res, service, rawParts, url, body);
  }

  private forward(req: IncomingMessage, res: ServerResponse, service: StorageService, rawParts: string[], url: URL, body?: Buffer): void {
    const ep = this.backend.endpoints[service];
    // The client's query as it sent it (OData filters keep their encoding), then the SAS.
    const path = `/${this.backend.accountName}/${rawParts.join("/")}${url.search ? `${url.search}&` : "?"}${this.sasQuery()}`;
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || FORWARD_SKIP.has(k)) continue;
      headers[k] = v;
    }
    headers.host = ep.host;
    if (body) {
      headers["content-length"] = String(body.length);
      delete headers["transfer-encoding"];
    }
    this.forwarded++;
    this.relay.relay(ep.origin, { method: req.method ?? "GET", path, headers, body }, req, res, () =>
      this.fail(res, service, 503, "ServerBusy", "The local storage behind the front did not answer."),
    );
  }

  private fail(res: ServerResponse, service: StorageService, status: number, code: string, message: string, headers: Record<string, string> = {}, role?: string): void {
    const requestId = randomUUID();
    const full = `${message}\nRequestId:${requestId}\nTime:${new Date().toISOString()}`;
    const common = { "x-ms-request-id": requestId, "x-ms-error-code": code, "x-ms-version": "2025-11-05", ...(role ? { "x-akspilot-missing-role": role } : {}), ...headers };
    if (service === "table") {
      const text = JSON.stringify({ "odata.error": { code, message: { lang: "en-US", value: full } } });
      res.writeHead(status, { ...common, "content-type": "application/json;odata=minimalmetadata;streaming=true;charset=utf-8", "content-length": Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${escapeXml(full)}</Message></Error>`;
    res.writeHead(status, { ...common, "content-type": "application/xml", "content-length": Buffer.byteLength(xml) });
    res.end(xml);
  }

  close(): void {
    void this.relay.close();
  }
}

function bearerChallenge(error?: string): string {
  return `Bearer authorization_uri=https://login.microsoftonline.com/00000000-0000-0000-0000-00000000a0a0/oauth2/authorize resource_id=https://storage.azure.com${error ? ` error="${error}"` : ""}`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

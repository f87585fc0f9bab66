import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { rootCertificates } from "node:tls";
import type { IncomingMessage, ServerResponse } from "node:http";
import { writeSecretFile } from "../util/secure-fs.js";
import { caDir, ensureLocalCa, serverCertificate } from "./ca.js";
import { EntraTokenService } from "./entra.js";
import { listenHttps, type HttpsListener } from "./https.js";
import { ClusterIssuer, identityDir, SA_TOKEN_TTL_SECONDS } from "./issuer.js";
import { startLocalProxy, type Handler, type LocalProxy } from "./proxy.js";
import { LOCAL_TENANT_ID, RecordCache, type ClusterRecord } from "./records.js";
import { StorageFront } from "./storage-front.js";
import type { StorageService } from "./storage-actions.js";

export interface IdentityServicesOptions {
  root: string;
  /** Azurite (or any account-key connection string): enables the enforcing storage front. */
  storageConnectionString?: string;
  /** Serve the local Key Vault data plane. */
  keyVault?: boolean;
  /** Start the proxy for Azure's public host names. */
  proxy?: boolean;
  accessTokenTtlSeconds?: number;
  assertionSkewSeconds?: number;
  /** Lifetime of projected service-account tokens written for pods (refreshed at 80 %). */
  serviceAccountTokenTtlSeconds?: number;
  now?: () => number;
}

/** The workload-identity variables of one pod, as AKS's mutating webhook sets them (plus the proxy and CA). */
export type WorkloadEnv = Record<string, string>;

interface ProjectedToken {
  path: string;
  issuer: ClusterIssuer;
  namespace: string;
  serviceAccount: string;
  timer?: NodeJS.Timeout;
  /** Write failures are kept (never thrown at a timer). */
  lastError?: string;
  refreshedAt?: number;
}

export interface VaultPlane {
  handle(req: IncomingMessage, res: ServerResponse, vault?: string): Promise<void>;
}

/**
 * The local identity plane of one project directory: the token service (Entra's v2 endpoint and each
 * cluster's OIDC issuer documents), the enforcing storage front, the Key Vault data plane, and the proxy
 * for Azure's host names, all over HTTPS with the local CA and on 127.0.0.1 only.
 */
export class IdentityServices {
  private listeners: HttpsListener[] = [];
  private projected = new Map<string, ProjectedToken>();
  readonly records: RecordCache;
  front?: StorageFront;
  vault?: VaultPlane;
  proxy?: LocalProxy;
  readonly endpoints: Partial<Record<StorageService, string>> = {};
  keyVaultUrl?: string;

  private constructor(
    readonly o: IdentityServicesOptions & { root: string },
    readonly tokens: EntraTokenService,
    readonly caCertPath: string,
    readonly caBundlePath: string,
    private readonly tokenListener: HttpsListener,
  ) {
    this.listeners.push(tokenListener);
    this.records = new RecordCache(o.root);
  }

  static async start(opts: IdentityServicesOptions): Promise<IdentityServices> {
    const root = resolve(opts.root);
    const ca = ensureLocalCa(root);
    const cert = serverCertificate(root);
    // A bundle for tools that take one file (Python's requests, OpenSSL): the public roots and the local CA.
    const bundle = join(caDir(root), "bundle.pem");
    writeSecretFile(bundle, [...rootCertificates, ca.certPem].join("\n"));
    const tokens = new EntraTokenService({ root, accessTokenTtlSeconds: opts.accessTokenTtlSeconds, assertionSkewSeconds: opts.assertionSkewSeconds, now: opts.now });
    await tokens.signingRing();
    const listener = await listenHttps(cert, (req, res) => tokens.handle(req, res));
    const s = new IdentityServices({ ...opts, root }, tokens, ca.certPath, bundle, listener);
    try {
      if (opts.storageConnectionString) {
        const front = new StorageFront(tokens, s.records, opts.storageConnectionString);
        s.front = front;
        for (const svc of ["queue", "table", "blob"] as const) {
          const l = await listenHttps(cert, (req, res) => front.handle(req, res, svc));
          s.listeners.push(l);
          s.endpoints[svc] = l.origin;
        }
      }
      if (opts.keyVault) {
        const { KeyVaultPlane } = await import("./keyvault.js");
        const plane = new KeyVaultPlane(root, tokens, s.records);
        s.vault = plane;
        const l = await listenHttps(cert, (req, res) => plane.handle(req, res));
        s.listeners.push(l);
        s.keyVaultUrl = `${l.origin}/`;
      }
      if (opts.proxy) s.proxy = await startLocalProxy(cert, (host) => s.route(host));
    } catch (e) {
      await s.stop();
      throw e;
    }
    return s;
  }

  /** Which local service answers an Azure host name (the proxy's routing table). */
  route(host: string): Handler | undefined {
    if (host === "login.microsoftonline.com" || host === "login.windows.net" || host === "oidc.local") return (req, res) => this.tokens.handle(req, res);
    const st = /^([a-z0-9]{3,24})\.(queue|table|blob)\.core\.windows\.net$/.exec(host);
    if (st && this.front) {
      const front = this.front;
      return (req, res) => front.handle(req, res, st[2] as StorageService, st[1]!);
    }
    const kv = /^([a-z0-9-]{3,24})\.vault\.azure\.net$/.exec(host);
    if (kv && this.vault) {
      const vault = this.vault;
      return (req, res) => vault.handle(req, res, kv[1]!);
    }
    return undefined;
  }

  /** What AZURE_AUTHORITY_HOST names: the token service's origin. */
  get authorityHost(): string {
    return `${this.tokenListener.origin}/`;
  }

  get tenantId(): string {
    return LOCAL_TENANT_ID;
  }

  /** Path-style endpoint of a recorded storage account at the front: `https://127.0.0.1:<port>/<account>`. */
  storageEndpoint(service: StorageService, account: string): string | undefined {
    const e = this.endpoints[service];
    return e ? `${e}/${account}` : undefined;
  }

  /**
   * The environment of a pod labelled `azure.workload.identity/use: "true"` whose service account is
   * annotated with `clientId`: what the webhook injects, a projected token file kept fresh (rewritten at
   * 80 % of its lifetime, as the kubelet does), the proxy for Azure's host names, and the CA to trust.
   */
  async workloadEnv(cluster: ClusterRecord, namespace: string, serviceAccount: string, clientId: string): Promise<WorkloadEnv> {
    const path = await this.projectToken(cluster, namespace, serviceAccount);
    const env: WorkloadEnv = {
      AZURE_CLIENT_ID: clientId,
      AZURE_TENANT_ID: LOCAL_TENANT_ID,
      AZURE_FEDERATED_TOKEN_FILE: path,
      AZURE_AUTHORITY_HOST: this.authorityHost,
      NODE_EXTRA_CA_CERTS: this.caCertPath,
    };
    return { ...env, ...this.proxyEnv() };
  }

  /** HTTPS_PROXY and CA bundle variables for Node, Python and OpenSSL (empty without the proxy). */
  proxyEnv(): Record<string, string> {
    if (!this.proxy) return { NODE_EXTRA_CA_CERTS: this.caCertPath };
    return {
      HTTPS_PROXY: this.proxy.url,
      https_proxy: this.proxy.url,
      NO_PROXY: "127.0.0.1,localhost",
      no_proxy: "127.0.0.1,localhost",
      NODE_EXTRA_CA_CERTS: this.caCertPath,
      REQUESTS_CA_BUNDLE: this.caBundlePath,
      SSL_CERT_FILE: this.caBundlePath,
      CURL_CA_BUNDLE: this.caBundlePath,
    };
  }

  /** Writes (and keeps writing) the projected token of one service account; returns its path. */
  async projectToken(cluster: ClusterRecord, namespace: string, serviceAccount: string): Promise<string> {
    const key = `${cluster.name}/${namespace}/${serviceAccount}`;
    const have = this.projected.get(key);
    if (have) return have.path;
    const issuer = await ClusterIssuer.open(this.o.root, cluster);
    const p: ProjectedToken = {
      path: join(identityDir(this.o.root), "tokens", cluster.name, namespace, serviceAccount, "azure-identity-token"),
      issuer,
      namespace,
      serviceAccount,
    };
    this.projected.set(key, p);
    await this.refresh(p);
    return p.path;
  }

  private async refresh(p: ProjectedToken): Promise<void> {
    const ttl = this.o.serviceAccountTokenTtlSeconds ?? SA_TOKEN_TTL_SECONDS;
    try {
      const { token } = await p.issuer.serviceAccountToken(p.namespace, p.serviceAccount, { ttlSeconds: ttl, now: this.o.now?.() });
      writeSecretFile(p.path, token);
      p.refreshedAt = Date.now();
      p.lastError = undefined;
    } catch (e) {
      p.lastError = (e as Error).message;
    }
    p.timer = setTimeout(() => void this.refresh(p), Math.max(200, ttl * 800));
    p.timer.unref();
  }

  /** Files of projected tokens currently kept fresh. */
  projectedTokens(): Array<{ serviceAccount: string; path: string; refreshedAt?: number; lastError?: string }> {
    return [...this.projected.entries()].map(([k, p]) => ({ serviceAccount: k, path: p.path, refreshedAt: p.refreshedAt, lastError: p.lastError }));
  }

  /** Names for `.akspilot/runtime.json` (URLs and paths; never a token or key). */
  runtimeFields(account?: string): Record<string, string> {
    const out: Record<string, string> = { caCertPath: this.caCertPath, authorityHost: this.authorityHost, tenantId: LOCAL_TENANT_ID };
    if (account) {
      for (const svc of ["blob", "queue", "table"] as const) {
        const e = this.storageEndpoint(svc, account);
        if (e) out[`${svc}Endpoint`] = e;
      }
    }
    if (this.keyVaultUrl) out.keyVaultUrl = this.keyVaultUrl;
    if (this.proxy) out.proxyUrl = this.proxy.url;
    return out;
  }

  async stop(): Promise<void> {
    for (const p of this.projected.values()) if (p.timer) clearTimeout(p.timer);
    this.projected.clear();
    const ls = this.listeners;
    this.listeners = [];
    await Promise.all(ls.map((l) => l.close()));
    await this.proxy?.close();
    this.front?.close();
  }

  /** Reads a file the services wrote, if present (tests and `identity explain`). */
  static readIfExists(path: string): string | undefined {
    return existsSync(path) ? readFileSync(path, "utf8") : undefined;
  }
}

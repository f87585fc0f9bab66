import { resolve } from "node:path";
import { ensureLocalCa, serverCertificate } from "./ca.js";
import { EntraTokenService } from "./entra.js";
import { listenHttps, type HttpsListener } from "./https.js";
import { LOCAL_TENANT_ID } from "./records.js";

export interface IdentityServicesOptions {
  root: string;
  accessTokenTtlSeconds?: number;
  now?: () => number;
}

/**
 * The local identity plane of one project directory: the token service (Entra's v2 endpoint and each
 * cluster's OIDC issuer documents) over HTTPS with the local CA. Endpoints bind 127.0.0.1 only.
 */
export class IdentityServices {
  private listeners: HttpsListener[] = [];

  private constructor(readonly root: string, readonly tokens: EntraTokenService, readonly caCertPath: string, private readonly tokenListener: HttpsListener) {
    this.listeners.push(tokenListener);
  }

  static async start(o: IdentityServicesOptions): Promise<IdentityServices> {
    const root = resolve(o.root);
    const ca = ensureLocalCa(root);
    const cert = serverCertificate(root);
    const tokens = new EntraTokenService({ root, accessTokenTtlSeconds: o.accessTokenTtlSeconds, now: o.now });
    await tokens.signingRing();
    const listener = await listenHttps(cert, (req, res) => tokens.handle(req, res));
    return new IdentityServices(root, tokens, ca.certPath, listener);
  }

  /** What AZURE_AUTHORITY_HOST names: the token service's origin. */
  get authorityHost(): string {
    return `${this.tokenListener.origin}/`;
  }

  get tenantId(): string {
    return LOCAL_TENANT_ID;
  }

  /** Adds another listener that stops with the services. */
  adopt(l: HttpsListener): void {
    this.listeners.push(l);
  }

  async stop(): Promise<void> {
    const ls = this.listeners;
    this.listeners = [];
    await Promise.all(ls.map((l) => l.close()));
  }
}

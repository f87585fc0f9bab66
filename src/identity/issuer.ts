import { join } from "node:path";
import { SignJWT } from "jose";
import { UserError } from "../errors.js";
import { KeyRing } from "./keys.js";
import { readRecords, TOKEN_EXCHANGE_AUDIENCE, type ClusterRecord } from "./records.js";

/** Projected service-account tokens live this long by default (AKS's webhook asks for one hour). */
export const SA_TOKEN_TTL_SECONDS = 3600;

export function identityDir(root: string): string {
  return join(root, ".akspilot", "identity");
}

/**
 * The OIDC issuer of one local cluster: its URL is the `oidcIssuerUrl` the local deploy recorded (what
 * federated credentials name), its keys a KeyRing under `.akspilot/identity/issuers/`.
 */
export class ClusterIssuer {
  private constructor(
    readonly cluster: ClusterRecord,
    readonly ring: KeyRing,
  ) {}

  static async open(root: string, cluster: ClusterRecord): Promise<ClusterIssuer> {
    return new ClusterIssuer(cluster, await KeyRing.open(join(identityDir(root), "issuers", `${cluster.name}.json`)));
  }

  get issuerUrl(): string {
    return this.cluster.issuerUrl;
  }

  /** OpenID discovery document, as AKS serves it; `base` is where this issuer's JWKS is reachable. */
  discovery(jwksUri: string): Record<string, unknown> {
    return {
      issuer: this.issuerUrl,
      jwks_uri: jwksUri,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
    };
  }

  /** A projected service-account token, as the kubelet writes it for the workload-identity webhook. */
  async serviceAccountToken(
    namespace: string,
    serviceAccount: string,
    opts: { ttlSeconds?: number; now?: number; pod?: string; audience?: string } = {},
  ): Promise<{ token: string; expiresOn: number }> {
    const now = Math.floor((opts.now ?? Date.now()) / 1000);
    const exp = now + (opts.ttlSeconds ?? SA_TOKEN_TTL_SECONDS);
    const key = this.ring.current;
    const token = await new SignJWT({
      "kubernetes.io": {
        namespace,
        serviceaccount: { name: serviceAccount },
        ...(opts.pod ? { pod: { name: opts.pod } } : {}),
      },
    })
      .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" })
      .setIssuer(this.issuerUrl)
      .setSubject(`system:serviceaccount:${namespace}:${serviceAccount}`)
      .setAudience([opts.audience ?? TOKEN_EXCHANGE_AUDIENCE])
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(exp)
      .sign(key.privateKey);
    return { token, expiresOn: exp * 1000 };
  }
}

/** The cluster named, or the only one recorded; a clear line otherwise. */
export function findCluster(root: string, name?: string): ClusterRecord {
  const clusters = readRecords(root).clusters;
  if (clusters.length === 0) {
    throw new UserError("no local cluster with an OIDC issuer is recorded here", "run `akspilot deploy <blueprint> --target local` in this directory first");
  }
  if (name) {
    const c = clusters.find((x) => x.name === name);
    if (!c) throw new UserError(`no local cluster named "${name}"`, `use one of: ${clusters.map((x) => x.name).join(", ")}`);
    return c;
  }
  if (clusters.length > 1) throw new UserError(`${clusters.length} local clusters are recorded`, `name one with --cluster (${clusters.map((x) => x.name).join(", ")})`);
  return clusters[0]!;
}

/** Parses `<namespace>/<serviceaccount>`. */
export function parseServiceAccount(s: string | undefined): { namespace: string; serviceAccount: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(s ?? "");
  if (!m) throw new UserError(`"${s ?? ""}" is not <namespace>/<serviceaccount>`, "e.g. `aqs-demo/aqs-app-service-account`");
  return { namespace: m[1]!, serviceAccount: m[3]! };
}

import { UserError } from "../../errors.js";
import type { AppSpec, Blueprint } from "../../blueprints/types.js";
import { readRecords, type ClusterRecord, type IdentityRecord } from "../../identity/records.js";
import { IdentityServices } from "../../identity/services.js";
import { findCluster } from "../../identity/issuer.js";
import { explainChain, type ChainLink } from "../../identity/explain.js";

/** The label AKS's workload-identity webhook looks for. */
export const WI_LABEL = "azure.workload.identity/use";

export function usesWorkloadIdentity(app: AppSpec): boolean {
  return app.labels[WI_LABEL] === "true";
}

/** A local identity by name, client id or principal id. */
export function findIdentity(root: string, who: string): IdentityRecord {
  const ids = readRecords(root).identities;
  const w = who.toLowerCase();
  const id = ids.find((i) => [i.name, i.clientId, i.principalId].some((x) => x.toLowerCase() === w));
  if (!id)
    throw new UserError(
      `"${who}" is not an identity of a local deploy in this directory`,
      `run \`akspilot deploy <blueprint> --target local\` first; identities: ${ids.map((i) => i.name).join(", ") || "none"}`,
    );
  return id;
}

export interface WorkloadIdentityWiring {
  services: IdentityServices;
  cluster: ClusterRecord;
  /** The storage account the pods name (AZURE_STORAGE_ACCOUNT_NAME); every recorded account is served by the front. */
  account?: string;
  /** Environment of a workload-identity pod of `app` whose service account is annotated with `clientId`. */
  podEnv(app: AppSpec, clientId: string): Promise<Record<string, string>>;
  runtimeFields(): Record<string, string>;
  /** For `status`: each workload-identity pod's chain (service account → … → resource) and the front's last refusal. */
  status(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * Starts the identity plane for a local run: token service, storage front over `connectionString`,
 * Key Vault, and the proxy; pods labelled for workload identity then get the webhook's variables.
 */
export async function startWorkloadIdentity(o: {
  root: string;
  blueprint: Blueprint;
  connectionString?: string;
  keyVault?: boolean;
  clusterName?: string;
  serviceAccountTokenTtlSeconds?: number;
  accessTokenTtlSeconds?: number;
}): Promise<WorkloadIdentityWiring> {
  const cluster = clusterFor(o.root, o.blueprint, o.clusterName);
  const services = await IdentityServices.start({
    root: o.root,
    storageConnectionString: o.connectionString,
    keyVault: o.keyVault,
    proxy: true,
    serviceAccountTokenTtlSeconds: o.serviceAccountTokenTtlSeconds,
    accessTokenTtlSeconds: o.accessTokenTtlSeconds,
  });
  const account = readRecords(o.root).accounts[0];
  const pods = new Map<string, { app: AppSpec; clientId: string }>();
  let cached: { at: number; value: Record<string, unknown> } | undefined;
  return {
    services,
    cluster,
    account,
    async podEnv(app, clientId) {
      const sa = app.serviceAccountName ?? "default";
      pods.set(app.name, { app, clientId });
      return services.workloadEnv(cluster, o.blueprint.namespace, sa, clientId);
    },
    runtimeFields: () => services.runtimeFields(account),
    async status() {
      // The chain runs a real exchange: at most every 10 s, whatever polls the status.
      if (cached && Date.now() - cached.at < 10_000) return cached.value;
      const chains: Record<string, ChainLink[]> = {};
      for (const [name, p] of pods) {
        chains[name] = await explainChain(o.root, {
          namespace: o.blueprint.namespace,
          serviceAccount: p.app.serviceAccountName ?? "default",
          resource: "queue",
          // The producer only sends: its chain asks for the sender's data action, not the consumer's.
          send: p.app.program === "producer",
          identity: p.clientId,
          cluster: cluster.name,
        }).catch((e: Error) => [{ link: "token" as const, ok: false, detail: e.message }]);
      }
      const refusal = [...(services.front?.recent ?? [])].reverse().find((d) => d.status >= 400);
      const value = {
        chains,
        ...(refusal ? { lastRefusal: { status: refusal.status, code: refusal.code, method: refusal.method, path: refusal.path, at: new Date(refusal.at).toISOString() } } : {}),
        projectedTokens: services.projectedTokens().map((t) => ({
          serviceAccount: t.serviceAccount,
          refreshedAt: t.refreshedAt ? new Date(t.refreshedAt).toISOString() : undefined,
          ...(t.lastError ? { lastError: t.lastError } : {}),
        })),
      };
      cached = { at: Date.now(), value };
      return value;
    },
    stop: () => services.stop(),
  };
}

/** The named cluster; else the only one; else the one whose federated credentials name the blueprint's namespace. */
export function clusterFor(root: string, bp: Blueprint, name?: string): ClusterRecord {
  const r = readRecords(root);
  if (name || r.clusters.length <= 1) return findCluster(root, name);
  const prefix = `system:serviceaccount:${bp.namespace}:`;
  const issuers = new Set(r.federated.filter((f) => f.subject.startsWith(prefix)).map((f) => f.issuer));
  const hits = r.clusters.filter((c) => issuers.has(c.issuerUrl));
  return hits.length === 1 ? hits[0]! : findCluster(root, name);
}

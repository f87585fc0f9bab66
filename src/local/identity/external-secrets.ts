import { Agent } from "node:https";
import { readFileSync } from "node:fs";
import type { HttpClient } from "@azure/core-rest-pipeline";
import { createDefaultHttpClient } from "@azure/core-rest-pipeline";
import { WorkloadIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";

/** An ExternalSecret as the blueprint declares it (external-secrets.io/v1), reduced to what is reconciled. */
export interface ExternalSecretSpec {
  name: string;
  namespace: string;
  refreshIntervalSeconds: number;
  /** The Kubernetes Secret written (creationPolicy Owner). */
  target: string;
  /** secret key → Key Vault secret name (`remoteRef.key`). */
  data: Record<string, string>;
}

/** The SecretStore's azurekv provider with WorkloadIdentity auth. */
export interface SecretStoreSpec {
  name: string;
  vaultUrl: string;
  /** The workload-identity environment of its `serviceAccountRef` (what the operator's pod would get). */
  env: Record<string, string>;
}

export interface Condition {
  type: "Ready";
  status: "True" | "False";
  reason: "SecretSynced" | "SecretSyncedError";
  message: string;
  lastTransitionTime: string;
}

export interface ExternalSecretStatus {
  conditions: Condition[];
  refreshTime?: string;
  /** The synced Secret's keys (values are never part of a status). */
  keys: string[];
}

/** An HTTP client that trusts the local CA (the operator's pod would have it as NODE_EXTRA_CA_CERTS). */
export function trustingClient(caPath: string): HttpClient {
  const inner = createDefaultHttpClient();
  const agent = new Agent({ keepAlive: true, ca: readFileSync(caPath) });
  return { sendRequest: (req) => inner.sendRequest(Object.assign(req, { agent })) };
}

/**
 * The External Secrets Operator's loop for one SecretStore: each ExternalSecret is fetched from Key Vault
 * with the store's workload identity (the real @azure/identity and @azure/keyvault-secrets clients), written
 * as a Kubernetes Secret, and refreshed every `refreshInterval`; conditions are the operator's
 * (`Ready` True/`SecretSynced`, False/`SecretSyncedError` with the provider's error). Time is injected.
 */
export class ExternalSecretsController {
  private readonly client: SecretClient;
  private readonly next = new Map<string, number>();
  readonly status = new Map<string, ExternalSecretStatus>();
  /** Kubernetes Secrets written: `<namespace>/<name>` → data. Kept in memory only. */
  readonly secrets = new Map<string, Record<string, string>>();

  constructor(
    store: SecretStoreSpec,
    private readonly specs: ExternalSecretSpec[],
    private readonly now: () => number,
  ) {
    const httpClient = trustingClient(store.env.NODE_EXTRA_CA_CERTS!);
    const credential = new WorkloadIdentityCredential({
      clientId: store.env.AZURE_CLIENT_ID,
      tenantId: store.env.AZURE_TENANT_ID,
      tokenFilePath: store.env.AZURE_FEDERATED_TOKEN_FILE,
      authorityHost: store.env.AZURE_AUTHORITY_HOST,
      disableInstanceDiscovery: true,
      httpClient,
    });
    this.client = new SecretClient(store.vaultUrl, credential, { httpClient, retryOptions: { maxRetries: 0 }, disableChallengeResourceVerification: true });
  }

  /** One pass: every ExternalSecret whose refresh is due is synced. */
  async reconcile(): Promise<void> {
    for (const es of this.specs) {
      const key = `${es.namespace}/${es.name}`;
      const due = this.next.get(key) ?? 0;
      if (this.now() < due) continue;
      this.next.set(key, this.now() + es.refreshIntervalSeconds * 1000);
      const at = new Date(this.now()).toISOString();
      try {
        const data: Record<string, string> = {};
        for (const [k, remote] of Object.entries(es.data)) data[k] = (await this.client.getSecret(remote)).value ?? "";
        this.secrets.set(`${es.namespace}/${es.target}`, data);
        this.setCondition(key, { type: "Ready", status: "True", reason: "SecretSynced", message: "secret synced", lastTransitionTime: at }, Object.keys(data), at);
      } catch (e) {
        const msg = ((e as Error).message ?? String(e)).replace(/\s+/g, " ").slice(0, 400);
        this.setCondition(
          key,
          { type: "Ready", status: "False", reason: "SecretSyncedError", message: `could not get secret data from provider: ${msg}`, lastTransitionTime: at },
          this.status.get(key)?.keys ?? [],
          undefined,
        );
      }
    }
  }

  private setCondition(key: string, c: Condition, keys: string[], refreshTime: string | undefined): void {
    const prev = this.status.get(key);
    const old = prev?.conditions[0];
    const cond = old && old.status === c.status && old.reason === c.reason ? { ...c, lastTransitionTime: old.lastTransitionTime } : c;
    this.status.set(key, { conditions: [cond], keys, refreshTime: refreshTime ?? prev?.refreshTime });
  }
}

/** `1h`, `30m`, `15s`, `1h30m` → seconds. */
export function parseRefreshInterval(s: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s.trim());
  if (!m || s.trim() === "") throw new Error(`refreshInterval "${s}" is not a duration like 1h or 30m`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

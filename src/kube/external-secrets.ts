import type { AirflowSpec } from "../blueprints/types.js";
import { labelsFor, type BuildContext } from "./context.js";
import { compileSpecSchema, CustomResource, s } from "./custom-resource.js";

const EXTERNAL_SECRETS_API = "external-secrets.io/v1";

const secretStoreSpec = compileSpecSchema(
  s.obj({
    provider: s.obj({
      azurekv: s.obj({
        authType: { enum: ["WorkloadIdentity", "ManagedIdentity", "ServicePrincipal"] },
        vaultUrl: { type: "string", pattern: "^(https://|<)" },
        serviceAccountRef: s.obj({ name: s.str }),
      }),
    }),
  }),
);

const externalSecretSpec = compileSpecSchema(
  s.obj({
    refreshInterval: { type: "string", pattern: "^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$" },
    secretStoreRef: s.obj({ kind: { enum: ["SecretStore", "ClusterSecretStore"] }, name: s.str }),
    target: s.obj({ name: s.str, creationPolicy: { enum: ["Owner", "Orphan", "Merge", "None"] } }),
    data: s.arr(s.obj({ secretKey: s.str, remoteRef: s.obj({ key: s.str }) })),
  }),
);

/** Key Vault as a secret store, read with the namespace's workload identity (no credentials stored). */
export function keyVaultSecretStore(ctx: BuildContext, af: AirflowSpec): CustomResource {
  const vaultUrl = ctx.s.need("airflow.keyVaultUrl", ctx.s.config.values.airflow?.keyVaultUrl);
  return new CustomResource(
    {
      apiVersion: EXTERNAL_SECRETS_API,
      kind: "SecretStore",
      metadata: { name: af.secretStore, namespace: ctx.bp.namespace, labels: labelsFor(ctx) },
      spec: { provider: { azurekv: { authType: "WorkloadIdentity", vaultUrl, serviceAccountRef: { name: af.serviceAccount } } } },
    },
    secretStoreSpec,
  );
}

/**
 * Airflow's own secrets, kept in Key Vault and copied into the Secrets the chart is pointed at, instead of
 * the chart's defaults (a `postgres`/`postgres` database, a generated webserver key that changes on every
 * upgrade). Key Vault secret name → Secret key, per Secret.
 */
export const AIRFLOW_APP_SECRETS: Record<string, Record<string, string>> = {
  "airflow-metadata": { connection: "AIRFLOW-METADATA-CONNECTION" },
  "airflow-fernet-key": { "fernet-key": "AIRFLOW-FERNET-KEY" },
  "airflow-webserver-secret-key": { "webserver-secret-key": "AIRFLOW-WEBSERVER-SECRET-KEY" },
  "airflow-postgresql": { "postgres-password": "AIRFLOW-POSTGRES-PASSWORD" },
  "airflow-pgbouncer-config": { "pgbouncer.ini": "AIRFLOW-PGBOUNCER-INI", "users.txt": "AIRFLOW-PGBOUNCER-USERS" },
  "airflow-pgbouncer-stats": { connection: "AIRFLOW-PGBOUNCER-STATS-CONNECTION" },
};

/** True unless the values ask for the chart's own secrets (the seed's way). */
export function airflowSecretsFromKeyVault(ctx: Pick<BuildContext, "s">): boolean {
  return ctx.s.config.values.airflow?.chartManagedSecrets !== true;
}

/** One ExternalSecret per Secret of AIRFLOW_APP_SECRETS, all read through the namespace's SecretStore. */
export function airflowAppExternalSecrets(ctx: BuildContext, af: AirflowSpec): CustomResource[] {
  return Object.entries(AIRFLOW_APP_SECRETS).map(
    ([target, keys]) =>
      new CustomResource(
        {
          apiVersion: EXTERNAL_SECRETS_API,
          kind: "ExternalSecret",
          metadata: { name: target, namespace: ctx.bp.namespace, labels: labelsFor(ctx) },
          spec: {
            refreshInterval: af.refreshInterval,
            secretStoreRef: { kind: "SecretStore", name: af.secretStore },
            target: { name: target, creationPolicy: "Owner" },
            data: Object.entries(keys).map(([secretKey, key]) => ({ secretKey, remoteRef: { key } })),
          },
        },
        externalSecretSpec,
      ),
  );
}

/** Copies the log storage account's name and key from Key Vault into the Secret the blob CSI driver mounts with. */
export function logStorageExternalSecret(ctx: BuildContext, af: AirflowSpec): CustomResource {
  return new CustomResource(
    {
      apiVersion: EXTERNAL_SECRETS_API,
      kind: "ExternalSecret",
      metadata: { name: af.externalSecret, namespace: ctx.bp.namespace, labels: labelsFor(ctx) },
      spec: {
        refreshInterval: af.refreshInterval,
        secretStoreRef: { kind: "SecretStore", name: af.secretStore },
        target: { name: af.storageSecret, creationPolicy: "Owner" },
        data: [
          { secretKey: "azurestorageaccountname", remoteRef: { key: af.keyVaultSecrets.accountName } },
          { secretKey: "azurestorageaccountkey", remoteRef: { key: af.keyVaultSecrets.accountKey } },
        ],
      },
    },
    externalSecretSpec,
  );
}

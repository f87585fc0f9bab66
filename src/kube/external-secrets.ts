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

import { UserError } from "../errors.js";
import { CLOUDS, type CloudInfo, type CloudName } from "./cloud.js";
import type { AppOverride, HardeningOverride, KubeValues } from "./values.js";

/** Everything the manifests depend on besides the blueprint: the user's values with the cloud resolved. */
export interface KubeConfig {
  cloud: CloudInfo;
  values: KubeValues;
}

export function resolveConfig(values: KubeValues = {}, cloudFlag?: CloudName): KubeConfig {
  const name = cloudFlag ?? values.cloud ?? "AzurePublicCloud";
  return { cloud: CLOUDS[name], values: { ...values, cloud: name } };
}

/**
 * Reads settings for one render and remembers which ones were missing, so the output can carry an
 * obvious placeholder (`<registry>`) and apply can refuse to send it to a cluster.
 */
export class Settings {
  readonly missing = new Set<string>();

  constructor(readonly config: KubeConfig) {}

  get cloud(): CloudInfo {
    return this.config.cloud;
  }

  /** A required value, or `<field>` when the user has not set it yet. */
  need(field: string, value: string | undefined): string {
    if (value !== undefined && value !== "") return value;
    this.missing.add(field);
    return `<${field}>`;
  }

  /** Registry login server, e.g. `acrdemo.azurecr.io` (`.azurecr.cn` in Azure China). */
  registryServer(): string {
    const r = this.config.values.registry;
    if (!r) return this.need("registry", undefined);
    return r.includes(".") ? r : `${r}.${this.cloud.registrySuffix}`;
  }

  storageAccount(): string {
    return this.need("storageAccountName", this.config.values.storageAccountName);
  }

  workloadClientId(): string {
    return this.need("workloadIdentityClientId", this.config.values.workloadIdentityClientId);
  }

  producerClientId(): string {
    return this.need("producerIdentityClientId", this.config.values.producerIdentityClientId);
  }

  app(name: string): AppOverride {
    return this.config.values.apps?.[name] ?? {};
  }

  hardening(): HardeningOverride {
    return this.config.values.hardening ?? {};
  }
}

/** Values for apps the blueprint does not have are almost certainly a mistake (a typo in the name). */
export function checkAppNames(known: string[], values: KubeValues, blueprint: string): void {
  for (const section of ["apps", "images"] as const) {
    for (const name of Object.keys(values[section] ?? {})) {
      if (!known.includes(name)) {
        throw new UserError(
          `values: ${section}.${name} does not name an app of blueprint ${blueprint}`,
          known.length ? `apps are: ${known.join(", ")}` : `blueprint ${blueprint} has no apps to override`,
        );
      }
    }
  }
}

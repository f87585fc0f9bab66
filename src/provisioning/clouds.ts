import { UserError } from "../errors.js";
import { clip } from "../util/text.js";

export type CloudName = "AzurePublicCloud" | "AzureChinaCloud";

/** Endpoints and DNS suffixes of one Azure cloud. The KEDA `cloud` trigger value is the cloud's name. */
export interface Cloud {
  name: CloudName;
  /** Azure Resource Manager. */
  resourceManager: string;
  /** Token scope for ARM calls. */
  armScope: string;
  /** Microsoft Entra ID authority host (for DefaultAzureCredential). */
  authorityHost: string;
  storageSuffix: string;
  registrySuffix: string;
  keyVaultSuffix: string;
  /** `az cloud set --name …` spelling. */
  cliName: string;
  /** The value of the KEDA azure-queue trigger's `cloud` metadata. */
  kedaCloud: CloudName;
}

export const CLOUDS: Record<CloudName, Cloud> = {
  AzurePublicCloud: {
    name: "AzurePublicCloud",
    resourceManager: "https://management.azure.com",
    armScope: "https://management.azure.com/.default",
    authorityHost: "https://login.microsoftonline.com",
    storageSuffix: "core.windows.net",
    registrySuffix: "azurecr.io",
    keyVaultSuffix: "vault.azure.net",
    cliName: "AzureCloud",
    kedaCloud: "AzurePublicCloud",
  },
  AzureChinaCloud: {
    name: "AzureChinaCloud",
    resourceManager: "https://management.chinacloudapi.cn",
    armScope: "https://management.chinacloudapi.cn/.default",
    authorityHost: "https://login.chinacloudapi.cn",
    storageSuffix: "core.chinacloudapi.cn",
    registrySuffix: "azurecr.cn",
    keyVaultSuffix: "vault.azure.cn",
    cliName: "AzureChinaCloud",
    kedaCloud: "AzureChinaCloud",
  },
};

const ALIASES: Record<string, CloudName> = {
  azurepubliccloud: "AzurePublicCloud",
  azurecloud: "AzurePublicCloud",
  public: "AzurePublicCloud",
  azurechinacloud: "AzureChinaCloud",
  china: "AzureChinaCloud",
};

export function parseCloud(value: string): CloudName {
  const name = ALIASES[value.trim().toLowerCase()];
  if (!name) throw new UserError(`unknown cloud "${clip(value)}"`, "use AzurePublicCloud or AzureChinaCloud");
  return name;
}

export function cloudOf(name: CloudName): Cloud {
  return CLOUDS[name];
}

/** China regions are only reachable in AzureChinaCloud and vice versa; catching this early saves a failed deploy. */
export function checkLocation(cloud: CloudName, location: string): string {
  const loc = location.trim().toLowerCase().replace(/\s+/g, "");
  if (!/^[a-z0-9]+$/.test(loc)) throw new UserError(`"${clip(location)}" is not an Azure region name`, "use a name like westus3 or chinanorth3");
  const isChina = loc.startsWith("china");
  if (cloud === "AzureChinaCloud" && !isChina) {
    throw new UserError(`region ${loc} is not in AzureChinaCloud`, "use a China region (chinaeast2, chinanorth2, chinanorth3) or --cloud AzurePublicCloud");
  }
  if (cloud === "AzurePublicCloud" && isChina) {
    throw new UserError(`region ${loc} is in AzureChinaCloud, not AzurePublicCloud`, "add --cloud AzureChinaCloud");
  }
  return loc;
}

export function storageEndpoint(cloud: CloudName, account: string, service: "blob" | "queue" | "table"): string {
  return `https://${account}.${service}.${CLOUDS[cloud].storageSuffix}`;
}

export function registryLoginServer(cloud: CloudName, registry: string): string {
  return `${registry}.${CLOUDS[cloud].registrySuffix}`;
}

export function keyVaultUri(cloud: CloudName, vault: string): string {
  return `https://${vault}.${CLOUDS[cloud].keyVaultSuffix}/`;
}

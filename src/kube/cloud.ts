/** Azure clouds the Kubernetes target supports, with the suffixes that differ between them. */
export type CloudName = "AzurePublicCloud" | "AzureChinaCloud";

export interface CloudInfo {
  name: CloudName;
  /** Login-server suffix of Azure Container Registry. */
  registrySuffix: string;
  /** Storage endpoint suffix (`<account>.queue.<suffix>`). */
  storageSuffix: string;
  /** Value AGIC's Helm chart expects in `appgw.environment`. */
  agicEnvironment: string;
}

export const CLOUDS: Record<CloudName, CloudInfo> = {
  AzurePublicCloud: {
    name: "AzurePublicCloud",
    registrySuffix: "azurecr.io",
    storageSuffix: "core.windows.net",
    agicEnvironment: "AZUREPUBLICCLOUD",
  },
  AzureChinaCloud: {
    name: "AzureChinaCloud",
    registrySuffix: "azurecr.cn",
    storageSuffix: "core.chinacloudapi.cn",
    agicEnvironment: "AZURECHINACLOUD",
  },
};

export const CLOUD_NAMES = Object.keys(CLOUDS) as CloudName[];

export function isCloudName(value: string): value is CloudName {
  return (CLOUD_NAMES as string[]).includes(value);
}

import type { Blueprint } from "../../blueprints/types.js";
import { ref } from "../refs.js";
import type { BlueprintGraphDefinition, GraphContext, ResourceGraph } from "../types.js";
import { agentPools, clusterSpec, kubernetesVersion } from "./clusters.js";

/** Seed 001: a registry and a 2-node cluster with monitoring, the registry attached (AcrPull for the kubelet). */
export const resilientWebGraph: BlueprintGraphDefinition = {
  name: "resilient-web",
  blueprint: "resilient-web",
  title: "Resilient hello-world: AKS (the blueprint's pool) with monitoring and an attached registry",
  defaultCloud: "AzureChinaCloud",
  defaultLocation: { AzurePublicCloud: "eastus2", AzureChinaCloud: "chinaeast2" },
  build(ctx: GraphContext, bp: Blueprint): ResourceGraph {
    const s = ctx.suffix;
    const aks = clusterSpec(bp);
    const location = ctx.location;
    const tags = { app: "helloworld", "managed-by": "akspilot" };
    const rg = ref("resourceGroup");
    return {
      blueprint: "resilient-web",
      cloud: ctx.cloud,
      location,
      suffix: s,
      nodes: [
        { id: "resourceGroup", kind: "resourceGroup", name: `aksResilience-${s}`, location, tags },
        { id: "monitoring", kind: "logAnalyticsWorkspace", name: `log-aksresilience-${s}`, resourceGroup: rg, location, retentionInDays: 30, tags },
        { id: "registry", kind: "containerRegistry", name: `acr${s}`, resourceGroup: rg, location, sku: "Standard", adminUserEnabled: false, tags },
        {
          id: "cluster",
          kind: "managedCluster",
          name: `${aks.name}-${s}`,
          resourceGroup: rg,
          location,
          kubernetesVersion: kubernetesVersion(ctx, aks),
          tier: "Free",
          dnsPrefix: `${aks.name.toLowerCase()}-${s}`,
          pools: agentPools(aks),
          network: { plugin: "kubenet" },
          oidcIssuer: false,
          workloadIdentity: false,
          keda: false,
          nodeAutoProvisioning: false,
          blobCsiDriver: false,
          monitoring: ref("monitoring", "id"),
          tags,
        },
        {
          id: "attachRegistry",
          kind: "roleAssignment",
          name: "AcrPull@registry (kubelet)",
          scope: ref("registry", "id"),
          role: "AcrPull",
          principalId: ref("cluster", "kubeletObjectId"),
          principalType: "ServicePrincipal",
        },
      ],
      exports: [
        ["SUFFIX", s],
        ["REGION_NAME", location],
        ["RESOURCE_GROUP", ref("resourceGroup")],
        ["AKS_CLUSTER_NAME", ref("cluster")],
        ["ACR_NAME", ref("registry")],
        ["ACR_LOGIN_SERVER", ref("registry", "loginServer")],
      ],
    };
  },
};

import type { Blueprint } from "../../blueprints/types.js";
import { ref } from "../refs.js";
import type { BlueprintGraphDefinition, GraphContext, ManagedClusterNode, ResourceGraph, Ref } from "../types.js";
import { agentPools, clusterSpec, kubernetesVersion } from "./clusters.js";

type Color = "blue" | "green";

/** Each cluster's subnet in the seed's VNet (Azure CNI: pods take addresses from it). */
const SUBNETS: Record<Color, string> = { blue: "AksSubnet", green: "AksSubnetGreen" };

/**
 * Seed 003: one VNet (10.0.0.0/8) with the gateway subnet and one subnet per cluster, a static public IP,
 * an Application Gateway Standard_v2, blue and green clusters on Azure CNI with the AGIC add-on, and the switch.
 */
export const bluegreenGraph: BlueprintGraphDefinition = {
  name: "bluegreen",
  blueprint: "bluegreen",
  title: "Blue-green AKS upgrade behind one Application Gateway (AGIC)",
  defaultCloud: "AzureChinaCloud",
  defaultLocation: { AzurePublicCloud: "westus3", AzureChinaCloud: "chinanorth2" },
  build(ctx: GraphContext, bp: Blueprint): ResourceGraph {
    const s = ctx.suffix;
    const location = ctx.location;
    const tags = { app: "aspnetapp", "managed-by": "akspilot" };
    const rg = ref("resourceGroup");
    const start = bp.blueGreen?.activeCluster;
    const active: Color = ctx.active ?? (start === "green" ? "green" : "blue");
    // The blueprint's "blue" and "green" clusters: their pools and versions (blue runs the old one, green the new).
    const cluster = (color: Color): ManagedClusterNode => {
      const spec = clusterSpec(bp, color);
      return {
        id: color,
        kind: "managedCluster",
        name: `aks-${spec.name}-${s}`,
        resourceGroup: rg,
        location,
        kubernetesVersion: ctx.clusterVersions?.[color] ?? kubernetesVersion(ctx, spec),
        tier: "Free",
        dnsPrefix: `aks-${spec.name}-${s}`,
        pools: agentPools(spec, ref("vnet", `subnet:${SUBNETS[color]}`)),
        network: { plugin: "azure" },
        oidcIssuer: false,
        workloadIdentity: false,
        keda: false,
        nodeAutoProvisioning: false,
        blobCsiDriver: false,
        // Created without AGIC; the switch step decides which cluster's AGIC owns the gateway.
        tags: { ...tags, color },
      };
    };
    const gatewayId: Ref = ref("appGateway", "id");
    // An upgrade's `--finish` (or a rollback) leaves a cluster out: the engine deletes it, its subnet role and the switch.
    const retired = new Set(ctx.retired ?? []);
    const keep = (n: { id: string }) =>
      !(retired.has("blue") && ["blue", "blueSubnetRole"].includes(n.id)) &&
      !(retired.has("green") && ["green", "greenSubnetRole"].includes(n.id)) &&
      !(retired.size > 0 && n.id === "switch");
    const keepExport = ([k]: [string, unknown]) => !(retired.has("blue") && k === "AKS_OLD") && !(retired.has("green") && k === "AKS_NEW");
    const graph: ResourceGraph = {
      blueprint: "bluegreen",
      cloud: ctx.cloud,
      location,
      suffix: s,
      nodes: [
        { id: "resourceGroup", kind: "resourceGroup", name: `AKS_Upgrade-${s}`, location, tags },
        {
          id: "vnet",
          kind: "virtualNetwork",
          name: "AksVnet",
          resourceGroup: rg,
          location,
          addressPrefixes: ["10.0.0.0/8"],
          subnets: [
            { name: "AppGwSubnet", addressPrefix: "10.1.0.0/16" },
            { name: "AksSubnet", addressPrefix: "10.240.0.0/16" },
            { name: "AksSubnetGreen", addressPrefix: "10.241.0.0/16" },
          ],
          tags,
        },
        { id: "publicIp", kind: "publicIp", name: "AppGatewayIp", resourceGroup: rg, location, sku: "Standard", allocation: "Static", tags },
        {
          id: "appGateway",
          kind: "applicationGateway",
          name: "AppGateway",
          resourceGroup: rg,
          location,
          sku: "Standard_v2",
          capacity: 2,
          subnetId: ref("vnet", "subnet:AppGwSubnet"),
          publicIpId: ref("publicIp", "id"),
          tags,
        },
        cluster("blue"),
        cluster("green"),
        // Azure CNI in a custom VNet: each cluster's identity manages its own subnet (what the CLI grants implicitly).
        {
          id: "blueSubnetRole",
          kind: "roleAssignment",
          name: "Network Contributor@AksSubnet (blue)",
          scope: ref("vnet", "subnet:AksSubnet"),
          role: "Network Contributor",
          principalId: ref("blue", "principalId"),
          principalType: "ServicePrincipal",
        },
        {
          id: "greenSubnetRole",
          kind: "roleAssignment",
          name: "Network Contributor@AksSubnetGreen (green)",
          scope: ref("vnet", "subnet:AksSubnetGreen"),
          role: "Network Contributor",
          principalId: ref("green", "principalId"),
          principalType: "ServicePrincipal",
        },
        {
          id: "switch",
          kind: "agicSwitch",
          name: `agic->${active}`,
          resourceGroup: rg,
          active,
          clusters: { blue: ref("blue"), green: ref("green") },
          applicationGatewayId: gatewayId,
          dependsOn: ["blueSubnetRole", "greenSubnetRole"],
        },
      ],
      exports: [
        ["SUFFIX", s],
        ["AZ_REGION", location],
        ["RESOURCE_GROUP", ref("resourceGroup")],
        ["VNET_NAME", ref("vnet")],
        ["APP_GATEWAY", ref("appGateway")],
        ["APPGW_IP", ref("publicIp")],
        ["AKS_OLD", ref("blue")],
        ["AKS_NEW", ref("green")],
        ["ACTIVE_CLUSTER", active],
      ],
    };
    return retired.size === 0 ? graph : { ...graph, nodes: graph.nodes.filter(keep), exports: graph.exports.filter(keepExport) };
  },
};

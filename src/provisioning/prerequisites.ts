import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { TokenCredential } from "@azure/core-auth";
import { UserError } from "../errors.js";
import { cloudOf, type CloudName } from "./clouds.js";
import type { ArmClients } from "./azure/clients.js";
import { isNotFound, statusOf } from "./azure/errors.js";
import type { ProvisionLog } from "./log.js";
import type { ResourceGraph, ResourceKind } from "./types.js";

/** Resource providers each kind needs registered on the subscription. */
const NAMESPACES: Partial<Record<ResourceKind, string[]>> = {
  storageAccount: ["Microsoft.Storage"],
  storageSubnetRule: ["Microsoft.Network"],
  containerRegistry: ["Microsoft.ContainerRegistry"],
  userAssignedIdentity: ["Microsoft.ManagedIdentity"],
  keyVault: ["Microsoft.KeyVault"],
  managedCluster: ["Microsoft.ContainerService"],
  logAnalyticsWorkspace: ["Microsoft.OperationalInsights", "Microsoft.OperationsManagement"],
  virtualNetwork: ["Microsoft.Network"],
  publicIp: ["Microsoft.Network"],
  applicationGateway: ["Microsoft.Network"],
};

export interface PreviewFeature {
  namespace: string;
  name: string;
  why: string;
}

export function requiredNamespaces(graph: ResourceGraph): string[] {
  return [...new Set(graph.nodes.flatMap((n) => NAMESPACES[n.kind] ?? []))].sort();
}

export function requiredFeatures(graph: ResourceGraph): PreviewFeature[] {
  const nap = graph.nodes.some((n) => n.kind === "managedCluster" && n.nodeAutoProvisioning);
  return nap ? [{ namespace: "Microsoft.ContainerService", name: "NodeAutoProvisioningPreview", why: "node auto-provisioning (Karpenter)" }] : [];
}

/** The subscription az has selected for this cloud (~/.azure/azureProfile.json), as `az account show` would print it. */
export function cliDefaultSubscription(cloud: CloudName, home = homedir()): { id: string; name: string; user?: string } | undefined {
  const file = join(process.env.AZURE_CONFIG_DIR ?? join(home, ".azure"), "azureProfile.json");
  if (!existsSync(file)) return undefined;
  try {
    // az writes this file with a byte-order mark.
    const profile = JSON.parse(readFileSync(file, "utf8").replace(/^\uFEFF/, "")) as {
      subscriptions?: Array<{ id: string; name: string; isDefault?: boolean; environmentName?: string; user?: { name?: string } }>;
    };
    const want = cloudOf(cloud).cliName.toLowerCase();
    const s = profile.subscriptions?.find((x) => x.isDefault && (x.environmentName ?? "AzureCloud").toLowerCase() === want);
    return s && { id: s.id, name: s.name, user: s.user?.name };
  } catch {
    return undefined;
  }
}

/** Claims of the ARM access token: tenant and the signed-in principal. */
function tokenClaims(token: string): { tid?: string; oid?: string; upn?: string; appid?: string } {
  try {
    return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { tid?: string; oid?: string; upn?: string };
  } catch {
    return {};
  }
}

export interface SignIn {
  tenantId: string;
  objectId?: string;
  user?: string;
}

/** DefaultAzureCredential (az login, environment, managed identity, workload identity) for the chosen cloud. */
export async function checkSignIn(credential: TokenCredential, cloud: CloudName): Promise<SignIn> {
  const c = cloudOf(cloud);
  let token: string;
  try {
    const t = await credential.getToken(c.armScope);
    if (!t) throw new Error("no token");
    token = t.token;
  } catch (e) {
    const first = ((e as Error).message ?? "").split("\n")[0];
    throw new UserError(
      `not signed in to ${cloud} (DefaultAzureCredential found no usable credential: ${first})`,
      cloud === "AzureChinaCloud" ? "run `az cloud set --name AzureChinaCloud && az login`" : "run `az login` (or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)",
    );
  }
  const claims = tokenClaims(token);
  return { tenantId: claims.tid ?? "", objectId: claims.oid, user: claims.upn ?? claims.appid };
}

/**
 * Everything that would make a deploy fail half-way, checked first: the subscription answers, the resource
 * providers are registered, the preview features are on. Each problem is printed with the command that fixes it.
 */
export async function checkSubscription(arm: ArmClients, graph: ResourceGraph, log: ProvisionLog): Promise<void> {
  const problems: string[] = [];
  for (const ns of requiredNamespaces(graph)) {
    try {
      const p = await arm.resources.providers.get(ns);
      if (p.registrationState?.toLowerCase() !== "registered") {
        problems.push(`resource provider ${ns} is ${p.registrationState ?? "not registered"} — fix: az provider register --namespace ${ns} --wait`);
      }
    } catch (e) {
      const status = statusOf(e);
      if (status === 404 || status === 403 || status === 401) {
        throw new UserError(
          `subscription ${arm.conn.subscriptionId} is not accessible (HTTP ${status})`,
          "check the id with `az account list -o table`, then pass --subscription <id> or `az account set`",
        );
      }
      throw e;
    }
  }
  for (const f of requiredFeatures(graph)) {
    const id = `/subscriptions/${arm.conn.subscriptionId}/providers/Microsoft.Features/providers/${f.namespace}/features/${f.name}`;
    let state = "NotRegistered";
    try {
      const r = await arm.resources.resources.getById(id.replace(/^\//, ""), "2021-07-01");
      state = String((r.properties as { state?: string } | undefined)?.state ?? state);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (state.toLowerCase() !== "registered") {
      problems.push(
        `preview feature ${f.namespace}/${f.name} (${f.why}) is ${state} — fix: az feature register --namespace ${f.namespace} --name ${f.name}; then, once \`az feature show --namespace ${f.namespace} --name ${f.name} --query properties.state\` says Registered: az provider register --namespace ${f.namespace}`,
      );
    } else {
      log.info(`Preview feature ${f.name} is registered.`);
    }
  }
  if (problems.length > 0) {
    for (const p of problems) log.error(p);
    throw new UserError(
      `${problems.length} Azure prerequisite(s) missing: ${problems.map((p) => p.split(" — ")[0]).join("; ")}`,
      "run the fix commands printed above, then re-run; nothing was created",
    );
  }
}

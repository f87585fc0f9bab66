import type { ManagedCluster } from "@azure/arm-containerservice";
import type { CloudName } from "../clouds.js";
import { fingerprint, resourceGroupId, resourceId, roleAssignmentName } from "../ids.js";
import type { Observed, RemoveOutcome, ResolvedNode, StepContext } from "../provider.js";
import { isSecretRef, type Outputs, type Resolved } from "../refs.js";
import { roleDefinitionId, type RoleName } from "../roles.js";
import type { ResourceRecord } from "../state.js";
import type { NodeOfKind, ResourceKind } from "../types.js";
import type { ArmClients } from "./clients.js";
import { isNotFound, statusOf } from "./errors.js";

export interface AzureContext {
  arm: ArmClients;
  subscriptionId: string;
  tenantId: string;
  cloud: CloudName;
  step: StepContext;
  /** LRO polling interval (ms); small in protocol tests. */
  pollMs: number;
  /** Wait between retries while a new identity replicates. */
  replicationDelayMs: number;
  /** Reads a secret from its producing node. */
  secret(v: string | { secretFrom: string; key: string }): Promise<string>;
}

type R<K extends ResourceKind> = Resolved<NodeOfKind<K>>;

export interface KindHandler<K extends ResourceKind> {
  read(node: R<K>, c: AzureContext, previous: ResourceRecord | undefined): Promise<Observed | undefined>;
  desired(node: R<K>, c: AzureContext): Promise<Record<string, unknown>> | Record<string, unknown>;
  apply(node: R<K>, c: AzureContext): Promise<Outputs>;
  remove(record: ResourceRecord, c: AzureContext): Promise<RemoveOutcome>;
}

/** GET that maps 404 to undefined. */
async function maybe<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get();
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** DELETE that treats 404 (and an empty 204) as already gone. */
async function del(run: () => Promise<unknown>): Promise<RemoveOutcome> {
  try {
    await run();
    return { result: "deleted" };
  } catch (e) {
    if (isNotFound(e)) return { result: "absent" };
    throw e;
  }
}

const lro = (c: AzureContext) => ({ updateIntervalInMs: c.pollMs });
const str = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
const sorted = (xs: string[]) => [...xs].sort();
const rp = (r: ResourceRecord, k: string) => String(r.props[k]);

const resourceGroup: KindHandler<"resourceGroup"> = {
  async read(n, c) {
    const rg = await maybe(() => c.arm.resources.resourceGroups.get(n.name));
    return rg && { props: { location: rg.location, tags: rg.tags ?? {} }, outputs: { id: rg.id ?? resourceGroupId(c.subscriptionId, n.name), name: n.name } };
  },
  desired: (n) => ({ location: n.location, tags: n.tags }),
  async apply(n, c) {
    const rg = await c.arm.resources.resourceGroups.createOrUpdate(n.name, { location: n.location, tags: n.tags });
    return { id: rg.id ?? resourceGroupId(c.subscriptionId, n.name), name: n.name };
  },
  async remove(r, c) {
    // Never delete a group that holds something akspilot did not create (another team's resources).
    const left: string[] = [];
    try {
      for await (const res of c.arm.resources.resources.listByResourceGroup(r.name)) left.push(`${res.type}/${res.name}`);
    } catch (e) {
      if (isNotFound(e)) return { result: "absent" };
      throw e;
    }
    if (left.length > 0)
      return { result: "kept", reason: `it still holds ${left.length} resource(s) akspilot did not create: ${left.slice(0, 3).join(", ")}${left.length > 3 ? ", …" : ""}` };
    return del(() => c.arm.resources.resourceGroups.beginDeleteAndWait(r.name, lro(c)));
  },
};

const storageAccount: KindHandler<"storageAccount"> = {
  async read(n, c) {
    const a = await maybe(() => c.arm.storage.storageAccounts.getProperties(n.resourceGroup, n.name));
    if (!a) return undefined;
    return {
      props: {
        location: a.location,
        sku: a.sku?.name,
        kind: a.kind,
        tags: a.tags ?? {},
        defaultAction: a.networkRuleSet?.defaultAction,
        ipRules: sorted((a.networkRuleSet?.ipRules ?? []).map((r) => r.iPAddressOrRange)),
        minimumTlsVersion: a.minimumTlsVersion,
        allowBlobPublicAccess: a.allowBlobPublicAccess,
      },
      outputs: {
        id: a.id ?? "",
        name: n.name,
        blobEndpoint: str(a.primaryEndpoints?.blob) ?? "",
        queueEndpoint: str(a.primaryEndpoints?.queue) ?? "",
        tableEndpoint: str(a.primaryEndpoints?.table) ?? "",
      },
    };
  },
  desired: (n) => ({
    location: n.location,
    sku: n.sku,
    kind: "StorageV2",
    tags: n.tags,
    defaultAction: n.defaultAction,
    ipRules: sorted(n.ipRules),
    minimumTlsVersion: "TLS1_2",
    allowBlobPublicAccess: false,
  }),
  async apply(n, c) {
    // Keep virtual-network rules the subnet-rule step added; the blueprint manages only the IP rules here.
    const existing = await maybe(() => c.arm.storage.storageAccounts.getProperties(n.resourceGroup, n.name));
    const virtualNetworkRules = existing?.networkRuleSet?.virtualNetworkRules;
    // PUT on an existing account updates it (same location), so one call covers create and update.
    const a = await c.arm.storage.storageAccounts.beginCreateAndWait(
      n.resourceGroup,
      n.name,
      {
        location: n.location,
        sku: { name: n.sku },
        kind: "StorageV2",
        tags: n.tags,
        minimumTlsVersion: "TLS1_2",
        allowBlobPublicAccess: false,
        enableHttpsTrafficOnly: true,
        networkRuleSet: {
          defaultAction: n.defaultAction,
          bypass: "AzureServices",
          ipRules: n.ipRules.map((ip) => ({ iPAddressOrRange: ip, action: "Allow" as const })),
          virtualNetworkRules,
        },
      },
      lro(c),
    );
    return {
      id: a.id ?? resourceId(c.subscriptionId, n as ResolvedNode),
      name: n.name,
      blobEndpoint: str(a.primaryEndpoints?.blob) ?? "",
      queueEndpoint: str(a.primaryEndpoints?.queue) ?? "",
      tableEndpoint: str(a.primaryEndpoints?.table) ?? "",
    };
  },
  remove: (r, c) => del(() => c.arm.storage.storageAccounts.delete(rp(r, "resourceGroup"), r.name)),
};

const storageQueue: KindHandler<"storageQueue"> = {
  async read(n, c) {
    const q = await maybe(() => c.arm.storage.queue.get(n.resourceGroup, n.account, n.name));
    return q && { props: {}, outputs: { id: q.id ?? resourceId(c.subscriptionId, n as ResolvedNode), name: n.name } };
  },
  desired: () => ({}),
  async apply(n, c) {
    const q = await c.arm.storage.queue.create(n.resourceGroup, n.account, n.name, {});
    return { id: q.id ?? resourceId(c.subscriptionId, n as ResolvedNode), name: n.name };
  },
  remove: (r, c) => del(() => c.arm.storage.queue.delete(rp(r, "resourceGroup"), rp(r, "account"), r.name)),
};

const storageTable: KindHandler<"storageTable"> = {
  async read(n, c) {
    const t = await maybe(() => c.arm.storage.table.get(n.resourceGroup, n.account, n.name));
    return t && { props: {}, outputs: { id: t.id ?? resourceId(c.subscriptionId, n as ResolvedNode), name: n.name } };
  },
  desired: () => ({}),
  async apply(n, c) {
    const t = await c.arm.storage.table.create(n.resourceGroup, n.account, n.name);
    return { id: t.id ?? resourceId(c.subscriptionId, n as ResolvedNode), name: n.name };
  },
  remove: (r, c) => del(() => c.arm.storage.table.delete(rp(r, "resourceGroup"), rp(r, "account"), r.name)),
};

const blobContainer: KindHandler<"blobContainer"> = {
  async read(n, c) {
    const b = await maybe(() => c.arm.storage.blobContainers.get(n.resourceGroup, n.account, n.name));
    return b && { props: { publicAccess: b.publicAccess ?? "None" }, outputs: { id: b.id ?? resourceId(c.subscriptionId, n as ResolvedNode), name: n.name } };
  },
  desired: () => ({ publicAccess: "None" }),
  async apply(n, c) {
    const b = await c.arm.storage.blobContainers.create(n.resourceGroup, n.account, n.name, { publicAccess: "None" });
    return { id: b.id ?? resourceId(c.subscriptionId, n as ResolvedNode), name: n.name };
  },
  remove: (r, c) => del(() => c.arm.storage.blobContainers.delete(rp(r, "resourceGroup"), rp(r, "account"), r.name)),
};

/**
 * @azure/arm-storage 20.0.0 drops a PATCH whose only property is networkRuleSet (its "all properties
 * undefined" check spells it "NetworkRuleSet"): sending the unchanged TLS minimum keeps the body intact.
 */
const PATCH_WORKAROUND = { minimumTlsVersion: "TLS1_2" } as const;

/** The first subnet of the first virtual network AKS created in its node resource group (seed step 22). */
async function nodeSubnet(c: AzureContext, nodeRg: string): Promise<{ vnet: string; subnet: string; id: string; endpoints: string[] } | undefined> {
  for await (const v of c.arm.network.virtualNetworks.list(nodeRg)) {
    const s = v.subnets?.[0];
    if (v.name && s?.name && s.id) return { vnet: v.name, subnet: s.name, id: s.id, endpoints: (s.serviceEndpoints ?? []).map((e) => e.service ?? "") };
  }
  return undefined;
}

const storageSubnetRule: KindHandler<"storageSubnetRule"> = {
  async read(n, c) {
    const sub = await nodeSubnet(c, n.nodeResourceGroup);
    const a = await maybe(() => c.arm.storage.storageAccounts.getProperties(n.resourceGroup, n.account));
    if (!sub || !a) return undefined;
    const rule = (a.networkRuleSet?.virtualNetworkRules ?? []).some((r) => r.virtualNetworkResourceId.toLowerCase() === sub.id.toLowerCase());
    return {
      props: { serviceEndpoint: sub.endpoints.includes("Microsoft.Storage"), rule },
      outputs: { id: resourceId(c.subscriptionId, n as ResolvedNode), name: n.name, subnetId: sub.id },
    };
  },
  desired: () => ({ serviceEndpoint: true, rule: true }),
  async apply(n, c) {
    const sub = await nodeSubnet(c, n.nodeResourceGroup);
    if (!sub) throw new Error(`no virtual network found in the cluster's node resource group ${n.nodeResourceGroup}`);
    if (!sub.endpoints.includes("Microsoft.Storage")) {
      const s = await c.arm.network.subnets.get(n.nodeResourceGroup, sub.vnet, sub.subnet);
      s.serviceEndpoints = [...(s.serviceEndpoints ?? []), { service: "Microsoft.Storage" }];
      await c.arm.network.subnets.beginCreateOrUpdateAndWait(n.nodeResourceGroup, sub.vnet, sub.subnet, s, lro(c));
    }
    const a = await c.arm.storage.storageAccounts.getProperties(n.resourceGroup, n.account);
    const rules = a.networkRuleSet?.virtualNetworkRules ?? [];
    if (!rules.some((r) => r.virtualNetworkResourceId.toLowerCase() === sub.id.toLowerCase())) {
      await c.arm.storage.storageAccounts.update(n.resourceGroup, n.account, {
        ...PATCH_WORKAROUND,
        networkRuleSet: {
          ...a.networkRuleSet,
          defaultAction: a.networkRuleSet?.defaultAction ?? "Deny",
          virtualNetworkRules: [...rules, { virtualNetworkResourceId: sub.id, action: "Allow" }],
        },
      });
    }
    return { id: resourceId(c.subscriptionId, n as ResolvedNode), name: n.name, subnetId: sub.id };
  },
  async remove(r, c) {
    const a = await maybe(() => c.arm.storage.storageAccounts.getProperties(rp(r, "resourceGroup"), rp(r, "account")));
    const subnetId = (r.outputs.subnetId ?? "").toLowerCase();
    const rules = a?.networkRuleSet?.virtualNetworkRules ?? [];
    if (!a || !rules.some((x) => x.virtualNetworkResourceId.toLowerCase() === subnetId)) return { result: "absent" };
    await c.arm.storage.storageAccounts.update(rp(r, "resourceGroup"), rp(r, "account"), {
      ...PATCH_WORKAROUND,
      networkRuleSet: { ...a.networkRuleSet!, virtualNetworkRules: rules.filter((x) => x.virtualNetworkResourceId.toLowerCase() !== subnetId) },
    });
    return { result: "deleted" };
  },
};

const containerRegistry: KindHandler<"containerRegistry"> = {
  async read(n, c) {
    const g = await maybe(() => c.arm.registry.registries.get(n.resourceGroup, n.name));
    return (
      g && {
        props: { location: g.location, sku: g.sku.name, adminUserEnabled: g.adminUserEnabled ?? false, tags: g.tags ?? {} },
        outputs: { id: g.id ?? "", name: n.name, loginServer: g.loginServer ?? "" },
      }
    );
  },
  desired: (n) => ({ location: n.location, sku: n.sku, adminUserEnabled: n.adminUserEnabled, tags: n.tags }),
  async apply(n, c) {
    const g = await c.arm.registry.registries.beginCreateAndWait(
      n.resourceGroup,
      n.name,
      {
        location: n.location,
        sku: { name: n.sku },
        adminUserEnabled: n.adminUserEnabled,
        tags: n.tags,
      },
      lro(c),
    );
    return { id: g.id ?? resourceId(c.subscriptionId, n as ResolvedNode), name: n.name, loginServer: g.loginServer ?? "" };
  },
  remove: (r, c) => del(() => c.arm.registry.registries.beginDeleteAndWait(rp(r, "resourceGroup"), r.name, lro(c))),
};

const registryImport: KindHandler<"registryImport"> = {
  async read(n, c, previous) {
    // ARM cannot list a registry's tags (that is the data plane): an import is known by its record,
    // and only while its registry exists.
    if (previous?.status !== "ready") return undefined;
    const g = await maybe(() => c.arm.registry.registries.get(n.resourceGroup, n.registry));
    if (!g) return undefined;
    return { props: { source: `${previous.props.sourceRegistry}/${previous.props.sourceImage}` }, outputs: previous.outputs };
  },
  desired: (n) => ({ source: `${n.sourceRegistry}/${n.sourceImage}` }),
  async apply(n, c) {
    await c.arm.registry.registries.beginImportImageAndWait(
      n.resourceGroup,
      n.registry,
      {
        source: { registryUri: n.sourceRegistry, sourceImage: n.sourceImage },
        targetTags: [n.targetTag],
        // Re-running an import replaces the tag with the same image: idempotent.
        mode: "Force",
      },
      lro(c),
    );
    const server = c.step.record("registry")?.outputs.loginServer;
    return { id: resourceId(c.subscriptionId, n as ResolvedNode), name: n.name, image: `${server ?? n.registry}/${n.targetTag}` };
  },
  async remove(r, c) {
    const registry = Object.values(c.step.graph.nodes).find((x) => x.kind === "containerRegistry" && x.name === r.props.registry);
    if (registry && c.step.record(registry.id)?.createdByUs) return { result: "deleted" };
    return {
      result: "kept",
      reason: `images in a registry akspilot did not create are left; remove with \`az acr repository delete -n ${String(r.props.registry)} --image ${r.name}\``,
    };
  },
};

const userAssignedIdentity: KindHandler<"userAssignedIdentity"> = {
  async read(n, c) {
    const i = await maybe(() => c.arm.msi.userAssignedIdentities.get(n.resourceGroup, n.name));
    return (
      i && {
        props: { location: i.location, tags: i.tags ?? {} },
        outputs: { id: i.id ?? "", name: n.name, principalId: i.principalId ?? "", clientId: i.clientId ?? "", tenantId: i.tenantId ?? "" },
      }
    );
  },
  desired: (n) => ({ location: n.location, tags: n.tags }),
  async apply(n, c) {
    const i = await c.arm.msi.userAssignedIdentities.createOrUpdate(n.resourceGroup, n.name, { location: n.location, tags: n.tags });
    return { id: i.id ?? "", name: n.name, principalId: i.principalId ?? "", clientId: i.clientId ?? "", tenantId: i.tenantId ?? "" };
  },
  remove: (r, c) => del(() => c.arm.msi.userAssignedIdentities.delete(rp(r, "resourceGroup"), r.name)),
};

const federatedCredential: KindHandler<"federatedCredential"> = {
  async read(n, c) {
    const f = await maybe(() => c.arm.msi.federatedIdentityCredentials.get(n.resourceGroup, n.identity, n.name));
    return f && { props: { issuer: f.issuer, subject: f.subject, audiences: f.audiences }, outputs: { id: f.id ?? "", name: n.name } };
  },
  desired: (n) => ({ issuer: n.issuer, subject: n.subject, audiences: n.audiences }),
  async apply(n, c) {
    const f = await c.arm.msi.federatedIdentityCredentials.createOrUpdate(n.resourceGroup, n.identity, n.name, { issuer: n.issuer, subject: n.subject, audiences: n.audiences });
    return { id: f.id ?? resourceId(c.subscriptionId, n as ResolvedNode), name: n.name };
  },
  remove: (r, c) => del(() => c.arm.msi.federatedIdentityCredentials.delete(rp(r, "resourceGroup"), rp(r, "identity"), r.name)),
};

/** The SDK's URL template is `/{scope}/…` with the scope unescaped: a leading slash would double. */
const urlScope = (scope: string) => scope.replace(/^\/+/, "");

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Grants a role at a resource scope; retries while a just-created principal replicates. */
export async function grantRole(c: AzureContext, scope: string, role: RoleName, principalId: string, principalType: "ServicePrincipal" | "User" | "Group"): Promise<Outputs> {
  const name = roleAssignmentName({ scope, role, principalId } as R<"roleAssignment">);
  for (let attempt = 1; ; attempt++) {
    try {
      const a = await c.arm.authorization.roleAssignments.create(urlScope(scope), name, { roleDefinitionId: roleDefinitionId(c.subscriptionId, role), principalId, principalType });
      return { id: a.id ?? `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, name };
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      if (code === "PrincipalNotFound" && attempt < 6) {
        c.step.log.info(`      waiting for the new identity to replicate (attempt ${attempt}/6)`);
        await sleep(c.replicationDelayMs);
        continue;
      }
      throw e;
    }
  }
}

const roleAssignment: KindHandler<"roleAssignment"> = {
  async read(n, c) {
    const name = roleAssignmentName(n);
    const a = await maybe(() => c.arm.authorization.roleAssignments.get(urlScope(n.scope), name));
    if (a) return { props: { roleDefinitionId: a.roleDefinitionId, principalId: a.principalId, scope: a.scope }, outputs: { id: a.id ?? "", name } };
    // Granted already under another name (by az or the portal): found by role and principal, then adopted.
    const wanted = roleDefinitionId(c.subscriptionId, n.role).toLowerCase();
    try {
      for await (const x of c.arm.authorization.roleAssignments.listForScope(urlScope(n.scope), { filter: `atScope() and assignedTo('${n.principalId}')` })) {
        if (x.roleDefinitionId?.toLowerCase() === wanted && x.scope?.toLowerCase() === n.scope.toLowerCase()) {
          return { props: { roleDefinitionId: x.roleDefinitionId, principalId: x.principalId, scope: x.scope }, outputs: { id: x.id ?? "", name: x.name ?? "" } };
        }
      }
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    return undefined;
  },
  desired: (n, c) => ({ roleDefinitionId: roleDefinitionId(c.subscriptionId, n.role), principalId: n.principalId, scope: n.scope }),
  apply: (n, c) => grantRole(c, n.scope, n.role, n.principalId, n.principalType),
  async remove(r, c) {
    return del(() => c.arm.authorization.roleAssignments.delete(urlScope(rp(r, "scope")), r.outputs.name ?? ""));
  },
};

const keyVault: KindHandler<"keyVault"> = {
  async read(n, c) {
    const v = await maybe(() => c.arm.keyVault.vaults.get(n.resourceGroup, n.name));
    return (
      v && {
        props: {
          location: v.location,
          tags: v.tags ?? {},
          enableRbacAuthorization: v.properties.enableRbacAuthorization ?? false,
          softDeleteRetentionInDays: v.properties.softDeleteRetentionInDays,
          accessPolicies: (v.properties.accessPolicies ?? []).map((p) => ({ objectId: p.objectId, secrets: sorted((p.permissions.secrets ?? []).map(String)) })),
        },
        outputs: { id: v.id ?? "", name: n.name, vaultUri: v.properties.vaultUri ?? "" },
      }
    );
  },
  desired: (n) => ({
    location: n.location,
    tags: n.tags,
    enableRbacAuthorization: false,
    softDeleteRetentionInDays: n.softDeleteRetentionInDays,
    accessPolicies: n.accessPolicies.map((p) => ({ objectId: p.objectId, secrets: sorted(p.secrets) })),
  }),
  async apply(n, c) {
    const v = await c.arm.keyVault.vaults.beginCreateOrUpdateAndWait(
      n.resourceGroup,
      n.name,
      {
        location: n.location,
        tags: n.tags,
        properties: {
          tenantId: c.tenantId,
          sku: { family: "A", name: "standard" },
          enableRbacAuthorization: false,
          enableSoftDelete: true,
          softDeleteRetentionInDays: n.softDeleteRetentionInDays,
          accessPolicies: n.accessPolicies.map((p) => ({ tenantId: c.tenantId, objectId: p.objectId, permissions: { secrets: p.secrets } })),
        },
      },
      lro(c),
    );
    return { id: v.id ?? "", name: n.name, vaultUri: v.properties.vaultUri ?? "" };
  },
  async remove(r, c) {
    const out = await del(() => c.arm.keyVault.vaults.delete(rp(r, "resourceGroup"), r.name));
    if (out.result === "deleted") {
      c.step.log.info(
        `      ${r.name} is soft-deleted (recoverable for ${String(r.props.softDeleteRetentionInDays)} days); \`az keyvault purge --name ${r.name}\` frees the name now`,
      );
    }
    return out;
  },
};

const FINGERPRINT_TAG = "akspilot-fingerprint";

const keyVaultSecret: KindHandler<"keyVaultSecret"> = {
  async read(n, c) {
    const s = await maybe(() => c.arm.keyVault.secrets.get(n.resourceGroup, n.vault, n.name));
    // ARM never returns secret values; the tag written with the value says whether it changed.
    return s && { props: { value: s.tags?.[FINGERPRINT_TAG] ?? "(unknown)" }, outputs: { id: s.id ?? "", name: n.name, uri: s.properties.secretUri ?? "" } };
  },
  async desired(n, c) {
    return { value: fingerprint(await c.secret(n.value)) };
  },
  async apply(n, c) {
    const value = await c.secret(n.value);
    const s = await c.arm.keyVault.secrets.createOrUpdate(n.resourceGroup, n.vault, n.name, { tags: { [FINGERPRINT_TAG]: fingerprint(value) }, properties: { value } });
    return { id: s.id ?? "", name: n.name, uri: s.properties.secretUri ?? "" };
  },
  async remove(r, c) {
    const vault = c.step.graph.nodes.find((x) => x.kind === "keyVault" && x.name === r.props.vault);
    if (vault && c.step.record(vault.id)?.createdByUs) return { result: "deleted" };
    return {
      result: "kept",
      reason: `secrets in a vault akspilot did not create are left; remove with \`az keyvault secret delete --vault-name ${String(r.props.vault)} --name ${r.name}\``,
    };
  },
};

const logAnalyticsWorkspace: KindHandler<"logAnalyticsWorkspace"> = {
  async read(n, c) {
    const id = resourceId(c.subscriptionId, n as ResolvedNode);
    const w = await maybe(() => c.arm.resources.resources.getById(id.replace(/^\//, ""), WORKSPACE_API));
    const props = (w?.properties ?? {}) as { retentionInDays?: number };
    return w && { props: { location: w.location, retentionInDays: props.retentionInDays, tags: w.tags ?? {} }, outputs: { id: w.id ?? id, name: n.name } };
  },
  desired: (n) => ({ location: n.location, retentionInDays: n.retentionInDays, tags: n.tags }),
  async apply(n, c) {
    // No typed client for Log Analytics is installed; the generic resources API speaks the same ARM protocol.
    const id = resourceId(c.subscriptionId, n as ResolvedNode);
    const w = await c.arm.resources.resources.beginCreateOrUpdateByIdAndWait(
      id.replace(/^\//, ""),
      WORKSPACE_API,
      {
        location: n.location,
        tags: n.tags,
        properties: { sku: { name: "PerGB2018" }, retentionInDays: n.retentionInDays },
      },
      lro(c),
    );
    return { id: w.id ?? id, name: n.name };
  },
  remove: (r, c) => del(() => c.arm.resources.resources.beginDeleteByIdAndWait((r.outputs.id ?? "").replace(/^\//, ""), WORKSPACE_API, lro(c))),
};
const WORKSPACE_API = "2023-09-01";

function clusterBody(n: R<"managedCluster">): ManagedCluster {
  return {
    location: n.location,
    tags: n.tags,
    sku: { name: "Base", tier: n.tier },
    identity: n.identity ? { type: "UserAssigned", userAssignedIdentities: { [n.identity]: {} } } : { type: "SystemAssigned" },
    kubernetesVersion: n.kubernetesVersion,
    dnsPrefix: n.dnsPrefix,
    enableRbac: true,
    agentPoolProfiles: n.pools.map((p) => ({
      name: p.name,
      mode: p.mode,
      count: p.count,
      vmSize: p.vmSize,
      osType: "Linux",
      type: "VirtualMachineScaleSets",
      nodeTaints: p.taints.length > 0 ? p.taints : undefined,
      nodeLabels: p.labels,
      availabilityZones: p.zones,
      vnetSubnetID: p.subnetId,
    })),
    networkProfile: { networkPlugin: n.network.plugin, networkPluginMode: n.network.pluginMode, networkDataplane: n.network.dataplane },
    oidcIssuerProfile: { enabled: n.oidcIssuer },
    securityProfile: n.workloadIdentity ? { workloadIdentity: { enabled: true } } : undefined,
    workloadAutoScalerProfile: n.keda ? { keda: { enabled: true } } : undefined,
    nodeProvisioningProfile: n.nodeAutoProvisioning ? { mode: "Auto" } : undefined,
    storageProfile: n.blobCsiDriver ? { blobCSIDriver: { enabled: true } } : undefined,
    addonProfiles: n.monitoring ? { omsagent: { enabled: true, config: { logAnalyticsWorkspaceResourceID: n.monitoring } } } : undefined,
    autoUpgradeProfile: n.autoUpgradeChannel || n.nodeOsUpgradeChannel ? { upgradeChannel: n.autoUpgradeChannel, nodeOSUpgradeChannel: n.nodeOsUpgradeChannel } : undefined,
  };
}

function clusterView(m: ManagedCluster): Record<string, unknown> {
  return {
    location: m.location,
    tags: m.tags ?? {},
    tier: m.sku?.tier,
    kubernetesVersion: m.kubernetesVersion,
    dnsPrefix: m.dnsPrefix,
    pools: (m.agentPoolProfiles ?? []).map((p) => ({
      name: p.name,
      mode: p.mode,
      count: p.count,
      vmSize: p.vmSize,
      taints: p.nodeTaints ?? [],
      zones: p.availabilityZones,
      // Only pools with labels show them, so a pool without any compares equal however ARM spells "none".
      ...(p.nodeLabels && Object.keys(p.nodeLabels).length > 0 ? { labels: p.nodeLabels } : {}),
    })),
    network: { plugin: m.networkProfile?.networkPlugin, pluginMode: m.networkProfile?.networkPluginMode, dataplane: m.networkProfile?.networkDataplane },
    oidcIssuer: m.oidcIssuerProfile?.enabled ?? false,
    workloadIdentity: m.securityProfile?.workloadIdentity?.enabled ?? false,
    keda: m.workloadAutoScalerProfile?.keda?.enabled ?? false,
    nodeAutoProvisioning: m.nodeProvisioningProfile?.mode === "Auto",
    blobCsiDriver: m.storageProfile?.blobCSIDriver?.enabled ?? false,
    monitoring: m.addonProfiles?.omsagent?.enabled ? m.addonProfiles.omsagent.config?.logAnalyticsWorkspaceResourceID : undefined,
    autoUpgradeChannel: m.autoUpgradeProfile?.upgradeChannel,
    nodeOsUpgradeChannel: m.autoUpgradeProfile?.nodeOSUpgradeChannel,
  };
}

function clusterOutputs(m: ManagedCluster, name: string): Outputs {
  return {
    id: m.id ?? "",
    name,
    fqdn: m.fqdn ?? "",
    oidcIssuerUrl: m.oidcIssuerProfile?.issuerURL ?? "",
    kubeletObjectId: m.identityProfile?.kubeletidentity?.objectId ?? "",
    principalId: m.identity?.principalId ?? "",
    nodeResourceGroup: m.nodeResourceGroup ?? "",
  };
}

const managedCluster: KindHandler<"managedCluster"> = {
  async read(n, c) {
    const m = await maybe(() => c.arm.aks.managedClusters.get(n.resourceGroup, n.name));
    return m && { props: clusterView(m), outputs: clusterOutputs(m, n.name) };
  },
  desired: (n) => {
    const { monitoring, ...rest } = clusterView(clusterBody(n));
    // An omitted version means "the region's default": whatever the cluster runs is then fine.
    return { ...rest, kubernetesVersion: n.kubernetesVersion, monitoring };
  },
  async apply(n, c) {
    const existing = await maybe(() => c.arm.aks.managedClusters.get(n.resourceGroup, n.name));
    const body = clusterBody(n);
    // Keep add-ons the blueprint does not manage (AGIC set by the switch step) across updates.
    if (existing?.addonProfiles) body.addonProfiles = { ...existing.addonProfiles, ...body.addonProfiles };
    const m = await c.arm.aks.managedClusters.beginCreateOrUpdateAndWait(n.resourceGroup, n.name, body, lro(c));
    return clusterOutputs(m, n.name);
  },
  remove: (r, c) => del(() => c.arm.aks.managedClusters.beginDeleteAndWait(rp(r, "resourceGroup"), r.name, lro(c))),
};

const AGIC = "ingressApplicationGateway";

function agicOn(m: ManagedCluster | undefined, gatewayId: string): boolean {
  const a = m?.addonProfiles?.[AGIC];
  return !!a?.enabled && (a.config?.applicationGatewayId ?? "").toLowerCase() === gatewayId.toLowerCase();
}

async function setAgic(c: AzureContext, rg: string, cluster: string, gatewayId: string, enabled: boolean): Promise<ManagedCluster> {
  const m = await c.arm.aks.managedClusters.get(rg, cluster);
  m.addonProfiles = { ...m.addonProfiles, [AGIC]: enabled ? { enabled: true, config: { applicationGatewayId: gatewayId } } : { enabled: false } };
  return c.arm.aks.managedClusters.beginCreateOrUpdateAndWait(rg, cluster, m, lro(c));
}

const agicSwitch: KindHandler<"agicSwitch"> = {
  async read(n, c) {
    const [blue, green] = await Promise.all([
      maybe(() => c.arm.aks.managedClusters.get(n.resourceGroup, n.clusters.blue)),
      maybe(() => c.arm.aks.managedClusters.get(n.resourceGroup, n.clusters.green)),
    ]);
    if (!blue || !green) return undefined;
    const b = agicOn(blue, n.applicationGatewayId);
    const g = agicOn(green, n.applicationGatewayId);
    const active = b && g ? "both" : b ? "blue" : g ? "green" : "none";
    return { props: { active }, outputs: { id: resourceId(c.subscriptionId, n as ResolvedNode), name: n.name, active } };
  },
  desired: (n) => ({ active: n.active }),
  async apply(n, c) {
    const target = n.active === "blue" ? n.clusters.blue : n.clusters.green;
    const other = n.active === "blue" ? n.clusters.green : n.clusters.blue;
    // Target first, then release the other: the gateway always has an owner, never two for long.
    c.step.log.info(`      enabling AGIC on ${target}`);
    const m = await setAgic(c, n.resourceGroup, target, n.applicationGatewayId, true);
    const agicPrincipal = m.addonProfiles?.[AGIC]?.identity?.objectId;
    if (agicPrincipal) {
      // What `az aks enable-addons` grants implicitly: the add-on manages the gateway and reads its group.
      await grantRole(c, n.applicationGatewayId, "Contributor", agicPrincipal, "ServicePrincipal");
      await grantRole(c, resourceGroupId(c.subscriptionId, n.resourceGroup), "Reader", agicPrincipal, "ServicePrincipal");
    }
    const o = await maybe(() => c.arm.aks.managedClusters.get(n.resourceGroup, other));
    if (agicOn(o, n.applicationGatewayId)) {
      c.step.log.info(`      disabling AGIC on ${other}`);
      await setAgic(c, n.resourceGroup, other, n.applicationGatewayId, false);
    }
    return { id: resourceId(c.subscriptionId, n as ResolvedNode), name: n.name, active: n.active };
  },
  async remove() {
    // The add-on goes with its cluster; nothing separate to delete.
    return { result: "deleted" };
  },
};

const virtualNetwork: KindHandler<"virtualNetwork"> = {
  async read(n, c) {
    const v = await maybe(() => c.arm.network.virtualNetworks.get(n.resourceGroup, n.name));
    return (
      v && {
        props: {
          location: v.location,
          tags: v.tags ?? {},
          addressPrefixes: v.addressSpace?.addressPrefixes ?? [],
          subnets: (v.subnets ?? []).map((s) => ({ name: s.name, addressPrefix: s.addressPrefix })),
        },
        outputs: vnetOutputs(v.id ?? "", n.name, v.subnets ?? []),
      }
    );
  },
  desired: (n) => ({ location: n.location, tags: n.tags, addressPrefixes: n.addressPrefixes, subnets: n.subnets }),
  async apply(n, c) {
    const existing = await maybe(() => c.arm.network.virtualNetworks.get(n.resourceGroup, n.name));
    // Keep settings others add to subnets (service endpoints, delegations) when re-applying.
    const subnets = n.subnets.map((s) => ({ ...(existing?.subnets ?? []).find((x) => x.name === s.name), name: s.name, addressPrefix: s.addressPrefix }));
    const v = await c.arm.network.virtualNetworks.beginCreateOrUpdateAndWait(
      n.resourceGroup,
      n.name,
      {
        location: n.location,
        tags: n.tags,
        addressSpace: { addressPrefixes: n.addressPrefixes },
        subnets,
      },
      lro(c),
    );
    return vnetOutputs(v.id ?? resourceId(c.subscriptionId, n as ResolvedNode), n.name, v.subnets ?? []);
  },
  remove: (r, c) => del(() => c.arm.network.virtualNetworks.beginDeleteAndWait(rp(r, "resourceGroup"), r.name, lro(c))),
};

function vnetOutputs(id: string, name: string, subnets: Array<{ name?: string; id?: string }>): Outputs {
  return { id, name, ...Object.fromEntries(subnets.map((s) => [`subnet:${s.name}`, s.id ?? `${id}/subnets/${s.name}`])) };
}

const publicIp: KindHandler<"publicIp"> = {
  async read(n, c) {
    const p = await maybe(() => c.arm.network.publicIPAddresses.get(n.resourceGroup, n.name));
    return (
      p && {
        props: { location: p.location, tags: p.tags ?? {}, sku: p.sku?.name, allocation: p.publicIPAllocationMethod },
        outputs: { id: p.id ?? "", name: n.name, ipAddress: p.ipAddress ?? "" },
      }
    );
  },
  desired: (n) => ({ location: n.location, tags: n.tags, sku: n.sku, allocation: n.allocation }),
  async apply(n, c) {
    const p = await c.arm.network.publicIPAddresses.beginCreateOrUpdateAndWait(
      n.resourceGroup,
      n.name,
      {
        location: n.location,
        tags: n.tags,
        sku: { name: n.sku },
        publicIPAllocationMethod: n.allocation,
      },
      lro(c),
    );
    return { id: p.id ?? "", name: n.name, ipAddress: p.ipAddress ?? "" };
  },
  remove: (r, c) => del(() => c.arm.network.publicIPAddresses.beginDeleteAndWait(rp(r, "resourceGroup"), r.name, lro(c))),
};

const applicationGateway: KindHandler<"applicationGateway"> = {
  async read(n, c) {
    const g = await maybe(() => c.arm.network.applicationGateways.get(n.resourceGroup, n.name));
    return g && { props: { location: g.location, tags: g.tags ?? {}, sku: g.sku?.name, capacity: g.sku?.capacity }, outputs: { id: g.id ?? "", name: n.name } };
  },
  desired: (n) => ({ location: n.location, tags: n.tags, sku: n.sku, capacity: n.capacity }),
  async apply(n, c) {
    const existing = await maybe(() => c.arm.network.applicationGateways.get(n.resourceGroup, n.name));
    if (existing) {
      // AGIC owns listeners, pools and rules once it runs: change only what the blueprint manages.
      existing.sku = { name: n.sku, tier: n.sku, capacity: n.capacity };
      existing.tags = { ...existing.tags, ...n.tags };
      const g = await c.arm.network.applicationGateways.beginCreateOrUpdateAndWait(n.resourceGroup, n.name, existing, lro(c));
      return { id: g.id ?? "", name: n.name };
    }
    const id = resourceId(c.subscriptionId, n as ResolvedNode);
    const sub = (type: string, name: string) => ({ id: `${id}/${type}/${name}` });
    // The minimal configuration Azure accepts; AGIC replaces pools, settings, listeners and rules when it starts.
    const g = await c.arm.network.applicationGateways.beginCreateOrUpdateAndWait(
      n.resourceGroup,
      n.name,
      {
        location: n.location,
        tags: n.tags,
        sku: { name: n.sku, tier: n.sku, capacity: n.capacity },
        gatewayIPConfigurations: [{ name: "appGatewayIpConfig", subnet: { id: n.subnetId } }],
        frontendIPConfigurations: [{ name: "appGatewayFrontendIP", publicIPAddress: { id: n.publicIpId } }],
        frontendPorts: [{ name: "appGatewayFrontendPort", port: 80 }],
        backendAddressPools: [{ name: "appGatewayBackendPool" }],
        backendHttpSettingsCollection: [{ name: "appGatewayBackendHttpSettings", port: 80, protocol: "Http", cookieBasedAffinity: "Disabled", requestTimeout: 30 }],
        httpListeners: [
          {
            name: "appGatewayHttpListener",
            protocol: "Http",
            frontendIPConfiguration: sub("frontendIPConfigurations", "appGatewayFrontendIP"),
            frontendPort: sub("frontendPorts", "appGatewayFrontendPort"),
          },
        ],
        requestRoutingRules: [
          {
            name: "rule1",
            ruleType: "Basic",
            priority: 100,
            httpListener: sub("httpListeners", "appGatewayHttpListener"),
            backendAddressPool: sub("backendAddressPools", "appGatewayBackendPool"),
            backendHttpSettings: sub("backendHttpSettingsCollection", "appGatewayBackendHttpSettings"),
          },
        ],
      },
      lro(c),
    );
    return { id: g.id ?? id, name: n.name };
  },
  remove: (r, c) => del(() => c.arm.network.applicationGateways.beginDeleteAndWait(rp(r, "resourceGroup"), r.name, lro(c))),
};

export const HANDLERS: { [K in ResourceKind]: KindHandler<K> } = {
  resourceGroup,
  storageAccount,
  storageSubnetRule,
  storageQueue,
  storageTable,
  blobContainer,
  containerRegistry,
  registryImport,
  userAssignedIdentity,
  federatedCredential,
  roleAssignment,
  keyVault,
  keyVaultSecret,
  managedCluster,
  logAnalyticsWorkspace,
  virtualNetwork,
  publicIp,
  applicationGateway,
  agicSwitch,
};

/** Storage account key for secrets that carry it (seed 002 puts it in Key Vault). */
export async function storageKey(c: AzureContext, rg: string, account: string): Promise<string> {
  const keys = await c.arm.storage.storageAccounts.listKeys(rg, account);
  const v = keys.keys?.[0]?.value;
  if (!v) throw new Error(`storage account ${account} returned no keys`);
  return v;
}

export { statusOf, isSecretRef };

import { randomUUID } from "node:crypto";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { QueueServiceClient } from "@azure/storage-queue";
import { TableServiceClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { UserError } from "../../errors.js";
import { startAzurite, type AzuriteHandle } from "../../process/azurite.js";
import { fingerprint, resourceId } from "../ids.js";
import type { ProvisionLog } from "../log.js";
import type { Observed, Provider, RemoveOutcome, ResolvedNode, StepContext } from "../provider.js";
import type { Outputs } from "../refs.js";
import { isSecretRef } from "../refs.js";
import type { ResourceRecord } from "../state.js";
import type { ResourceGraph, SecretRef } from "../types.js";
import { Ledger, LOCAL_SUBSCRIPTION, localDir } from "./ledger.js";
import { LocalSecretVault, VaultError } from "./vault.js";

/** Where local storage lives: a connection string (Azurite or any Azure Storage account). */
interface StorageConnection {
  connectionString: string;
  accountName: string;
  accountKey: string;
  describe: string;
  handle?: AzuriteHandle;
}

export interface LocalProviderOptions {
  root?: string;
  /** Use this storage instead of starting Azurite (tests, or an Azurite the user runs). */
  connectionString?: string;
}

function parseConnectionString(cs: string): { accountName: string; accountKey: string; queue?: string } {
  const get = (k: string) => new RegExp(`(?:^|;)${k}=([^;]+)`, "i").exec(cs)?.[1];
  const accountName = get("AccountName");
  const accountKey = get("AccountKey");
  if (!accountName || !accountKey) {
    throw new UserError("AZURE_STORAGE_CONNECTION_STRING has no AccountName/AccountKey pair", "use an account-key connection string (Azurite's or a storage account's)");
  }
  return { accountName, accountKey, queue: get("QueueEndpoint") };
}

/** Kinds that exist on this machine only as records: the local runtime plays their part. */
const RECORDED = new Set([
  "resourceGroup",
  "containerRegistry",
  "registryImport",
  "userAssignedIdentity",
  "federatedCredential",
  "roleAssignment",
  "managedCluster",
  "virtualNetwork",
  "publicIp",
  "applicationGateway",
  "agicSwitch",
  "storageAccount",
  "logAnalyticsWorkspace",
  "storageSubnetRule",
]);

/**
 * The local target: queues, tables and blob containers in Azurite; secrets in a local vault file; identities,
 * role assignments, registries and cluster records in a ledger the local runtime reads (and enforces).
 */
export class LocalProvider implements Provider {
  readonly target = "local" as const;
  private readonly root: string;
  private storage?: StorageConnection;
  private ledgerCache?: Ledger;

  constructor(private readonly opts: LocalProviderOptions = {}) {
    this.root = resolve(opts.root ?? process.cwd());
  }

  private get ledger(): Ledger {
    return (this.ledgerCache ??= Ledger.open(this.root));
  }

  private vaultPath(name: string): string {
    return join(localDir(this.root), "vaults", `${name}.json`);
  }

  async preflight(graph: ResourceGraph, log: ProvisionLog): Promise<void> {
    // Opening the ledger validates it before any change.
    void this.ledger;
    const needsStorage = graph.nodes.some((n) => n.kind === "storageQueue" || n.kind === "storageTable" || n.kind === "blobContainer" || n.kind === "storageAccount");
    if (needsStorage) await this.connect(log);
  }

  private async connect(log: ProvisionLog): Promise<StorageConnection> {
    if (this.storage) return this.storage;
    const cs = this.opts.connectionString ?? process.env.AZURE_STORAGE_CONNECTION_STRING?.trim();
    if (cs) {
      const { accountName, accountKey, queue } = parseConnectionString(cs);
      log.secret(accountKey);
      this.storage = { connectionString: cs, accountName, accountKey, describe: `storage from AZURE_STORAGE_CONNECTION_STRING (${queue ?? accountName})` };
    } else {
      const dataDir = join(localDir(this.root), "azurite");
      const handle = await startAzurite({ dataDir });
      this.storage = {
        connectionString: handle.connectionString,
        accountName: handle.accountName,
        accountKey: handle.accountKey,
        handle,
        describe: `embedded Azurite (data in ${dataDir}, pid ${handle.pid})`,
      };
    }
    log.info(`Local storage: ${this.storage.describe}`);
    return this.storage;
  }

  private async requireStorage(ctx: StepContext): Promise<StorageConnection> {
    return this.connect(ctx.log);
  }

  private queues(s: StorageConnection): QueueServiceClient {
    return QueueServiceClient.fromConnectionString(s.connectionString);
  }

  private tables(s: StorageConnection): TableServiceClient {
    return TableServiceClient.fromConnectionString(s.connectionString, { allowInsecureConnection: true });
  }

  private blobs(s: StorageConnection): BlobServiceClient {
    return BlobServiceClient.fromConnectionString(s.connectionString);
  }

  async read(node: ResolvedNode, ctx: StepContext): Promise<Observed | undefined> {
    const id = resourceId(LOCAL_SUBSCRIPTION, node);
    switch (node.kind) {
      case "storageQueue": {
        const s = await this.requireStorage(ctx);
        const exists = await this.queues(s).getQueueClient(node.name).exists();
        return exists ? { props: {}, outputs: { id, name: node.name, url: this.queues(s).getQueueClient(node.name).url } } : undefined;
      }
      case "storageTable": {
        const s = await this.requireStorage(ctx);
        for await (const t of this.tables(s).listTables({ queryOptions: { filter: `TableName eq '${node.name}'` } })) {
          if (t.name === node.name) return { props: {}, outputs: { id, name: node.name } };
        }
        return undefined;
      }
      case "blobContainer": {
        const s = await this.requireStorage(ctx);
        const c = this.blobs(s).getContainerClient(node.name);
        return (await c.exists()) ? { props: {}, outputs: { id, name: node.name, url: c.url } } : undefined;
      }
      case "keyVault": {
        const entry = this.ledger.get(id);
        if (!entry || !LocalSecretVault.exists(this.vaultPath(node.name))) return undefined;
        return { props: entry.props, outputs: entry.outputs };
      }
      case "keyVaultSecret": {
        const path = this.vaultPath(node.vault);
        if (!LocalSecretVault.exists(path)) return undefined;
        try {
          const { value } = LocalSecretVault.open(path).getSecret(node.name);
          ctx.log.secret(value);
          return { props: { value: fingerprint(value) }, outputs: { id, name: node.name } };
        } catch (e) {
          if (e instanceof VaultError && e.statusCode === 404) return undefined;
          throw e;
        }
      }
      default: {
        const entry = this.ledger.get(id);
        return entry ? { props: entry.props, outputs: entry.outputs } : undefined;
      }
    }
  }

  async desired(node: ResolvedNode, ctx: StepContext): Promise<Record<string, unknown>> {
    switch (node.kind) {
      case "storageQueue":
      case "storageTable":
      case "blobContainer":
        return {};
      case "keyVaultSecret":
        return { value: fingerprint(await this.secretValue(node.value, ctx)) };
      default:
        return managedProps(node);
    }
  }

  private async secretValue(v: string | SecretRef, ctx: StepContext): Promise<string> {
    return isSecretRef(v) ? ctx.secret(v) : v;
  }

  async apply(node: ResolvedNode, ctx: StepContext): Promise<Outputs> {
    const id = resourceId(LOCAL_SUBSCRIPTION, node);
    switch (node.kind) {
      case "storageQueue": {
        const s = await this.requireStorage(ctx);
        const q = this.queues(s).getQueueClient(node.name);
        await q.createIfNotExists();
        return { id, name: node.name, url: q.url };
      }
      case "storageTable": {
        const s = await this.requireStorage(ctx);
        await this.tables(s).createTable(node.name);
        return { id, name: node.name };
      }
      case "blobContainer": {
        const s = await this.requireStorage(ctx);
        const c = this.blobs(s).getContainerClient(node.name);
        await c.createIfNotExists();
        return { id, name: node.name, url: c.url };
      }
      case "keyVault": {
        const path = this.vaultPath(node.name);
        LocalSecretVault.open(path, { name: node.name, softDeleteRetentionInDays: node.softDeleteRetentionInDays });
        return this.ledger.put(id, { kind: node.kind, name: node.name, props: managedProps(node), outputs: { id, name: node.name, vaultUri: pathToFileURL(path).href } }).outputs;
      }
      case "keyVaultSecret": {
        const vault = LocalSecretVault.open(this.vaultPath(node.vault));
        const value = await this.secretValue(node.value, ctx);
        const p = vault.setSecret(node.name, value);
        return { id, name: node.name, version: p.version };
      }
      default:
        if (!RECORDED.has(node.kind)) throw new Error(`the local target cannot create ${node.kind}`);
        return this.ledger.put(id, { kind: node.kind, name: node.name, props: managedProps(node), outputs: await this.recordOutputs(node, id, ctx) }).outputs;
    }
  }

  /** Outputs of recorded resources. Generated ids survive re-applies, as Azure's do. */
  private async recordOutputs(node: ResolvedNode, id: string, ctx: StepContext): Promise<Outputs> {
    const previous = this.ledger.get(id)?.outputs ?? {};
    const keep = (k: string, make: () => string) => previous[k] ?? make();
    const base: Outputs = { id, name: node.name };
    switch (node.kind) {
      case "storageAccount": {
        const s = await this.requireStorage(ctx);
        return { ...base, accountName: s.accountName, queueEndpoint: this.queues(s).url, tableEndpoint: this.tables(s).url, blobEndpoint: this.blobs(s).url };
      }
      case "containerRegistry":
        return { ...base, loginServer: `${node.name}.registry.local` };
      case "registryImport":
        return { ...base, image: `${node.registry}.registry.local/${node.targetTag}`, source: `${node.sourceRegistry}/${node.sourceImage}` };
      case "userAssignedIdentity":
        return { ...base, principalId: keep("principalId", randomUUID), clientId: keep("clientId", randomUUID), tenantId: "local" };
      case "managedCluster":
        return {
          ...base,
          nodeResourceGroup: `MC_${node.resourceGroup}_${node.name}_${node.location}`,
          oidcIssuerUrl: keep("oidcIssuerUrl", () => `https://oidc.local/${randomUUID()}/`),
          kubeletObjectId: keep("kubeletObjectId", randomUUID),
          principalId: keep("principalId", randomUUID),
          fqdn: `${node.dnsPrefix}.local`,
        };
      case "virtualNetwork":
        return { ...base, ...Object.fromEntries(node.subnets.map((sn) => [`subnet:${sn.name}`, `${id}/subnets/${sn.name}`])) };
      case "publicIp":
        return { ...base, ipAddress: "127.0.0.1" };
      case "agicSwitch":
        return { ...base, active: node.active };
      default:
        return base;
    }
  }

  async remove(_id: string, record: ResourceRecord, ctx: StepContext): Promise<RemoveOutcome> {
    const id = record.outputs.id ?? "";
    switch (record.kind) {
      case "storageQueue": {
        const s = await this.requireStorage(ctx);
        const r = await this.queues(s).getQueueClient(record.name).deleteIfExists();
        return { result: r.succeeded ? "deleted" : "absent" };
      }
      case "storageTable": {
        const s = await this.requireStorage(ctx);
        // deleteTable succeeds when the table is already gone (SDK behaviour), so check first.
        let found = false;
        for await (const t of this.tables(s).listTables({ queryOptions: { filter: `TableName eq '${record.name}'` } })) found ||= t.name === record.name;
        if (found) await this.tables(s).deleteTable(record.name);
        return { result: found ? "deleted" : "absent" };
      }
      case "blobContainer": {
        const s = await this.requireStorage(ctx);
        const r = await this.blobs(s).getContainerClient(record.name).deleteIfExists();
        return { result: r.succeeded ? "deleted" : "absent" };
      }
      case "keyVaultSecret": {
        const path = this.vaultPath(String(record.props.vault));
        if (!LocalSecretVault.exists(path)) return { result: "absent" };
        try {
          const v = LocalSecretVault.open(path);
          v.deleteSecret(record.name);
          // Key Vault semantics: soft-deleted, recoverable until purged (the vault's own destroy purges).
          return { result: "deleted" };
        } catch (e) {
          if (e instanceof VaultError && e.statusCode === 404) return { result: "absent" };
          throw e;
        }
      }
      case "keyVault": {
        const path = this.vaultPath(record.name);
        const existed = LocalSecretVault.exists(path);
        if (existed) {
          const live = LocalSecretVault.open(path).listSecrets();
          if (live.length > 0) return { result: "kept", reason: `it still holds ${live.length} secret(s) akspilot did not create` };
          LocalSecretVault.open(path).destroy();
        }
        return { result: this.ledger.delete(id) || existed ? "deleted" : "absent" };
      }
      case "resourceGroup": {
        const inside = this.ledger.under(id);
        if (inside.length > 0) return { result: "kept", reason: `it still holds ${inside.length} resource(s) akspilot did not create here` };
        return { result: this.ledger.delete(id) ? "deleted" : "absent" };
      }
      default:
        return { result: this.ledger.delete(id) ? "deleted" : "absent" };
    }
  }

  async readSecret(sourceId: string, key: string, ctx: StepContext): Promise<string> {
    const rec = ctx.record(sourceId);
    if (rec?.kind === "storageAccount" && key === "primaryKey") {
      const s = await this.requireStorage(ctx);
      return s.accountKey;
    }
    throw new Error(`no secret "${key}" on ${sourceId}`);
  }

  async close(): Promise<void> {
    await this.storage?.handle?.stop();
    this.storage = undefined;
  }
}

/** The node's own settings: everything but identity fields and parent references. */
export function managedProps(node: ResolvedNode): Record<string, unknown> {
  const { id: _i, kind: _k, name: _n, dependsOn: _d, ...rest } = node as ResolvedNode & { dependsOn?: string[] };
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}

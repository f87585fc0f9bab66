import { existsSync, statSync } from "node:fs";
import { Ledger, ledgerPath } from "../provisioning/local/ledger.js";
import type { RoleName } from "../provisioning/roles.js";

/** The tenant of the local target (Azure's tenants are GUIDs; identities record `local`, accepted too). */
export const LOCAL_TENANT_ID = "00000000-0000-0000-0000-00000000a0a0";
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";

export function isLocalTenant(t: string): boolean {
  return t === LOCAL_TENANT_ID || t.toLowerCase() === "local";
}

export interface IdentityRecord {
  id: string;
  name: string;
  principalId: string;
  clientId: string;
}

export interface FederatedRecord {
  id: string;
  name: string;
  /** Name of the identity it belongs to. */
  identity: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface ClusterRecord {
  id: string;
  name: string;
  issuerUrl: string;
}

export interface RoleRecord {
  id: string;
  scope: string;
  role: RoleName;
  principalId: string;
}

export interface VaultRecord {
  id: string;
  name: string;
  accessPolicies: Array<{ objectId: string; secrets: string[] }>;
}

export interface IdentityRecords {
  identities: IdentityRecord[];
  federated: FederatedRecord[];
  clusters: ClusterRecord[];
  roles: RoleRecord[];
  vaults: VaultRecord[];
  /** Storage account names (every one is served by the same local storage). */
  accounts: string[];
}

/** What the local provider recorded, read fresh (a later `deploy` changes it while services run). */
export function readRecords(root: string): IdentityRecords {
  const all = Ledger.open(root).all();
  const of = (kind: string) => all.filter(([, e]) => e.kind === kind);
  return {
    identities: of("userAssignedIdentity").map(([id, e]) => ({ id: e.outputs.id ?? id, name: e.name, principalId: String(e.outputs.principalId), clientId: String(e.outputs.clientId) })),
    federated: of("federatedCredential").map(([id, e]) => ({
      id: e.outputs.id ?? id, name: e.name, identity: String(e.props.identity), issuer: String(e.props.issuer), subject: String(e.props.subject),
      audiences: Array.isArray(e.props.audiences) ? (e.props.audiences as unknown[]).map(String) : [],
    })),
    clusters: of("managedCluster").filter(([, e]) => e.outputs.oidcIssuerUrl).map(([id, e]) => ({ id: e.outputs.id ?? id, name: e.name, issuerUrl: String(e.outputs.oidcIssuerUrl) })),
    roles: of("roleAssignment").map(([id, e]) => ({ id, scope: String(e.props.scope), role: e.props.role as RoleName, principalId: String(e.props.principalId) })),
    vaults: of("keyVault").map(([id, e]) => ({
      id: e.outputs.id ?? id, name: e.name,
      accessPolicies: Array.isArray(e.props.accessPolicies) ? (e.props.accessPolicies as Array<{ objectId: unknown; secrets: unknown }>).map((p) => ({ objectId: String(p.objectId), secrets: Array.isArray(p.secrets) ? p.secrets.map(String) : [] })) : [],
    })),
    accounts: of("storageAccount").map(([, e]) => e.name),
  };
}

/** readRecords, re-read only when the ledger file changed (requests are many; deploys are few). */
export class RecordCache {
  private at = -1;
  private cached?: IdentityRecords;

  constructor(private readonly root: string) {}

  get(): IdentityRecords {
    const p = ledgerPath(this.root);
    const m = existsSync(p) ? statSync(p).mtimeMs : 0;
    if (!this.cached || m !== this.at) {
      this.cached = existsSync(p) ? readRecords(this.root) : { identities: [], federated: [], clusters: [], roles: [], vaults: [], accounts: [] };
      this.at = m;
    }
    return this.cached;
  }
}

import { createHash } from "node:crypto";
import { statSync } from "node:fs";
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
    identities: of("userAssignedIdentity").map(([id, e]) => ({
      id: e.outputs.id ?? id,
      name: e.name,
      principalId: String(e.outputs.principalId),
      clientId: String(e.outputs.clientId),
    })),
    federated: of("federatedCredential").map(([id, e]) => ({
      id: e.outputs.id ?? id,
      name: e.name,
      identity: String(e.props.identity),
      issuer: String(e.props.issuer),
      subject: String(e.props.subject),
      audiences: Array.isArray(e.props.audiences) ? (e.props.audiences as unknown[]).map(String) : [],
    })),
    clusters: of("managedCluster")
      .filter(([, e]) => e.outputs.oidcIssuerUrl)
      .map(([id, e]) => ({ id: e.outputs.id ?? id, name: e.name, issuerUrl: String(e.outputs.oidcIssuerUrl) })),
    roles: of("roleAssignment").map(([id, e]) => ({ id, scope: String(e.props.scope), role: e.props.role as RoleName, principalId: String(e.props.principalId) })),
    vaults: of("keyVault").map(([id, e]) => ({
      id: e.outputs.id ?? id,
      name: e.name,
      accessPolicies: Array.isArray(e.props.accessPolicies)
        ? (e.props.accessPolicies as Array<{ objectId: unknown; secrets: unknown }>).map((p) => ({
            objectId: String(p.objectId),
            secrets: Array.isArray(p.secrets) ? p.secrets.map(String) : [],
          }))
        : [],
    })),
    accounts: of("storageAccount").map(([, e]) => e.name),
  };
}

/**
 * readRecords, re-read only when the ledger file changed (requests are many; deploys are few). One stat
 * per call: the ledger is replaced by a rename on every write, so a new inode, size or mtime means a
 * change even when two writes fall in the same clock tick (a role granted then revoked is seen at once).
 */
export class RecordCache {
  private at = "";
  private cached?: IdentityRecords;

  constructor(private readonly root: string) {}

  get(): IdentityRecords {
    const p = ledgerPath(this.root);
    const st = statSync(p, { throwIfNoEntry: false });
    const at = st ? `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : "none";
    if (!this.cached || at !== this.at) {
      this.cached = st ? readRecords(this.root) : { identities: [], federated: [], clusters: [], roles: [], vaults: [], accounts: [] };
      this.at = at;
    }
    return this.cached;
  }
}

/**
 * Records a federated identity credential on a local identity, as `az identity federated-credential
 * create` does on Azure (airflow-deploy.md step 5). Idempotent by name.
 */
export function recordFederatedCredential(root: string, fc: { identity: string; name: string; issuer: string; subject: string; audiences?: string[] }): FederatedRecord {
  const ledger = Ledger.open(root);
  const identity = ledger.all().find(([, e]) => e.kind === "userAssignedIdentity" && e.name === fc.identity);
  if (!identity) throw new Error(`no local identity named ${fc.identity}`);
  const identityId = identity[1].outputs.id ?? identity[0];
  const id = `${identityId}/federatedIdentityCredentials/${fc.name}`;
  const audiences = fc.audiences ?? [TOKEN_EXCHANGE_AUDIENCE];
  ledger.put(id, {
    kind: "federatedCredential",
    name: fc.name,
    props: { identity: fc.identity, resourceGroup: String(identity[1].props.resourceGroup ?? ""), issuer: fc.issuer, subject: fc.subject, audiences },
    outputs: { id, name: fc.name },
  });
  return { id, name: fc.name, identity: fc.identity, issuer: fc.issuer, subject: fc.subject, audiences };
}

/** Sets the secret permissions of one principal on a local vault, as `az keyvault set-policy` does. */
export function recordAccessPolicy(root: string, vault: string, objectId: string, secrets: string[]): void {
  const ledger = Ledger.open(root);
  const found = ledger.all().find(([, e]) => e.kind === "keyVault" && e.name === vault);
  if (!found) throw new Error(`no local vault named ${vault}`);
  const [id, entry] = found;
  const policies = (Array.isArray(entry.props.accessPolicies) ? entry.props.accessPolicies : []) as Array<{ objectId: string; secrets: string[] }>;
  const rest = policies.filter((p) => String(p.objectId).toLowerCase() !== objectId.toLowerCase());
  ledger.put(id, {
    kind: entry.kind,
    name: entry.name,
    props: { ...entry.props, accessPolicies: [...rest, ...(secrets.length ? [{ objectId, secrets }] : [])] },
    outputs: entry.outputs,
  });
}

/**
 * Records a role assignment, as `az role assignment create --assignee-object-id … --role … --scope …` does.
 * Idempotent by principal, role and scope.
 */
export function recordRoleAssignment(root: string, ra: { scope: string; role: RoleName; principalId: string; name?: string }): RoleRecord {
  const ledger = Ledger.open(root);
  const same = ledger
    .all()
    .find(
      ([, e]) =>
        e.kind === "roleAssignment" &&
        String(e.props.scope).toLowerCase() === ra.scope.toLowerCase() &&
        e.props.role === ra.role &&
        String(e.props.principalId).toLowerCase() === ra.principalId.toLowerCase(),
    );
  if (same) return { id: same[0], scope: ra.scope, role: ra.role, principalId: ra.principalId };
  const key = createHash("sha256").update(`${ra.scope}|${ra.role}|${ra.principalId}`).digest("hex");
  const guid = `${key.slice(0, 8)}-${key.slice(8, 12)}-${key.slice(12, 16)}-${key.slice(16, 20)}-${key.slice(20, 32)}`;
  const id = `${ra.scope}/providers/Microsoft.Authorization/roleAssignments/${guid}`;
  ledger.put(id, {
    kind: "roleAssignment",
    name: ra.name ?? `${ra.role}@${ra.scope.split("/").pop()}`,
    props: { scope: ra.scope, role: ra.role, principalId: ra.principalId, principalType: "ServicePrincipal" },
    outputs: { id, name: guid },
  });
  return { id, scope: ra.scope, role: ra.role, principalId: ra.principalId };
}

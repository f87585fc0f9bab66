import { ROLE_DATA_ACTIONS } from "../provisioning/roles.js";
import { EntraError, EntraTokenService } from "./entra.js";
import { ClusterIssuer, findCluster } from "./issuer.js";
import { KEY_VAULT_RESOURCE } from "./keyvault.js";
import { LOCAL_TENANT_ID, readRecords, TOKEN_EXCHANGE_AUDIENCE, type IdentityRecord } from "./records.js";
import { DATA_ACTIONS, grantingRoles, roleFor, type RequiredAccess, type StorageService } from "./storage-actions.js";

export type ExplainResource = StorageService | "keyvault";

export interface ChainLink {
  link: "service account" | "federated credential" | "token" | "role" | "access policy" | "resource";
  ok: boolean;
  detail: string;
  /** Azure's error (AADSTS…, AuthorizationPermissionMismatch, Forbidden) when the link breaks. */
  error?: string;
  /** The `az` command that mends a broken link. */
  fix?: string;
  /** A broken role link: the built-in role the fix assigns (e.g. Storage Queue Data Message Sender). */
  missingRole?: string;
}

export interface ExplainOptions {
  namespace: string;
  serviceAccount: string;
  resource: ExplainResource;
  /** Queue, table, container or vault name; any of the service when omitted. */
  name?: string;
  /** The client id the service account is annotated with (name, client or principal id); found from federated credentials when omitted. */
  identity?: string;
  cluster?: string;
  now?: number;
  /** Queue only: the pod sends (a producer: `messages/add`) rather than receives and deletes (`messages/process`). */
  send?: boolean;
}

const SCOPES: Record<ExplainResource, string> = {
  queue: "https://storage.azure.com/.default",
  table: "https://storage.azure.com/.default",
  blob: "https://storage.azure.com/.default",
  keyvault: `${KEY_VAULT_RESOURCE}/.default`,
};

function rgOf(id: string): string {
  return /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? "<resource-group>";
}

/**
 * Walks the workload-identity chain of one service account as AKS and Entra would: service account →
 * client id → federated credential → token exchange → role assignment or access policy → resource. Every
 * link says whether it holds; the first broken one carries Azure's error and the `az` command that fixes it.
 * The token exchange really runs (in process, against the local token service's rules); no token is returned.
 */
export async function explainChain(root: string, o: ExplainOptions): Promise<ChainLink[]> {
  const links: ChainLink[] = [];
  const records = readRecords(root);
  const cluster = findCluster(root, o.cluster);
  const subject = `system:serviceaccount:${o.namespace}:${o.serviceAccount}`;
  const fedFix = (identity: string, rgId: string) =>
    `az identity federated-credential create --name ${o.serviceAccount}-federated --identity-name ${identity} --resource-group ${rgOf(rgId)} --issuer ${cluster.issuerUrl} --subject ${subject} --audiences ${TOKEN_EXCHANGE_AUDIENCE}`;

  // 1. Service account → client id (the `azure.workload.identity/client-id` annotation).
  let identity: IdentityRecord | undefined;
  if (o.identity) {
    const w = o.identity.toLowerCase();
    identity = records.identities.find((i) => [i.name, i.clientId, i.principalId].some((x) => x.toLowerCase() === w));
    if (!identity) {
      links.push({
        link: "service account",
        ok: false,
        detail: `${o.namespace}/${o.serviceAccount} is annotated with "${o.identity}", which is no identity recorded here`,
        error: `AADSTS700016: Application with identifier '${o.identity}' was not found in the directory '${LOCAL_TENANT_ID}'.`,
        fix: `kubectl annotate serviceaccount ${o.serviceAccount} -n ${o.namespace} --overwrite azure.workload.identity/client-id=$(az identity show --name <identity> --resource-group <rg> --query clientId -o tsv)`,
      });
      return links;
    }
  } else {
    const fed = records.federated.filter((f) => f.subject === subject && f.issuer === cluster.issuerUrl);
    identity = fed.length > 0 ? records.identities.find((i) => i.name === fed[0]!.identity) : undefined;
    if (!identity) {
      const candidate = records.identities[0];
      links.push({
        link: "service account",
        ok: false,
        detail: `no identity has a federated credential for ${subject} on issuer ${cluster.issuerUrl}, so no client id belongs on ${o.namespace}/${o.serviceAccount}`,
        error: "AADSTS70021: No matching federated identity record found for presented assertion.",
        fix: candidate ? fedFix(candidate.name, candidate.id) : "az identity create --name <identity> --resource-group <rg>",
      });
      return links;
    }
  }
  links.push({ link: "service account", ok: true, detail: `${o.namespace}/${o.serviceAccount} → client id ${identity.clientId} (${identity.name})` });

  // 2. Federated credential of that identity matching issuer, subject and audience.
  const mine = records.federated.filter((f) => f.identity === identity.name);
  const match = mine.find((f) => f.issuer === cluster.issuerUrl && f.subject === subject && f.audiences.includes(TOKEN_EXCHANGE_AUDIENCE));
  if (!match) {
    const near = mine.map((f) => `${f.name}: ${f.subject}${f.issuer !== cluster.issuerUrl ? ` (issuer ${f.issuer})` : ""}`).join("; ");
    links.push({
      link: "federated credential",
      ok: false,
      detail: `${identity.name} has no federated credential for issuer ${cluster.issuerUrl} and subject ${subject}${near ? ` (it has: ${near})` : " (it has none)"}`,
      error: `AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '${cluster.issuerUrl}'. Assertion Subject: '${subject}'. Assertion Audience: '${TOKEN_EXCHANGE_AUDIENCE}'.`,
      fix: fedFix(identity.name, identity.id),
    });
    return links;
  }
  links.push({ link: "federated credential", ok: true, detail: `${match.name}: issuer ${match.issuer}, subject ${match.subject}` });

  // 3. The exchange itself, by the token service's rules.
  const issuer = await ClusterIssuer.open(root, cluster);
  const { token } = await issuer.serviceAccountToken(o.namespace, o.serviceAccount, { now: o.now });
  const tokens = new EntraTokenService({ root, now: o.now === undefined ? undefined : () => o.now! });
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: identity.clientId,
    scope: SCOPES[o.resource],
    client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    client_assertion: token,
  });
  try {
    await tokens.exchange(LOCAL_TENANT_ID, form);
  } catch (e) {
    const msg = e instanceof EntraError ? e.message : (e as Error).message;
    links.push({ link: "token", ok: false, detail: "the token service refused the projected token", error: msg, fix: fedFix(identity.name, identity.id) });
    return links;
  }
  links.push({ link: "token", ok: true, detail: `access token for ${SCOPES[o.resource].replace("/.default", "")} (oid ${identity.principalId}, appid ${identity.clientId})` });

  // 4. Role assignment (storage) or access policy (Key Vault).
  if (o.resource === "keyvault") {
    const vault = o.name ? records.vaults.find((v) => v.name === o.name) : records.vaults[0];
    if (!vault) {
      links.push({
        link: "resource",
        ok: false,
        detail: o.name ? `no vault named ${o.name} is recorded here` : "no vault is recorded here",
        fix: "az keyvault create --name <vault> --resource-group <rg> --enable-rbac-authorization false",
      });
      return links;
    }
    const policy = vault.accessPolicies.find((p) => p.objectId.toLowerCase() === identity.principalId.toLowerCase());
    if (!policy?.secrets.includes("get")) {
      links.push({
        link: "access policy",
        ok: false,
        detail: `${vault.name} has no access policy giving ${identity.name} (object id ${identity.principalId}) secrets get${policy ? ` (it has: ${policy.secrets.join(", ")})` : ""}`,
        error: `Forbidden (AccessDenied): The user, group or application 'appid=${identity.clientId};oid=${identity.principalId}' does not have secrets get permission on key vault '${vault.name}'.`,
        fix: `az keyvault set-policy --name ${vault.name} --object-id ${identity.principalId} --secret-permissions get`,
      });
      return links;
    }
    links.push({ link: "access policy", ok: true, detail: `${vault.name}: secrets ${policy.secrets.join(", ")} for object id ${identity.principalId}` });
    links.push({ link: "resource", ok: true, detail: `vault ${vault.name}` });
    return links;
  }
  const account = records.accounts[0];
  const accountId = readAccountId(root, account);
  const need: RequiredAccess = {
    service: o.resource,
    target: { account: account ?? "*", ...(o.name ? { [o.resource === "blob" ? "container" : o.resource]: o.name } : {}) },
    dataAction: o.resource === "queue" ? (o.send ? DATA_ACTIONS.queueAdd : DATA_ACTIONS.queueProcess) : o.resource === "table" ? DATA_ACTIONS.tableWrite : DATA_ACTIONS.blobWrite,
  };
  const granted = o.name
    ? grantingRoles(records.roles, identity.principalId, need)
    : records.roles.filter((r) => r.principalId.toLowerCase() === identity.principalId.toLowerCase() && (ROLE_DATA_ACTIONS[r.role] ?? []).includes(need.dataAction!));
  if (granted.length === 0) {
    const sub = o.resource === "queue" ? "queueServices/default/queues" : o.resource === "table" ? "tableServices/default/tables" : "blobServices/default/containers";
    const scope = `${accountId ?? "<storage-account-id>"}/${sub}/${o.name ?? "<name>"}`;
    links.push({
      link: "role",
      ok: false,
      detail: `${identity.name} holds no role allowing ${need.dataAction} on ${o.resource}${o.name ? ` ${o.name}` : "s"} of ${account ?? "the account"}`,
      error: "403 AuthorizationPermissionMismatch: This request is not authorized to perform this operation using this permission.",
      missingRole: roleFor(need),
      fix: `az role assignment create --assignee-object-id ${identity.principalId} --assignee-principal-type ServicePrincipal --role "${roleFor(need)}" --scope ${scope}`,
    });
    return links;
  }
  links.push({ link: "role", ok: true, detail: granted.map((r) => `${r.role} on ${r.scope.replace(/^.*\/providers\/Microsoft\.Storage\//i, "")}`).join("; ") });
  links.push({ link: "resource", ok: true, detail: `${o.resource}${o.name ? ` ${o.name}` : ""} in account ${account ?? "?"}` });
  return links;
}

function readAccountId(root: string, account: string | undefined): string | undefined {
  if (!account) return undefined;
  const r = readRecords(root);
  // Role scopes carry the account's id; any one that names the account gives it.
  const scope = r.roles.map((x) => x.scope).find((s) => new RegExp(`/storageAccounts/${account}(/|$)`, "i").test(s));
  return scope ? scope.replace(new RegExp(`(/storageAccounts/${account}).*$`, "i"), "$1") : undefined;
}

/** The chain as lines for a terminal. */
export function formatChain(links: ChainLink[]): string[] {
  const out: string[] = [];
  for (const l of links) {
    out.push(`${l.ok ? "✓" : "✗"} ${l.link.padEnd(20)} ${l.detail}`);
    if (l.error) out.push(`  ${"".padEnd(20)} Azure says: ${l.error}`);
    if (l.fix) out.push(`  ${"".padEnd(20)} fix: ${l.fix}`);
  }
  return out;
}

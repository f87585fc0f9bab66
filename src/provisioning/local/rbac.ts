import { randomUUID } from "node:crypto";
import { RestError } from "@azure/core-rest-pipeline";
import { ROLE_DATA_ACTIONS, type RoleName } from "../roles.js";
import { Ledger } from "./ledger.js";

/** Storage data actions the local runtime asks about (Azure's names, so one check serves both targets). */
export const DATA_ACTIONS = {
  queueRead: "Microsoft.Storage/storageAccounts/queueServices/queues/messages/read",
  queueAdd: "Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action",
  queueProcess: "Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action",
  queueDelete: "Microsoft.Storage/storageAccounts/queueServices/queues/messages/delete",
  tableRead: "Microsoft.Storage/storageAccounts/tableServices/tables/entities/read",
  tableAdd: "Microsoft.Storage/storageAccounts/tableServices/tables/entities/add/action",
  tableWrite: "Microsoft.Storage/storageAccounts/tableServices/tables/entities/write",
  blobRead: "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
  blobWrite: "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
} as const;

export interface LocalAccessRequest {
  /** The caller: a local identity's principalId, clientId or name (e.g. `mi-aks-workload-identity-ab12cd`). */
  principal: string;
  /** The Azure data action, e.g. DATA_ACTIONS.queueProcess. */
  dataAction: string;
  /** What is accessed. `account` is the blueprint's storage account name; any account matches when omitted. */
  target: { account?: string; queue?: string; table?: string; container?: string };
}

export interface LocalRoleAssignment {
  id: string;
  scope: string;
  role: RoleName;
  principalId: string;
}

export interface LocalIdentity {
  id: string;
  name: string;
  principalId: string;
  clientId: string;
}

/** Every identity recorded by local deploys. */
export function localIdentities(root = process.cwd()): LocalIdentity[] {
  return Ledger.open(root)
    .all()
    .filter(([, e]) => e.kind === "userAssignedIdentity")
    .map(([id, e]) => ({ id, name: e.name, principalId: e.outputs.principalId!, clientId: e.outputs.clientId! }));
}

export function localRoleAssignments(root = process.cwd()): LocalRoleAssignment[] {
  return Ledger.open(root)
    .all()
    .filter(([, e]) => e.kind === "roleAssignment")
    .map(([id, e]) => ({ id, scope: String(e.props.scope), role: e.props.role as RoleName, principalId: String(e.props.principalId) }));
}

/** The resource path below `providers/Microsoft.Storage/`, with `*` for an unknown account. */
function targetPath(t: LocalAccessRequest["target"]): string {
  return targetPathCased(t).toLowerCase();
}

function targetPathCased(t: LocalAccessRequest["target"]): string {
  const acct = `storageAccounts/${(t.account ?? "*").toLowerCase()}`;
  if (t.queue) return `${acct}/queueServices/default/queues/${t.queue.toLowerCase()}`;
  if (t.table) return `${acct}/tableServices/default/tables/${t.table.toLowerCase()}`;
  if (t.container) return `${acct}/blobServices/default/containers/${t.container.toLowerCase()}`;
  return acct;
}

function covers(scope: string, target: string): boolean {
  const i = scope.toLowerCase().indexOf("/providers/microsoft.storage/");
  // A resource group or subscription scope covers everything below it.
  if (i < 0) return !scope.toLowerCase().includes("/providers/");
  const s = scope
    .toLowerCase()
    .slice(i + "/providers/microsoft.storage/".length)
    .split("/");
  const t = target.split("/");
  if (s.length > t.length) return false;
  return s.every((seg, k) => seg === t[k] || (k === 1 && t[k] === "*"));
}

/** True when a role assignment recorded by a local deploy grants the action on the target. */
export function isAuthorizedLocal(req: LocalAccessRequest, opts: { root?: string } = {}): boolean {
  const root = opts.root ?? process.cwd();
  const who = req.principal.toLowerCase();
  const identity = localIdentities(root).find((i) => [i.principalId, i.clientId, i.name].some((x) => x?.toLowerCase() === who));
  const principalId = (identity?.principalId ?? req.principal).toLowerCase();
  const target = targetPath(req.target);
  return localRoleAssignments(root).some((a) => a.principalId.toLowerCase() === principalId && ROLE_DATA_ACTIONS[a.role]?.includes(req.dataAction) && covers(a.scope, target));
}

/**
 * The local runtime's RBAC check. Throws what Azure Storage returns when a data-plane call lacks the role:
 * a RestError with statusCode 403 and code AuthorizationPermissionMismatch, so callers handle both alike.
 */
export function authorizeLocal(req: LocalAccessRequest, opts: { root?: string } = {}): void {
  if (isAuthorizedLocal(req, opts)) return;
  throw new RestError(`This request is not authorized to perform this operation using this permission.\nRequestId:${randomUUID()}\nTime:${new Date().toISOString()}`, {
    code: "AuthorizationPermissionMismatch",
    statusCode: 403,
  });
}

import { ROLE_DATA_ACTIONS } from "../provisioning/roles.js";
import type { RoleRecord } from "./records.js";

export type StorageService = "queue" | "table" | "blob";

/** Azure's names of the storage data actions the front decides on. */
export const DATA_ACTIONS = {
  queueRead: "Microsoft.Storage/storageAccounts/queueServices/queues/messages/read",
  queueAdd: "Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action",
  queueProcess: "Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action",
  queueDelete: "Microsoft.Storage/storageAccounts/queueServices/queues/messages/delete",
  queueWrite: "Microsoft.Storage/storageAccounts/queueServices/queues/messages/write",
  tableRead: "Microsoft.Storage/storageAccounts/tableServices/tables/entities/read",
  tableAdd: "Microsoft.Storage/storageAccounts/tableServices/tables/entities/add/action",
  tableWrite: "Microsoft.Storage/storageAccounts/tableServices/tables/entities/write",
  tableDelete: "Microsoft.Storage/storageAccounts/tableServices/tables/entities/delete",
  blobRead: "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
  blobWrite: "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
  blobDelete: "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
} as const;

export interface StorageTarget {
  account: string;
  queue?: string;
  table?: string;
  container?: string;
}

/**
 * What a storage request needs. `dataAction` for message, entity and blob operations; for the rest
 * (create a queue, read its properties, list containers) `service`: any data role of that service on
 * the target (the control actions that come with the Data Contributor and Reader roles).
 */
export interface RequiredAccess {
  dataAction?: string;
  service: StorageService;
  target: StorageTarget;
}

/** The data action a storage REST request asks for; `parts` is the path after the account. */
export function requiredAccess(service: StorageService, method: string, parts: string[], query: URLSearchParams, account: string): RequiredAccess {
  const target: StorageTarget = { account };
  if (service === "queue") {
    const m = parts.indexOf("messages");
    if (parts[0]) target.queue = parts[0];
    if (m <= 0) return { service, target };
    const byId = parts.length > m + 1;
    if (method === "POST") return { service, target, dataAction: DATA_ACTIONS.queueAdd };
    if (method === "GET") return { service, target, dataAction: query.get("peekonly") === "true" ? DATA_ACTIONS.queueRead : DATA_ACTIONS.queueProcess };
    if (method === "DELETE") return { service, target, dataAction: DATA_ACTIONS.queueDelete };
    if (method === "PUT" && byId) return { service, target, dataAction: DATA_ACTIONS.queueProcess };
    return { service, target };
  }
  if (service === "table") {
    const last = parts[parts.length - 1] ?? "";
    if (last === "$batch") return { service, target, dataAction: DATA_ACTIONS.tableWrite };
    const entity = /^([A-Za-z][A-Za-z0-9]{2,62})(\(.*\))?$/.exec(last);
    if (!entity || last === "Tables" || last.startsWith("Tables(")) {
      const named = /^Tables\('([^']+)'\)$/.exec(last);
      if (named) target.table = named[1];
      return { service, target };
    }
    target.table = entity[1]!;
    if (method === "GET") return { service, target, dataAction: DATA_ACTIONS.tableRead };
    if (method === "POST") return { service, target, dataAction: DATA_ACTIONS.tableAdd };
    if (method === "DELETE") return { service, target, dataAction: DATA_ACTIONS.tableDelete };
    return { service, target, dataAction: DATA_ACTIONS.tableWrite };
  }
  if (parts[0]) target.container = parts[0];
  if (parts.length < 2) return { service, target };
  if (method === "GET" || method === "HEAD") return { service, target, dataAction: DATA_ACTIONS.blobRead };
  if (method === "DELETE") return { service, target, dataAction: DATA_ACTIONS.blobDelete };
  return { service, target, dataAction: DATA_ACTIONS.blobWrite };
}

/** `storageAccounts/<a>/queueServices/default/queues/<q>` (lower case) for a target. */
function targetPath(t: StorageTarget): string {
  const acct = `storageaccounts/${t.account.toLowerCase()}`;
  if (t.queue) return `${acct}/queueservices/default/queues/${t.queue.toLowerCase()}`;
  if (t.table) return `${acct}/tableservices/default/tables/${t.table.toLowerCase()}`;
  if (t.container) return `${acct}/blobservices/default/containers/${t.container.toLowerCase()}`;
  return acct;
}

/** A role assignment's scope covers the target: the target is the scope or below it. */
export function covers(scope: string, t: StorageTarget): boolean {
  const s = scope.toLowerCase();
  const i = s.indexOf("/providers/microsoft.storage/");
  // A resource group or subscription scope covers everything below it.
  if (i < 0) return !s.includes("/providers/");
  const rel = s.slice(i + "/providers/microsoft.storage/".length).replace(/\/$/, "");
  const target = targetPath(t);
  return target === rel || target.startsWith(rel + "/");
}

const SERVICE_PREFIX: Record<StorageService, string> = {
  queue: "Microsoft.Storage/storageAccounts/queueServices/",
  table: "Microsoft.Storage/storageAccounts/tableServices/",
  blob: "Microsoft.Storage/storageAccounts/blobServices/",
};

/** The role assignments of `principalId` that grant `need`; empty = refused. */
export function grantingRoles(roles: RoleRecord[], principalId: string, need: RequiredAccess): RoleRecord[] {
  const who = principalId.toLowerCase();
  return roles.filter((r) => {
    if (r.principalId.toLowerCase() !== who) return false;
    const actions = ROLE_DATA_ACTIONS[r.role] ?? [];
    const ok = need.dataAction ? actions.includes(need.dataAction) : actions.some((a) => a.startsWith(SERVICE_PREFIX[need.service]));
    return ok && covers(r.scope, need.target);
  });
}

/** The built-in role that would grant `need` (for messages and `az` hints). */
export function roleFor(need: RequiredAccess): string {
  if (need.dataAction === DATA_ACTIONS.queueAdd) return "Storage Queue Data Message Sender";
  if (need.service === "queue") return "Storage Queue Data Contributor";
  if (need.service === "table") return "Storage Table Data Contributor";
  return "Storage Blob Data Contributor";
}

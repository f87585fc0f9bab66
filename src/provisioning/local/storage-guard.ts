import type { HttpClient, PipelineRequest } from "@azure/core-rest-pipeline";
import { DATA_ACTIONS, authorizeLocal, type LocalAccessRequest } from "./rbac.js";
import type { StorageGuard } from "../../storage/clients.js";

/** Which data action and target a storage REST request is (the part RBAC decides on); undefined = not checked. */
export function dataActionOf(req: Pick<PipelineRequest, "method" | "url">, service: "queue" | "table", batchTable?: string): { dataAction: string; target: LocalAccessRequest["target"] } | undefined {
  const u = new URL(req.url);
  const parts = u.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const m = parts.indexOf("messages");
  if (service === "queue") {
    if (m <= 0) return undefined; // queue create/properties: management, not message data
    const queue = parts[m - 1]!;
    const byId = parts.length > m + 1;
    if (req.method === "POST") return { dataAction: DATA_ACTIONS.queueAdd, target: { queue } };
    if (req.method === "GET") return { dataAction: u.searchParams.get("peekonly") === "true" ? DATA_ACTIONS.queueRead : DATA_ACTIONS.queueProcess, target: { queue } };
    // Clear Messages (DELETE without an id) needs the same delete action as deleting one.
    if (req.method === "DELETE") return { dataAction: DATA_ACTIONS.queueDelete, target: { queue } };
    if (req.method === "PUT" && byId) return { dataAction: DATA_ACTIONS.queueProcess, target: { queue } };
    return undefined;
  }
  const last = parts[parts.length - 1] ?? "";
  // A batch names its table only in the body; the client that sends it knows which table it serves.
  if (last === "$batch") return { dataAction: DATA_ACTIONS.tableWrite, target: batchTable ? { table: batchTable } : {} };
  const entity = /^([A-Za-z][A-Za-z0-9]{2,62})(\(.*\))?$/.exec(last);
  if (entity && last !== "Tables" && !last.startsWith("Tables(")) {
    const table = entity[1]!;
    if (req.method === "GET") return { dataAction: DATA_ACTIONS.tableRead, target: { table } };
    if (req.method === "POST") return { dataAction: DATA_ACTIONS.tableAdd, target: { table } };
    if (req.method === "PUT" || req.method === "PATCH" || req.method === "DELETE") return { dataAction: DATA_ACTIONS.tableWrite, target: { table } };
  }
  return undefined;
}

/**
 * Enforces the role assignments a local deploy recorded (`akspilot deploy <bp> --target local`) for one
 * identity: a data-plane request without the role fails with the 403 AuthorizationPermissionMismatch
 * that Azure Storage returns, so the caller's error handling is the one it needs on Azure.
 * Decisions are cached briefly: the record is a file and requests are many.
 */
export function localRbacHttpClient(inner: HttpClient, principal: string, root: string, service: "queue" | "table", table?: string): HttpClient {
  const cache = new Map<string, { at: number; error?: unknown }>();
  return {
    async sendRequest(req) {
      const action = dataActionOf(req, service, table);
      if (action) {
        const key = `${action.dataAction} ${JSON.stringify(action.target)}`;
        let hit = cache.get(key);
        if (!hit || Date.now() - hit.at > 5000) {
          hit = { at: Date.now() };
          try {
            authorizeLocal({ principal, ...action }, { root });
          } catch (e) {
            hit.error = e;
          }
          cache.set(key, hit);
        }
        if (hit.error) throw hit.error;
      }
      return inner.sendRequest(req);
    },
  };
}

/** The storage guard for one local identity: every data-plane request is held to its role assignments. */
export function localRbacGuard(principal: string, root: string): StorageGuard {
  return (inner, service, table) => localRbacHttpClient(inner, principal, root, service, table);
}

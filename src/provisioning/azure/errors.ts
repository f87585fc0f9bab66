import { UserError } from "../../errors.js";

interface ArmErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
  details?: unknown;
  response?: { bodyAsText?: string | null };
}

export function statusOf(e: unknown): number | undefined {
  return typeof e === "object" && e !== null ? (e as ArmErrorLike).statusCode : undefined;
}

export function isNotFound(e: unknown): boolean {
  return statusOf(e) === 404;
}

/** The `{error: {code, message, details}}` body ARM sends, from wherever the SDK put it. */
function armBody(e: ArmErrorLike): { code?: string; message?: string; details?: Array<{ code?: string; message?: string }> } | undefined {
  const text = e.response?.bodyAsText;
  if (text) {
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string; details?: Array<{ code?: string; message?: string }> } };
      if (parsed.error) return parsed.error;
    } catch {
      /* not JSON */
    }
  }
  return undefined;
}

/** What to do about the ARM error codes people meet most while provisioning. */
const HINTS: Array<[RegExp, string]> = [
  [
    /^(Conflict|AnotherOperationInProgress|OperationNotAllowed)$/i,
    "another operation on this resource is still running, or its current state forbids the change; wait a few minutes and re-run",
  ],
  [
    /AlreadyTaken|AlreadyExists|NameNotAvailable|StorageAccountAlreadyTaken|VaultAlreadyExists/i,
    "the name is taken (names are global for storage, registries and vaults); destroy and re-deploy to get a new suffix, or pass --suffix",
  ],
  [
    /AuthorizationFailed|LinkedAuthorizationFailed/i,
    "your identity lacks permission here; the seed needs Owner, or Contributor plus User Access Administrator, on the subscription",
  ],
  [/MissingSubscriptionRegistration|NoRegisteredProviderFound/i, "register the resource provider: `az provider register --namespace <namespace>` (the message names it)"],
  [/QuotaExceeded|OperationNotAllowed.*quota|ErrCode_InsufficientVCPUQuota/i, "request more vCPU quota for this region, or choose a smaller --location/VM size"],
  [/SkuNotAvailable|LocationNotAvailableForResourceType/i, "that size or service is not offered in this region; pass another --location"],
  [/PrincipalNotFound/i, "the identity was just created and has not replicated yet; re-run in a minute"],
  [/RoleAssignmentExists/i, "the same role is already granted under another name; akspilot will adopt it on the next run"],
  [/InvalidAuthenticationToken|ExpiredAuthenticationToken/i, "sign in again with `az login`"],
];

/** Turns an ARM failure (a RestError or a failed long-running operation) into one readable line. */
export function explainArmError(e: unknown, action: string): UserError {
  const err = (typeof e === "object" && e !== null ? e : { message: String(e) }) as ArmErrorLike;
  const body = armBody(err);
  let code = body?.code ?? err.code;
  let status = err.statusCode ? ` (HTTP ${err.statusCode})` : "";
  let message = (body?.message ?? err.message ?? "").replace(/\s+/g, " ").trim();
  // A failed long-running operation: the SDK folds the operation's error code into its message.
  const failedLro = /^The long-running operation has failed\.?\s*([A-Za-z][\w.]*)\.\s*(.*)$/.exec(message);
  if (failedLro) {
    code = failedLro[1];
    message = `${failedLro[2]} (the operation was accepted, then failed)`;
    status = "";
  }
  code ??= "error";
  const inner = body?.details?.find((d) => d.message)?.message;
  if (inner && !message.includes(inner)) message += ` — ${inner.replace(/\s+/g, " ").trim()}`;
  const hint = HINTS.find(([re]) => re.test(code) || re.test(message))?.[1];
  return new UserError(`Azure refused to ${action}: ${code}${status}: ${message}`, hint);
}

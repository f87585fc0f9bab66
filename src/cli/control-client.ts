import { UserError } from "../errors.js";
import { readRuntimeFile, runtimeFilePath, type RuntimeFile } from "../local/runtime-file.js";

/** The running `akspilot up` of this directory, or one line saying how to start one. */
export function runningUp(start = "akspilot up <blueprint>"): RuntimeFile {
  const rt = readRuntimeFile();
  if (!rt) throw new UserError(`no running \`akspilot up\` found (${runtimeFilePath()})`, `start \`${start}\` in this directory first`);
  return rt;
}

/**
 * One call to the run's control API with its token: the answer's status and JSON body (`{}` when it has
 * none). An unreachable API is one line; what a status code means is the caller's to say.
 */
export async function controlRequest<T>(
  rt: RuntimeFile,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<{ status: number; ok: boolean; payload: T & { error?: string } }> {
  let res: Response;
  try {
    res = await fetch(rt.controlUrl + path, {
      method,
      headers: { authorization: `Bearer ${rt.token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    throw new UserError(`cannot reach the runtime's control API at ${rt.controlUrl}: ${(e as Error).message}`, "is `akspilot up` still running?");
  }
  const payload = (await res.json().catch(() => ({}))) as T & { error?: string };
  return { status: res.status, ok: res.ok, payload };
}

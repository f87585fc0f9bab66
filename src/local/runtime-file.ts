import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeSecretFile } from "../util/secure-fs.js";
import { pidAlive } from "../util/pid.js";

/** `.akspilot/runtime.json`: how CLI commands find a running `akspilot up`. */
export interface RuntimeFile {
  controlUrl: string;
  token: string;
  dashboardUrl?: string;
  gatewayUrl?: string;
  /** What answers at gatewayUrl: `kube` (the Service's L4 proxy) or `akspilot` (the HTTP gateway). */
  gatewayMode?: "kube" | "akspilot";
  pid: number;
  blueprint: string;
  /** This run's pod logs. */
  logDir?: string;
  /** Only for embedded Azurite, whose account key is the public development key. */
  storage?: { connectionString: string };
}

export function runtimeFilePath(cwd = process.cwd()): string {
  return join(cwd, ".akspilot", "runtime.json");
}

export function writeRuntimeFile(info: RuntimeFile, cwd = process.cwd()): string {
  const path = runtimeFilePath(cwd);
  // The token grants control of the runtime: a new owner-only file in an owner-only directory.
  writeSecretFile(path, JSON.stringify(info, null, 2) + "\n");
  return path;
}

export function removeRuntimeFile(cwd = process.cwd(), pid = process.pid): void {
  const current = readRuntimeFile(cwd);
  if (current && current.pid !== pid) return; // another runtime's file
  rmSync(runtimeFilePath(cwd), { force: true });
}

/** The running runtime's file, or undefined if there is none or its process is gone (a stale file). */
export function readRuntimeFile(cwd = process.cwd()): RuntimeFile | undefined {
  let text: string;
  try {
    text = readFileSync(runtimeFilePath(cwd), "utf8");
  } catch {
    return undefined;
  }
  try {
    const info = JSON.parse(text) as RuntimeFile;
    if (typeof info.controlUrl !== "string" || typeof info.token !== "string" || typeof info.pid !== "number") return undefined;
    return pidAlive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

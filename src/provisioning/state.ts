import { existsSync, readFileSync, writeFileSync, unlinkSync, openSync, closeSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { UserError } from "../errors.js";
import { ensurePrivateDir, writeSecretFile } from "../util/secure-fs.js";
import type { CloudName } from "./clouds.js";
import type { Outputs } from "./refs.js";
import type { ResourceKind } from "./types.js";
import { pidAlive } from "../util/pid.js";

export const STATE_FORMAT = "akspilot.provisioning-state/v1";

export type Target = "azure" | "local";

/** One resource the tool has touched. Secrets are never part of it: only names, ids and public outputs. */
export interface ResourceRecord {
  kind: ResourceKind;
  name: string;
  /** True when this tool created it; destroy deletes only these. False: it existed before (adopted, kept). */
  createdByUs: boolean;
  /** `pending` while a create-or-update runs; a record left pending means the run was interrupted there. */
  status: "pending" | "ready";
  /** Resolved properties the step was applied with (secret values are references, never values). */
  props: Record<string, unknown>;
  outputs: Outputs;
  /** Node ids this one depended on, so destroy can run in reverse order without the graph. */
  dependsOn: string[];
  updatedAt: string;
}

export interface RunRecord {
  command: "deploy" | "destroy";
  pid: number;
  startedAt: string;
  finishedAt?: string;
  outcome?: "succeeded" | "failed";
  /** The step that failed or was running last. */
  lastStep?: string;
}

export interface ProvisioningState {
  format: typeof STATE_FORMAT;
  blueprint: string;
  target: Target;
  cloud: CloudName;
  location: string;
  suffix: string;
  subscriptionId?: string;
  createdAt: string;
  updatedAt: string;
  lastRun?: RunRecord;
  resources: Record<string, ResourceRecord>;
}

/** `.akspilot/state/<blueprint>.json` for Azure; the local provider's state sits beside it as `<blueprint>.local.json`. */
export function statePath(root: string, blueprint: string, target: Target): string {
  return join(root, ".akspilot", "state", target === "azure" ? `${blueprint}.json` : `${blueprint}.local.json`);
}

/**
 * Reads and checks a state file. Anything unexpected is one UserError that names the file and says nothing
 * was changed: the caller reads state before it touches any resource.
 */
export function loadState(path: string, expect: { blueprint: string; target: Target }, root = process.cwd()): ProvisioningState | undefined {
  if (!existsSync(path)) return undefined;
  const shown = relative(root, path) || path;
  const untouched = "nothing was changed; move the file aside (or restore it from version control) and re-run";
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UserError(`state file ${shown} is not valid JSON (${(e as Error).message.split("\n")[0]})`, untouched);
  }
  const problem = stateProblem(parsed);
  if (problem) throw new UserError(`state file ${shown} was not written by akspilot or is damaged: ${problem}`, untouched);
  const state = parsed as ProvisioningState;
  if (state.blueprint !== expect.blueprint || state.target !== expect.target) {
    throw new UserError(`state file ${shown} belongs to blueprint "${state.blueprint}" on target ${state.target}, not "${expect.blueprint}" on ${expect.target}`, untouched);
  }
  return state;
}

function stateProblem(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not a JSON object";
  const o = v as Record<string, unknown>;
  if (o.format !== STATE_FORMAT) return `format is ${JSON.stringify(o.format) ?? "missing"}, expected "${STATE_FORMAT}"`;
  for (const k of ["blueprint", "target", "cloud", "location", "suffix", "createdAt", "updatedAt"]) {
    if (typeof o[k] !== "string") return `field "${k}" is missing or not a string`;
  }
  if (o.target !== "azure" && o.target !== "local") return `target "${String(o.target)}" is not azure or local`;
  if (!/^[a-z0-9]{6}$/.test(o.suffix as string)) return `suffix "${String(o.suffix)}" is not 6 characters of [a-z0-9]`;
  if (typeof o.resources !== "object" || o.resources === null || Array.isArray(o.resources)) return `"resources" is not an object`;
  for (const [id, r] of Object.entries(o.resources as Record<string, unknown>)) {
    if (typeof r !== "object" || r === null) return `resource "${id}" is not an object`;
    const rec = r as Record<string, unknown>;
    if (typeof rec.kind !== "string" || typeof rec.name !== "string") return `resource "${id}" has no kind or name`;
    if (typeof rec.createdByUs !== "boolean") return `resource "${id}" does not say whether akspilot created it`;
    if (rec.status !== "pending" && rec.status !== "ready") return `resource "${id}" has status ${JSON.stringify(rec.status)}`;
    if (typeof rec.outputs !== "object" || rec.outputs === null) return `resource "${id}" has no outputs`;
    if (!Array.isArray(rec.dependsOn)) return `resource "${id}" has no dependsOn list`;
  }
  return undefined;
}

/** Atomic write (new 0600 file + rename), so a kill mid-write never leaves half a state file. */
export function saveState(path: string, state: ProvisioningState): void {
  state.updatedAt = new Date().toISOString();
  writeSecretFile(path, JSON.stringify(state, null, 2) + "\n");
}

export function removeState(path: string): void {
  if (existsSync(path)) unlinkSync(path);
}

/**
 * One run at a time per state file. A lock left by a killed run (its pid is gone) is taken over,
 * which is exactly the resume case.
 */
export function acquireLock(statePathValue: string): () => void {
  const lock = `${statePathValue}.lock`;
  ensurePrivateDir(dirname(lock));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, "wx", 0o600);
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(lock);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = Number(readFileSync(lock, "utf8").trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) {
        throw new UserError(`another akspilot run (pid ${holder}) is working on this blueprint`, `wait for it to finish, or stop it; the lock is ${lock}`);
      }
      try {
        unlinkSync(lock);
      } catch {
        /* raced with another taker */
      }
    }
  }
  throw new UserError(`could not lock ${lock}`, "another run may have started at the same moment; re-run");
}

export function newState(init: Omit<ProvisioningState, "format" | "createdAt" | "updatedAt" | "resources">): ProvisioningState {
  const now = new Date().toISOString();
  return { format: STATE_FORMAT, ...init, createdAt: now, updatedAt: now, resources: {} };
}

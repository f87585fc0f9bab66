import { makeDirectory } from "../util/secure-fs.js";
import { accessSync, constants, existsSync, rmSync, writeFileSync } from "node:fs";
import { readRuntimeFile } from "./runtime-file.js";
import { join } from "node:path";
import { acquireRunLock, runLogDir } from "./run-lock.js";
import { UserError } from "../errors.js";

export interface RunDir {
  runId: string;
  /** This run's own log folder (`.akspilot/logs/<runId>`, with `logs/latest` pointing at it). */
  logDir: string;
  /** V8's code cache for pods (`.akspilot/compile-cache`), kept from run to run. */
  compileCacheDir: string;
  release(): void;
  /** What a previous run that was killed left here and this start removed, one line each (empty if nothing). */
  cleanedUp: string[];
}

function unusable(what: string, path: string, e: unknown, hint: string): UserError {
  const code = (e as NodeJS.ErrnoException).code ?? "";
  const why =
    {
      EACCES: "permission denied",
      EPERM: "not permitted",
      EROFS: "read-only file system",
      ENOTDIR: "a part of the path is not a directory",
      ENOENT: "it cannot be created there",
      EEXIST: "a file is in the way",
    }[code] ?? (e as Error).message;
  return new UserError(`${what} ${path} cannot be used: ${why}`, hint);
}

/**
 * Claims `.akspilot/` for one run before anything starts: the directory is owner-only and writable, no
 * other `up` holds it (a stale lock is cleared), and the run gets a log folder of its own.
 */
export function prepareRunDir(cwd: string): RunDir {
  const state = join(cwd, ".akspilot");
  let lock: ReturnType<typeof acquireRunLock>;
  try {
    lock = acquireRunLock(cwd);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw unusable("the state directory", state, e, "run akspilot from a directory you can write to");
  }
  try {
    return {
      runId: lock.runId,
      logDir: runLogDir(cwd, lock.runId),
      compileCacheDir: join(state, "compile-cache"),
      release: lock.release,
      cleanedUp: cleanUpAfterKilledRun(cwd, lock.cleared),
    };
  } catch (e) {
    lock.release();
    if (e instanceof UserError) throw e;
    throw unusable("the log directory", join(state, "logs"), e, "run akspilot from a directory you can write to");
  }
}

/**
 * After a run that was killed (SIGKILL, power loss): its lock was cleared to take this run's; its runtime
 * file still names its dead process and is removed. Its children (storage, pods) stop by themselves when
 * their parent dies, so no process is left to find.
 */
function cleanUpAfterKilledRun(cwd: string, cleared: { pid: number; startedAt?: string } | undefined): string[] {
  const lines: string[] = [];
  if (cleared) lines.push(`a previous run here (pid ${cleared.pid}${cleared.startedAt ? `, started ${cleared.startedAt}` : ""}) ended without cleaning up: removed its lock`);
  const runtimeFile = join(cwd, ".akspilot", "runtime.json");
  if (existsSync(runtimeFile) && !readRuntimeFile(cwd)) {
    rmSync(runtimeFile, { force: true });
    lines.push("removed the runtime file (.akspilot/runtime.json) of a run whose process is gone");
  }
  // Secret volumes of its pods hold secret values: a pod that is gone leaves none behind.
  const pods = join(cwd, ".akspilot", "pods");
  if (existsSync(pods)) {
    rmSync(pods, { recursive: true, force: true });
    lines.push("removed the secret volumes of its pods (.akspilot/pods)");
  }
  return lines;
}

/** `--data DIR`: a directory that exists or can be made, and takes a file — checked before storage starts. */
export function checkDataDir(dir: string): void {
  try {
    makeDirectory(dir, 0o700);
    accessSync(dir, constants.W_OK);
    const probe = join(dir, `.akspilot-write-check-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe, { force: true });
  } catch (e) {
    throw unusable("--data", dir, e, "pass a directory on a normal file system that you can write to");
  }
}

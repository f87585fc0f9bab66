import { closeSync, constants, mkdirSync, openSync, readFileSync, renameSync, linkSync, symlinkSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join, relative } from "node:path";
import { UserError } from "../errors.js";
import { ensurePrivateDir } from "../util/secure-fs.js";
import { pidAlive } from "../util/pid.js";

/** What `.akspilot/run.lock` holds: enough to tell a live holder from a dead one or a reused pid. */
interface LockContent {
  pid: number;
  runId: string;
  startedAt: string;
  /** The kernel's start time of the holder (clock ticks since boot, Linux); tells a reused pid apart. */
  procStart?: string;
  argv: string[];
}

export interface RunLock {
  /** Removes the lock if it is still this run's; safe to call more than once. */
  release(): void;
  /** Names this run: its log directory is `.akspilot/logs/<runId>`. */
  runId: string;
  /** A lock left by a run that ended without releasing it (killed), cleared to take this one. */
  cleared?: { pid: number; startedAt?: string };
}

export function runLockPath(cwd = process.cwd()): string {
  return join(cwd, ".akspilot", "run.lock");
}

/** Sortable and unique: `20260131-142501-3f9a1c`. */
function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

/** Field 22 of /proc/<pid>/stat; undefined where there is no /proc or the process is gone. */
function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count from the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** True while the process that wrote `c` still runs: the pid is alive and is the same process. */
function holderAlive(c: LockContent): boolean {
  if (!Number.isInteger(c.pid) || c.pid <= 0 || !pidAlive(c.pid)) return false;
  // A pid reused by another program (after a reboot or a long time) has another start time.
  const now = procStart(c.pid);
  if (c.procStart !== undefined && now !== undefined) return now === c.procStart;
  return true;
}

function readLock(path: string): { text: string; content?: LockContent } | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    const c = JSON.parse(text) as LockContent;
    return { text, content: typeof c.pid === "number" ? c : undefined };
  } catch {
    // Not a lock this module wrote (it writes whole files): nobody holds it.
    return { text };
  }
}

/**
 * Creates the lock with its content in one step: the content goes to a new private file first, which is
 * then hard-linked to the lock path (fails if it exists). A reader never sees an empty lock.
 */
function tryCreate(path: string, content: LockContent): boolean {
  const tmp = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  try {
    try {
      writeSync(fd, JSON.stringify(content) + "\n");
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
  }
}

/**
 * Moves a stale lock aside. Renaming first (atomic) and checking what was moved keeps two starters that
 * both saw the same stale lock from deleting the lock the faster one has just created.
 */
function clearStale(path: string, staleText: string): void {
  const aside = `${path}.stale.${randomBytes(4).toString("hex")}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  let moved = "";
  try {
    moved = readFileSync(aside, "utf8");
  } catch {
    /* gone */
  }
  if (moved !== staleText) {
    // A live lock taken between our read and the rename: put it back.
    try {
      linkSync(aside, path);
    } catch {
      /* another run holds the path now; either way not ours */
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    /* already gone */
  }
}

/**
 * One `akspilot up` per directory: `.akspilot/run.lock`, created O_EXCL with the pid and start time,
 * held for the run's life and removed on release or on process exit. A lock whose process is gone (or
 * whose pid now belongs to another process) is cleared. Exits by signal without a handler skip the
 * `exit` event; their lock is then stale and cleared by the next run.
 */
export function acquireRunLock(cwd = process.cwd()): RunLock {
  ensurePrivateDir(join(cwd, ".akspilot"));
  const path = runLockPath(cwd);
  const content: LockContent = { pid: process.pid, runId: newRunId(), startedAt: new Date().toISOString(), procStart: procStart(process.pid), argv: process.argv.slice(1) };
  let cleared: RunLock["cleared"];
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path, content)) return { ...holding(path, content), ...(cleared ? { cleared } : {}) };
    const held = readLock(path);
    if (!held) continue; // released meanwhile
    if (held.content && holderAlive(held.content)) {
      const pid = held.content.pid;
      throw new UserError(
        `another akspilot up is running in this directory (pid ${pid})`,
        `use its control API (\`akspilot status\`), stop it (Ctrl-C in its terminal, or \`kill ${pid}\`), or run from another directory`,
      );
    }
    clearStale(path, held.text);
    cleared = { pid: held.content?.pid ?? 0, startedAt: held.content?.startedAt };
  }
  throw new UserError(`could not take ${relative(cwd, path)}`, "another run may have started at the same moment; re-run");
}

function holding(path: string, content: LockContent): RunLock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off("exit", release);
    const now = readLock(path);
    // Only this run's lock: a stale-cleared and re-taken lock belongs to someone else.
    if (now?.content?.pid === content.pid && now.content.runId === content.runId) {
      try {
        unlinkSync(path);
      } catch {
        /* already gone */
      }
    }
  };
  process.on("exit", release);
  return { release, runId: content.runId };
}

/**
 * This run's log directory, `.akspilot/logs/<runId>/` (owner-only, new: a run never appends to another's
 * logs), with `.akspilot/logs/latest` pointing at it. The link is replaced by a rename, so a reader sees
 * the previous run's directory or this one, never a missing link.
 */
export function runLogDir(cwd: string, runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId) || runId === "latest" || runId.startsWith(".")) {
    throw new UserError(`run id "${runId}" is not a plain name`, "use the runId returned by acquireRunLock");
  }
  const logs = ensurePrivateDir(join(cwd, ".akspilot", "logs"));
  const dir = join(logs, runId);
  mkdirSync(dir, { mode: 0o700 }); // EEXIST: this run id was used before; never share its directory.
  const tmp = join(logs, `.latest.${randomBytes(4).toString("hex")}`);
  // Relative: the link stays right when the project directory is moved.
  symlinkSync(runId, tmp, "dir");
  try {
    renameSync(tmp, join(logs, "latest"));
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
    throw e;
  }
  return dir;
}

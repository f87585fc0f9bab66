import { chmodSync, closeSync, constants, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";
import { UserError } from "../errors.js";

/** The directory name under which akspilot keeps its state; private directories are checked up to it. */
const STATE_DIR = ".akspilot";

function currentUid(): number | undefined {
  // Windows has no uids; its ACLs are out of reach of mode bits anyway.
  return typeof process.getuid === "function" ? process.getuid() : undefined;
}

/**
 * The directories to check for `dir`: `dir` itself and its ancestors up to and including the nearest
 * `.akspilot`, so `.akspilot/local/vaults` checks all three. Outside `.akspilot`, only `dir`.
 */
function chain(dir: string): { dirs: string[]; ours: boolean } {
  const dirs: string[] = [];
  let d = resolve(dir);
  for (;;) {
    dirs.push(d);
    if (basename(d) === STATE_DIR) return { dirs, ours: true };
    const up = dirname(d);
    if (up === d) return { dirs: [resolve(dir)], ours: false };
    d = up;
  }
}

/**
 * Refuses a state directory another user could change: not owned by the current user, or group- or
 * world-writable (anyone who can write it can swap the files in it, or read what is renamed in).
 * Below `.akspilot/`, a directory owned by the user that is merely readable by others is tightened to
 * 0700: older versions created `.akspilot/` 0755.
 */
export function checkPrivateDir(dir: string): void {
  const uid = currentUid();
  const { dirs, ours } = chain(dir);
  for (const d of dirs) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw e;
    }
    if (!st.isDirectory()) throw new UserError(`${d} is not a directory`, "move it aside; akspilot keeps its state there");
    if (uid === undefined) continue;
    const mode = st.mode & 0o777;
    if (st.uid !== uid) {
      throw new UserError(`${d} is owned by uid ${st.uid}, not by you (uid ${uid}); akspilot will not keep secrets there`, `remove it or run \`chown -R ${uid} ${d}\``);
    }
    if ((mode & 0o022) !== 0) {
      throw new UserError(`${d} is writable by other users (mode ${mode.toString(8).padStart(3, "0")}); akspilot will not keep secrets there`, `run \`chmod 700 ${d}\``);
    }
    if (ours && (mode & 0o077) !== 0) chmodSync(d, 0o700);
  }
}

/**
 * `mkdir -p`, one level at a time. Node's recursive mkdir loops for ever on file systems that answer
 * ENOENT for a directory whose parent exists (e.g. /proc); here such a path fails at once.
 */
export function makeDirectory(dir: string, mode = 0o777): void {
  const full = resolve(dir);
  const missing: string[] = [];
  for (let d = full; ; d = dirname(d)) {
    try {
      if (!statSync(d).isDirectory()) throw Object.assign(new Error(`${d} is not a directory`), { code: "ENOTDIR" });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      missing.unshift(d);
      if (dirname(d) === d) break;
    }
  }
  for (const d of missing) {
    try {
      mkdirSync(d, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}

/** Creates `dir` (and missing parents) owner-only, then checks it as `checkPrivateDir` does. */
export function ensurePrivateDir(dir: string): string {
  // What exists is checked before anything is created inside it.
  checkPrivateDir(dir);
  // mkdir applies the mode to every directory it creates, so a fresh `.akspilot/` is 0700 even when
  // the first thing made is a subdirectory such as `.akspilot/logs`.
  makeDirectory(dir, 0o700);
  checkPrivateDir(dir);
  return dir;
}

/**
 * Writes a file that holds a secret (or decides access): always a NEW file created with O_EXCL and mode
 * 0600 under a random name in the same directory, then renamed over `path`. Whatever was at `path` before
 * (a file with a looser mode, a symlink) is replaced, never written through; a reader sees the old file
 * or the new one, never half of one.
 */
export function writeSecretFile(path: string, data: string | Uint8Array): void {
  const dir = ensurePrivateDir(dirname(resolve(path)));
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const flags = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0);
  const fd = openSync(tmp, flags, 0o600);
  try {
    try {
      const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already renamed or never created */
    }
    throw e;
  }
}

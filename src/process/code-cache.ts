// Runs a CommonJS bundle through V8's code cache. A pod spends most of its start compiling the bundle (0.8 MB
// of SDK code) and, on its first storage call, the functions that call needs; a cache written by an earlier pod
// holds that bytecode, so the next pods skip the compile. The cache is optional: without a directory, or with a
// cache V8 refuses (another Node.js version, other V8 flags, another build), the bundle is compiled as before.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { Script } from "node:vm";

/** When a pod without a usable cache writes one: after its start-up calls, so their functions are in it. */
export const SAVE_AFTER_MS = 2000;

/** The cache file of one build of `file` on this Node.js: V8 checks only the source's length, not its text. */
export function cacheFileFor(file: string, dir: string): string {
  const st = statSync(file);
  return join(dir, `${cachePrefix(file)}${st.size}-${Math.trunc(st.mtimeMs)}.v8cache`);
}

function cachePrefix(file: string): string {
  return `${basename(file)}-${process.version}-${process.arch}-`;
}

/** Removes the caches of earlier builds of `file` on this Node.js: a rebuild would otherwise leave one per build. */
function removeOlderBuilds(cacheFile: string, file: string): void {
  const dir = dirname(cacheFile);
  for (const f of readdirSync(dir)) {
    if (f.startsWith(cachePrefix(file)) && f.endsWith(".v8cache") && join(dir, f) !== cacheFile) rmSync(join(dir, f), { force: true });
  }
}

export interface CodeCacheRun {
  /** "accepted": V8 used the cache; "compiled": no usable cache, this run compiles and writes one; "off": no directory. */
  cache: "accepted" | "compiled" | "off";
}

/** Runs `file` (CommonJS) as Node.js would, with its code cache in `cacheDir` when given. */
export function runWithCodeCache(file: string, cacheDir: string | undefined): CodeCacheRun {
  const source = readFileSync(file, "utf8");
  const cacheFile = cacheDir ? cacheFileFor(file, cacheDir) : undefined;
  let cachedData: Buffer | undefined;
  try {
    if (cacheFile) cachedData = readFileSync(cacheFile);
  } catch {
    // No cache yet: this run compiles, then writes one.
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  let cache: CodeCacheRun["cache"] = "off";
  if (cacheFile) {
    cache = cachedData && !script.cachedDataRejected ? "accepted" : "compiled";
    if (cache === "compiled") {
      let saved = false;
      const save = () => {
        if (saved) return;
        saved = true;
        try {
          mkdirSync(dirname(cacheFile), { recursive: true, mode: 0o700 });
          // Pods start together: each writes its own file and renames it, so a reader never sees half a cache.
          const tmp = `${cacheFile}.${process.pid}.tmp`;
          writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
          renameSync(tmp, cacheFile);
          removeOlderBuilds(cacheFile, file);
        } catch {
          // A cache is an optimisation: a directory that cannot be written leaves every pod compiling.
        }
      };
      setTimeout(save, SAVE_AFTER_MS).unref();
      process.once("exit", save);
    }
  }
  const module = { exports: {} };
  (script.runInThisContext() as (...a: unknown[]) => void)(module.exports, createRequire(file), module, file, dirname(file));
  return { cache };
}

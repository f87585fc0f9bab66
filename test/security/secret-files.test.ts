// Secret-bearing files under .akspilot/: always a new owner-only file renamed into place, never a write
// through whatever was there before; the state directory is owner-only, and one another user could
// change is refused with one line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeRuntimeFile, type RuntimeFile } from "../../src/local/runtime-file.js";
import { newState, saveState, statePath } from "../../src/provisioning/state.js";
import { LocalSecretVault } from "../../src/provisioning/local/vault.js";
import { UserError } from "../../src/errors.js";
import { runCli, stderrLines, tempDir } from "../edw/helpers.js";

const info: RuntimeFile = { controlUrl: "http://127.0.0.1:1", token: "t0ken-of-this-run", pid: process.pid, blueprint: "edw" };
const modeOf = (p: string) => statSync(p).mode & 0o777;
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

test("a runtime.json left world-readable is replaced by a new 0600 file", (t) => {
  const cwd = tempDir(t, "akspilot-sec-");
  mkdirSync(join(cwd, ".akspilot"), { mode: 0o700 });
  const path = join(cwd, ".akspilot", "runtime.json");
  writeFileSync(path, "{}\n", { mode: 0o644 });
  chmodSync(path, 0o644);
  writeRuntimeFile(info, cwd);
  assert.equal(modeOf(path), 0o600);
  assert.equal(JSON.parse(readFileSync(path, "utf8")).token, info.token);
  // No temporary file is left beside it.
  assert.deepEqual(readdirSync(join(cwd, ".akspilot")), ["runtime.json"]);
});

test("a symlink at runtime.json is replaced, its target is not written", (t) => {
  const cwd = tempDir(t, "akspilot-sec-");
  mkdirSync(join(cwd, ".akspilot"), { mode: 0o700 });
  const victim = join(cwd, "victim.txt");
  writeFileSync(victim, "precious\n", { mode: 0o644 });
  const path = join(cwd, ".akspilot", "runtime.json");
  symlinkSync(victim, path);
  writeRuntimeFile(info, cwd);
  assert.equal(readFileSync(victim, "utf8"), "precious\n");
  assert.equal(modeOf(victim), 0o644);
  assert.ok(lstatSync(path).isFile(), "runtime.json is a regular file now");
  assert.equal(modeOf(path), 0o600);
  assert.equal(JSON.parse(readFileSync(path, "utf8")).token, info.token);
});

test(".akspilot/ is created owner-only even when a subdirectory is made first", (t) => {
  const cwd = tempDir(t, "akspilot-sec-");
  const state = newState({ blueprint: "edw", target: "local", cloud: "AzurePublicCloud", location: "eastus", suffix: "abc123" });
  saveState(statePath(cwd, "edw", "local"), state);
  assert.equal(modeOf(join(cwd, ".akspilot")), 0o700);
  assert.equal(modeOf(join(cwd, ".akspilot", "state")), 0o700);
  assert.equal(modeOf(statePath(cwd, "edw", "local")), 0o600);

  const cwd2 = tempDir(t, "akspilot-sec-");
  const vault = LocalSecretVault.open(join(cwd2, ".akspilot", "local", "vaults", "kv.json"), { name: "kv", softDeleteRetentionInDays: 7 });
  vault.setSecret("storage-key", "s3cret");
  for (const d of [".akspilot", ".akspilot/local", ".akspilot/local/vaults"]) assert.equal(modeOf(join(cwd2, d)), 0o700, d);
  assert.equal(modeOf(join(cwd2, ".akspilot", "local", "vaults", "kv.json")), 0o600);
});

test("an .akspilot/ of this user that others can only read is tightened to 0700", (t) => {
  const cwd = tempDir(t, "akspilot-sec-");
  mkdirSync(join(cwd, ".akspilot"));
  chmodSync(join(cwd, ".akspilot"), 0o755);
  writeRuntimeFile(info, cwd);
  assert.equal(modeOf(join(cwd, ".akspilot")), 0o700);
});

test("a world-writable .akspilot/ is refused with one line, by the library and by the CLI", async (t) => {
  const cwd = tempDir(t, "akspilot-sec-");
  mkdirSync(join(cwd, ".akspilot"));
  chmodSync(join(cwd, ".akspilot"), 0o777);
  assert.throws(
    () => writeRuntimeFile(info, cwd),
    (e: unknown) => e instanceof UserError && /\.akspilot is writable by other users \(mode 777\)/.test(e.message) && /chmod 700/.test(e.line()),
  );
  assert.deepEqual(readdirSync(join(cwd, ".akspilot")), [], "nothing was written");

  const r = await runCli(t, ["deploy", "edw", "--target", "local"], { cwd });
  assert.equal(r.code, 2, r.stderr);
  const lines = stderrLines(r);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^akspilot: .*\.akspilot is writable by other users \(mode 777\).* — run `chmod 700 /);
  assert.deepEqual(readdirSync(join(cwd, ".akspilot")), [], "no state was written");
});

test("an .akspilot/ owned by another user is refused", { skip: isRoot ? false : "changing a directory's owner needs root" }, (t) => {
  const cwd = tempDir(t, "akspilot-sec-");
  mkdirSync(join(cwd, ".akspilot"), { mode: 0o700 });
  chownSync(join(cwd, ".akspilot"), 65534, 65534);
  assert.throws(
    () => writeRuntimeFile(info, cwd),
    (e: unknown) => e instanceof UserError && /\.akspilot is owned by uid 65534, not by you/.test(e.message),
  );
});

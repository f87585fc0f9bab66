// One `akspilot up` per directory: the run lock against a real second process, a lock left by a
// killed process, and a lock whose pid now belongs to another program; per-run log directories.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { acquireRunLock, runLockPath, runLogDir } from "../../src/local/run-lock.js";
import { UserError } from "../../src/errors.js";
import { tempDir } from "../edw/helpers.js";

const RUN_LOCK = new URL("../../src/local/run-lock.js", import.meta.url).href;

/**
 * A separate node process that takes the lock in `cwd`, prints "held", and exits (process.exit, without
 * calling release) when its stdin closes.
 */
async function holder(t: { after: (fn: () => void | Promise<void>) => void }, cwd: string): Promise<ChildProcess> {
  const src = `
    import { acquireRunLock } from ${JSON.stringify(RUN_LOCK)};
    acquireRunLock(${JSON.stringify(cwd)});
    process.stdout.write("held\\n");
    process.stdin.on("end", () => process.exit(0));
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", src], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("held\n")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`holder exited (${code}) before taking the lock`)));
  });
  return child;
}

const exitOf = (c: ChildProcess) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once("exit", () => resolve())));

test("a second run in the same directory is refused while the first holds the lock, and runs once it exits", async (t) => {
  const cwd = tempDir(t, "akspilot-lock-");
  const first = await holder(t, cwd);
  assert.throws(
    () => acquireRunLock(cwd),
    (e: unknown) => e instanceof UserError && e.message === `another akspilot up is running in this directory (pid ${first.pid})` && e.hint?.includes(`kill ${first.pid}`),
  );
  assert.ok(existsSync(runLockPath(cwd)), "the refused run left the holder's lock alone");
  assert.equal(JSON.parse(readFileSync(runLockPath(cwd), "utf8")).pid, first.pid);

  // The holder exits through process.exit: its exit hook removes the lock.
  first.stdin!.end();
  await exitOf(first);
  assert.equal(existsSync(runLockPath(cwd)), false, "lock removed on exit");

  const second = acquireRunLock(cwd);
  assert.equal(JSON.parse(readFileSync(runLockPath(cwd), "utf8")).pid, process.pid);
  second.release();
  second.release();
  assert.equal(existsSync(runLockPath(cwd)), false);
});

test("a lock left by a killed run (its pid is dead) is cleared", async (t) => {
  const cwd = tempDir(t, "akspilot-lock-");
  const killed = await holder(t, cwd);
  const pid = killed.pid!;
  killed.kill("SIGKILL");
  await exitOf(killed);
  assert.equal(JSON.parse(readFileSync(runLockPath(cwd), "utf8")).pid, pid, "SIGKILL leaves the lock behind");

  const lock = acquireRunLock(cwd);
  t.after(() => lock.release());
  assert.equal(JSON.parse(readFileSync(runLockPath(cwd), "utf8")).pid, process.pid);
  assert.deepEqual(readdirSync(join(cwd, ".akspilot")).sort(), ["run.lock"], "no stale or temporary file left");
});

test("a lock whose pid now belongs to another program is cleared", { skip: existsSync("/proc/self/stat") ? false : "needs /proc to tell processes apart" }, async (t) => {
  const cwd = tempDir(t, "akspilot-lock-");
  const killed = await holder(t, cwd);
  killed.kill("SIGKILL");
  await exitOf(killed);
  // The pid is reused: the lock now names a live process that is not the run that wrote it.
  const other = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  t.after(() => {
    other.kill("SIGKILL");
  });
  const stale = JSON.parse(readFileSync(runLockPath(cwd), "utf8")) as { pid: number };
  writeFileSync(runLockPath(cwd), JSON.stringify({ ...stale, pid: other.pid }));

  const lock = acquireRunLock(cwd);
  t.after(() => lock.release());
  assert.equal(JSON.parse(readFileSync(runLockPath(cwd), "utf8")).pid, process.pid);
});

test("each run logs into its own owner-only directory; latest points at the newest", (t) => {
  const cwd = tempDir(t, "akspilot-lock-");
  const a = acquireRunLock(cwd);
  const dirA = runLogDir(cwd, a.runId);
  writeFileSync(join(dirA, "aqs-app-1.log"), "run a\n");
  a.release();
  const b = acquireRunLock(cwd);
  t.after(() => b.release());
  assert.notEqual(b.runId, a.runId);
  const dirB = runLogDir(cwd, b.runId);
  writeFileSync(join(dirB, "aqs-app-1.log"), "run b\n");

  assert.equal(readFileSync(join(dirA, "aqs-app-1.log"), "utf8"), "run a\n", "runs never append to each other's logs");
  const logs = join(cwd, ".akspilot", "logs");
  assert.equal(readlinkSync(join(logs, "latest")), b.runId);
  assert.equal(readFileSync(join(logs, "latest", "aqs-app-1.log"), "utf8"), "run b\n");
  for (const d of [join(cwd, ".akspilot"), logs, dirA, dirB]) assert.equal(statSync(d).mode & 0o777, 0o700, d);
  assert.deepEqual(readdirSync(logs).sort(), [a.runId, b.runId, "latest"].sort(), "no temporary link left");
  assert.throws(() => runLogDir(cwd, "../escape"), UserError);
});

import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { existsSync } from "node:fs";

const parentWatch = new URL("./parent-watch.js", import.meta.url).href;

/** Every child akspilot starts, so that the last-resort exit hook can kill them all. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort: if the tool exits without stopping its children, they die with it.
  process.on("exit", () => {
    for (const c of live) {
      if (c.exitCode === null && c.signalCode === null) {
        try {
          c.kill("SIGKILL");
        } catch {
          /* already gone */
        }
      }
    }
  });
}

/**
 * Starts a Node.js script as a child process that cannot outlive this one: it is tracked for the exit
 * hook, and it carries an IPC channel plus a preload that stops it when the channel closes (parent crash).
 */
export function spawnNodeChild(script: string, args: string[], options: SpawnOptions & { nodeArgs?: string[] } = {}): ChildProcess {
  installExitHook();
  const { nodeArgs = [], ...rest } = options;
  const stdio = rest.stdio ?? ["ignore", "pipe", "pipe"];
  const withIpc = Array.isArray(stdio) ? [...stdio.slice(0, 3), "ipc"] : [stdio, stdio, stdio, "ipc"];
  const child = spawn(process.execPath, [...nodeArgs, "--import", parentWatch, script, ...args], {
    ...rest,
    stdio: withIpc as SpawnOptions["stdio"],
    // Own process group: a terminal's Ctrl-C goes to the tool alone, which then stops its children in
    // order (pods, then storage) and can still read storage for its report.
    detached: true,
  });
  live.add(child);
  child.once("exit", () => live.delete(child));
  // The IPC channel must not keep this process alive on its own.
  child.channel?.unref();
  return child;
}

/**
 * Starts a program that is not Node.js (the haproxy data plane) so that it cannot outlive this process
 * either: tracked for the exit hook, and on Linux started through util-linux's `setpriv --pdeathsig` so the
 * kernel kills it should this process die without running any hook (SIGKILL, a crash).
 */
export function spawnProgramChild(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  installExitHook();
  const pdeath = process.platform === "linux" && existsSync(SETPRIV);
  const child = spawn(pdeath ? SETPRIV : command, pdeath ? ["--pdeathsig", "SIGKILL", "--", command, ...args] : args, {
    stdio: ["ignore", "pipe", "pipe"],
    ...options,
    // As for Node children: a terminal's Ctrl-C goes to the tool alone, which stops its children in order.
    detached: true,
  });
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}

const SETPRIV = "/usr/bin/setpriv";

/** Sends `signal`, waits up to `graceMs` for the exit, then SIGKILL. Resolves once the process is gone. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    child.kill(signal);
  } catch {
    /* already gone */
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      /* gone */
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

let guard: ChildProcess | undefined;

/**
 * Stops (SIGSTOP) or resumes (SIGCONT) a child, keeping a guard process informed: should this process die
 * while a child is stopped, the guard wakes it so that it can notice and exit rather than linger forever.
 */
export function freezeChild(child: ChildProcess, frozen: boolean): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  if (frozen && !guard) {
    guard = spawn(process.execPath, [new URL("./thaw-guard.js", import.meta.url).pathname], { stdio: ["ignore", "ignore", "ignore", "ipc"], detached: true });
    live.add(guard);
    guard.once("exit", () => {
      if (guard) live.delete(guard);
      guard = undefined;
    });
    guard.channel?.unref();
    guard.unref();
  }
  if (guard?.connected) {
    const pid = child.pid;
    guard.send(frozen ? { frozen: pid } : { thawed: pid });
    if (frozen)
      child.once("exit", () => {
        if (guard?.connected) guard.send({ thawed: pid });
      });
  }
  try {
    child.kill(frozen ? "SIGSTOP" : "SIGCONT");
  } catch {
    /* already gone */
  }
}

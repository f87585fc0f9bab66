// Shared pieces of the EDW tests: real Azurite, real consumer processes, the CLI run as a user runs it,
// and a process census from /proc so that no test leaves anything running.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { QueueClient } from "@azure/storage-queue";
import { spawnNodeChild, stopChild } from "../../src/process/child.js";
import { storageClients, type StorageClients } from "../../src/storage/clients.js";
import type { StorageEndpoint } from "../../src/storage/config.js";
import { messageIndex } from "../../src/apps/message.js";
import type { ConsumerStats } from "../../src/apps/consumer/consumer.js";
import type { ProcessedEntity } from "../../src/apps/consumer/entity.js";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const BIN = join(ROOT, "bin", "akspilot.js");
/** The consumer program as pods run it (the bundle), or the compiled module tree. */
export const CONSUMER = [join(ROOT, "dist", "bundle", "consumer.mjs"), join(ROOT, "dist", "src", "apps", "consumer", "main.js")].find((p) => existsSync(p))!;
export const QUEUE = "aws2azmsgs";
export const POISON = "aws2azmsgs-poison";
export const TABLE = "aws2azpmts";

interface AfterHost {
  after: (fn: () => void | Promise<void>) => void;
}

export function tempDir(t: AfterHost, prefix = "akspilot-edw-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function endpointOf(connectionString: string): StorageEndpoint {
  return { kind: "connection-string", connectionString, origin: "env" };
}

export interface Storage {
  clients: StorageClients;
  queue: QueueClient;
  poison: QueueClient;
  table: ReturnType<StorageClients["table"]>;
}

/** Clients for the seed's queue, poison queue and table; creates them. */
export async function storageFor(connectionString: string): Promise<Storage> {
  const clients = storageClients(endpointOf(connectionString));
  const s = { clients, queue: clients.queue(QUEUE), poison: clients.queue(POISON), table: clients.table(TABLE) };
  await s.queue.createIfNotExists();
  await s.poison.createIfNotExists();
  await s.table.createTable();
  return s;
}

/** Empties both queues and the table, so tests sharing one Azurite start from nothing. */
export async function resetStorage(s: Storage): Promise<void> {
  await s.queue.clearMessages();
  await s.poison.clearMessages();
  const keys: { partitionKey: string; rowKey: string }[] = [];
  for await (const e of s.table.listEntities()) keys.push({ partitionKey: e.partitionKey!, rowKey: e.rowKey! });
  await Promise.all(keys.map((k) => s.table.deleteEntity(k.partitionKey, k.rowKey)));
}

export type Row = ProcessedEntity & { index?: number };

export async function tableRows(s: Storage): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const e of s.table.listEntities<ProcessedEntity>()) {
    rows.push({ ...(e as ProcessedEntity), index: messageIndex(String(e.data)) });
  }
  return rows;
}

/** How often each COUNT index is stored. */
export function countByIndex(rows: Row[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of rows) if (r.index !== undefined) m.set(r.index, (m.get(r.index) ?? 0) + 1);
  return m;
}

/** Receives everything visible (and keeps it invisible for `holdSeconds`): the message texts. */
export async function receiveAll(q: QueueClient, holdSeconds = 30): Promise<{ text: string; dequeueCount: number }[]> {
  const out: { text: string; dequeueCount: number }[] = [];
  for (;;) {
    const r = await q.receiveMessages({ numberOfMessages: 32, visibilityTimeout: holdSeconds });
    if (r.receivedMessageItems.length === 0) return out;
    for (const m of r.receivedMessageItems) out.push({ text: m.messageText, dequeueCount: m.dequeueCount });
  }
}

export async function queueDepth(q: QueueClient): Promise<number> {
  return (await q.getProperties()).approximateMessagesCount ?? 0;
}

/**
 * Polls `check` until it returns a value other than undefined. A bounded wait, not a timing assertion:
 * the bound only keeps a broken build from hanging the suite.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, boundMs = 60_000, everyMs = 100): Promise<T> {
  const end = Date.now() + boundMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---- consumer processes --------------------------------------------------------------------------------

export interface ConsumerProcess {
  child: ChildProcess;
  pid: number;
  healthPort: number;
  stderr: () => string;
  stats(): Promise<ConsumerStats>;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the consumer program as a child process, as the local runtime's pods do (an IPC channel, so it
 * also stops if this test process dies), against `connectionString`. Stopped after the test in any case.
 */
export async function startConsumer(t: AfterHost, connectionString: string, args: string[], env: Record<string, string> = {}): Promise<ConsumerProcess> {
  const child = spawnNodeChild(CONSUMER, args, {
    env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: connectionString, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  t.after(() => stopChild(child, "SIGKILL", 1000));
  const healthPort = await new Promise<number>((resolve, reject) => {
    child.on("message", (m: { type?: string; healthPort?: number }) => {
      if (m?.type === "ready" && typeof m.healthPort === "number") resolve(m.healthPort);
    });
    void exited.then(({ code, signal }) => reject(new Error(`consumer exited before it was ready (${signal ?? code}): ${err.trim()}`)));
  });
  return {
    child,
    pid: child.pid!,
    healthPort,
    stderr: () => err,
    exited,
    async stats() {
      const res = await fetch(`http://127.0.0.1:${healthPort}/stats`);
      return (await res.json()) as ConsumerStats;
    },
  };
}

// ---- the CLI, as a user runs it ---------------------------------------------------------------------

/** A marker in the environment of everything a test starts: its descendants inherit it, whoever their parent is. */
export function newMarker(): string {
  return `akspilot-test-${randomUUID()}`;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  marker?: string;
}

function cliEnv(o: CliOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The user's storage must not leak into a test that expects embedded storage.
  delete env.AZURE_STORAGE_CONNECTION_STRING;
  delete env.AZURE_STORAGE_ACCOUNT_NAME;
  delete env.AZURE_QUEUE_NAME;
  delete env.AZURE_TABLE_NAME;
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  if (o.marker) env.AKSPILOT_TEST_MARKER = o.marker;
  return env;
}

/** Gathers a child's piped stdout and stderr as text, readable at any time. */
export function collectOutput(child: ChildProcess): { stdout: () => string; stderr: () => string } {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return { stdout: () => stdout, stderr: () => stderr };
}

/** Starts `node bin/akspilot.js …` in `cwd`; killed (with its descendants) after the test in any case. */
export function startCli(t: AfterHost, args: string[], o: CliOptions): { child: ChildProcess; output: () => CliRun; exited: Promise<CliRun> } {
  const marker = o.marker ?? newMarker();
  const child = spawn(process.execPath, [BIN, ...args], { cwd: o.cwd, env: cliEnv({ ...o, marker }), stdio: ["ignore", "pipe", "pipe"] });
  const { stdout, stderr } = collectOutput(child);
  const exited = new Promise<CliRun>((resolve) => child.once("close", (code, signal) => resolve({ code, signal, stdout: stdout(), stderr: stderr() })));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    killMarked(marker);
  });
  return { child, output: () => ({ code: child.exitCode, signal: child.signalCode, stdout: stdout(), stderr: stderr() }), exited };
}

export async function runCli(t: AfterHost, args: string[], o: CliOptions): Promise<CliRun> {
  return startCli(t, args, o).exited;
}

// ---- /proc census -----------------------------------------------------------------------------------

export interface Proc {
  pid: number;
  ppid: number;
  cmdline: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may contain spaces; everything after its closing parenthesis is space-separated.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z") return undefined; // a zombie is gone, only not yet reaped
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
    return { pid, ppid: Number(rest[1]), cmdline };
  } catch {
    return undefined;
  }
}

export function allProcs(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) out.push(p);
  }
  return out;
}

export function descendants(root: number): Proc[] {
  const procs = allProcs();
  const found: Proc[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const p of procs) {
      if (p.ppid === parent) {
        found.push(p);
        frontier.push(p.pid);
      }
    }
  }
  return found;
}

/** Live processes whose environment carries `marker` (the test's CLI and everything it started). */
export function markedProcs(marker: string): Proc[] {
  const needle = `AKSPILOT_TEST_MARKER=${marker}`;
  const out: Proc[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, "utf8");
      if (!env.split("\0").includes(needle)) continue;
    } catch {
      continue;
    }
    const p = readProc(Number(name));
    if (p) out.push(p);
  }
  return out;
}

export function alive(pid: number, cmdline: string): boolean {
  return readProc(pid)?.cmdline === cmdline;
}

/** Cleanup after a failed test: kills whatever still carries the marker. */
export function killMarked(marker: string): void {
  for (const p of markedProcs(marker)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

/** Waits until no process carries the marker; returns those still alive at the bound (empty when clean). */
export async function waitNoneMarked(marker: string, boundMs = 20_000): Promise<Proc[]> {
  const end = Date.now() + boundMs;
  for (;;) {
    const left = markedProcs(marker);
    if (left.length === 0 || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The one line a failing command must print: non-empty lines of stderr. */
export function stderrLines(r: CliRun): string[] {
  return r.stderr
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
}

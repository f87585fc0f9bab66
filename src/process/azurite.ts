import { makeDirectory } from "../util/secure-fs.js";
import { createRequire } from "node:module";
import type { ChildProcess } from "node:child_process";
import { UserError } from "../errors.js";
import { spawnNodeChild, stopChild } from "./child.js";

/** Azurite's well-known development account (public, documented; not a secret). */
export const DEV_ACCOUNT = "devstoreaccount1";
export const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteHandle {
  connectionString: string;
  accountName: string;
  accountKey: string;
  endpoints: { blob: string; queue: string; table: string };
  pid: number;
  /** Where data persists, or undefined when in memory. */
  dataDir?: string;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Durable persistence in this directory; in memory when omitted. */
  dataDir?: string;
  /** Give up starting after this long (the child is killed). */
  startTimeoutMs?: number;
}

const require = createRequire(import.meta.url);

function azuriteScript(): string {
  return require.resolve("azurite/dist/src/azurite.js");
}

export function connectionStringFor(endpoints: AzuriteHandle["endpoints"]): string {
  return (
    [
      "DefaultEndpointsProtocol=http",
      `AccountName=${DEV_ACCOUNT}`,
      `AccountKey=${DEV_KEY}`,
      `BlobEndpoint=${endpoints.blob}`,
      `QueueEndpoint=${endpoints.queue}`,
      `TableEndpoint=${endpoints.table}`,
    ].join(";") + ";"
  );
}

const LISTENING = /Azurite (Blob|Queue|Table) service is successfully listening at (http:\/\/[\d.]+:\d+)/g;

/**
 * Starts Azurite (blob, queue, table) as a child process on 127.0.0.1, on ports the OS picks.
 * The child never outlives this process: see spawnNodeChild.
 */
export async function startAzurite(opts: AzuriteOptions = {}): Promise<AzuriteHandle> {
  const args = [
    "--silent",
    "--loose",
    "--skipApiVersionCheck",
    "--disableTelemetry",
    "--blobHost",
    "127.0.0.1",
    "--queueHost",
    "127.0.0.1",
    "--tableHost",
    "127.0.0.1",
    "--blobPort",
    "0",
    "--queuePort",
    "0",
    "--tablePort",
    "0",
  ];
  if (opts.dataDir) {
    try {
      makeDirectory(opts.dataDir);
    } catch (e) {
      throw new UserError(`cannot create the storage data directory "${opts.dataDir}": ${(e as Error).message}`, "pass a writable --data DIR");
    }
    args.push("--location", opts.dataDir);
  } else {
    args.push("--inMemoryPersistence");
  }
  const child = spawnNodeChild(azuriteScript(), args, { cwd: opts.dataDir ?? process.cwd() });
  try {
    const ports = await waitForListening(child, opts.startTimeoutMs ?? 20000);
    const endpoints = {
      blob: `${ports.Blob}/${DEV_ACCOUNT}`,
      queue: `${ports.Queue}/${DEV_ACCOUNT}`,
      table: `${ports.Table}/${DEV_ACCOUNT}`,
    };
    let stopping: Promise<void> | undefined;
    return {
      connectionString: connectionStringFor(endpoints),
      accountName: DEV_ACCOUNT,
      accountKey: DEV_KEY,
      endpoints,
      pid: child.pid ?? -1,
      dataDir: opts.dataDir,
      // Graceful: Azurite flushes its metadata on SIGTERM; a kill would lose the last 5 s of writes.
      stop: () => (stopping ??= stopChild(child, "SIGTERM", 10000)),
    };
  } catch (e) {
    await stopChild(child, "SIGKILL", 1000);
    throw e;
  }
}

function waitForListening(child: ChildProcess, timeoutMs: number): Promise<Record<"Blob" | "Queue" | "Table", string>> {
  return new Promise((resolve, reject) => {
    const found: Partial<Record<"Blob" | "Queue" | "Table", string>> = {};
    let out = "";
    let err = "";
    const done = (e?: Error) => {
      clearTimeout(timer);
      child.stdout?.removeAllListeners("data");
      child.stderr?.removeAllListeners("data");
      child.off("exit", onExit);
      if (e) reject(e);
      else resolve(found as Record<"Blob" | "Queue" | "Table", string>);
    };
    const timer = setTimeout(
      () =>
        done(
          new UserError(`embedded storage (Azurite) did not start within ${timeoutMs} ms`, "check the machine's load or set AZURE_STORAGE_CONNECTION_STRING to use other storage"),
        ),
      timeoutMs,
    );
    const onExit = (code: number | null) => {
      const why = (err || out).trim().split("\n").slice(-1)[0] ?? "";
      done(new UserError(`embedded storage (Azurite) exited during start (code ${code})${why ? `: ${why}` : ""}`, "check --data DIR and free disk space"));
    };
    child.once("exit", onExit);
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      for (const m of out.matchAll(LISTENING)) found[m[1] as "Blob"] = m[2]!;
      if (found.Blob && found.Queue && found.Table) {
        // Keep draining output so Azurite never blocks on a full pipe.
        child.stdout?.removeAllListeners("data");
        child.stdout?.resume();
        child.stderr?.resume();
        done();
      }
    });
  });
}

// The consumer's memory floors, measured beside it: the smallest programs that do its storage work, each run
// as its own process with the pods' V8 flags on each Node.js binary. If a floor's peak is above the pod's
// memory goal, no consumer in Node.js (raw) or on the Azure SDK (sdk) can meet it on that binary.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { AccountSASPermissions, QueueServiceClient, StorageSharedKeyCredential, type QueueClient } from "@azure/storage-queue";
import { DEV_ACCOUNT, DEV_KEY, type AzuriteHandle } from "../../src/process/azurite.js";
import { POD_NODE_ARGS } from "../../src/local/programs.js";
import { ROOT } from "../cli.js";
import { fill } from "../pod.js";
import type { Peak } from "./peak.js";

export type FloorKind = "sdk" | "raw";

export interface Floor extends Peak {
  kind: FloorKind;
  node: string;
  handled: number;
}

/** A floor loop should drain its queue in seconds; past this it is stuck, and is stopped. */
const FLOOR_RUN_TIMEOUT_MS = 300_000;

function run(node: string, kind: FloorKind, env: Record<string, string>): Promise<Peak & { handled: number }> {
  const program = join(ROOT, "dist", "bench", "floor", `${kind}-loop.js`);
  return new Promise((resolve, reject) => {
    const child = spawn(node, [...POD_NODE_ARGS, program], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: FLOOR_RUN_TIMEOUT_MS,
      killSignal: "SIGKILL",
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (err += d.toString("utf8")));
    child.once("error", reject);
    // "close", not "exit": only then has the child's stdout been read to its end.
    child.once("close", (code, signal) => {
      const what = `${kind} floor loop on ${node}`;
      if (code !== 0) {
        const why = err
          .trim()
          .split("\n")
          .find((l) => l.startsWith("Error"));
        reject(new Error(`${what} ${signal ? `was stopped by ${signal}` : `exited ${code}`}: ${why ?? (err.trim().slice(0, 300) || "no output")}`));
        return;
      }
      try {
        resolve(JSON.parse(out.trim().split("\n").pop() ?? "") as Peak & { handled: number });
      } catch {
        reject(new Error(`${what} printed no result line: ${JSON.stringify(out.slice(-300))}`));
      }
    });
  });
}

/** Each floor on each binary drains `n` messages of `q` (filled here before each run). */
export async function memoryFloors(az: AzuriteHandle, q: QueueClient, n: number, nodes: { bin: string; version: string }[]): Promise<Floor[]> {
  // Azurite's well-known development key (public); the raw loop has no SDK to sign with, so it gets a SAS.
  const sasUrl = new QueueServiceClient(az.endpoints.queue, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY)).generateAccountSasUrl(
    new Date(Date.now() + 3_600_000),
    AccountSASPermissions.parse("rdp"),
    "sco",
  );
  const env = {
    AZURE_STORAGE_CONNECTION_STRING: az.connectionString,
    AZURE_QUEUE_NAME: q.name,
    AKSPILOT_FLOOR_QUEUE_URL: q.url,
    AKSPILOT_FLOOR_SAS: new URL(sasUrl).search.slice(1),
  };
  const out: Floor[] = [];
  for (const { bin, version } of nodes) {
    for (const kind of ["raw", "sdk"] as const) {
      await q.clearMessages();
      await fill(q, n);
      const p = await run(bin, kind, env);
      if (p.handled !== n) throw new Error(`${kind} floor loop on ${version} drained ${p.handled} of ${n} messages`);
      out.push({ kind, node: version, ...p });
    }
  }
  return out;
}

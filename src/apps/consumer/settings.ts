import { UserError } from "../../errors.js";

/** Default visibility: the seed's 60 s, or longer than twice the work so one renewal always fits. */
export function defaultVisibilitySeconds(workMs: number): number {
  return Math.max(60, Math.ceil((2 * workMs) / 1000) + 30);
}

export interface ConsumerSettings {
  /** Messages per receive (1–32). */
  batchSize: number;
  /** Messages processed at once; a pod's throughput is concurrency / work time. */
  concurrency: number;
  /** Simulated work per message. */
  workMs: number;
  /** Receive visibility timeout; renewed while work runs longer than half of it. */
  visibilityTimeoutSeconds: number;
  /** A message delivered more often than this goes to the poison queue (Azure Functions: 5). */
  maxDequeue: number;
  /** Idle backoff: first wait, doubling up to the longest. */
  idleMinMs: number;
  idleMaxMs: number;
  /** Messages whose text matches fail during processing (fault injection). */
  failMatch?: RegExp;
  healthHost: string;
  healthPort: number;
  /** Time allowed to finish or release work after SIGTERM (Kubernetes: terminationGracePeriodSeconds). */
  graceMs: number;
}

/** Flag names (also accepted as AKSPILOT_<NAME> environment variables, for containers). */
export const CONSUMER_FLAGS = [
  "batch-size",
  "concurrency",
  "work-ms",
  "visibility-timeout",
  "max-dequeue",
  "idle-min-ms",
  "idle-max-ms",
  "fail-match",
  "health-host",
  "health-port",
  "grace-ms",
] as const;
export type ConsumerFlag = (typeof CONSUMER_FLAGS)[number];

function envName(flag: string): string {
  return `AKSPILOT_${flag.toUpperCase().replace(/-/g, "_")}`;
}

function int(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new UserError(`--${name} must be a whole number, got "${raw}"`, `pass --${name} ${fallback} (or set ${envName(name)})`);
  const n = Number(raw);
  if (n < min || n > max) throw new UserError(`--${name} must be from ${min} to ${max}, got ${n}`, `pass a value in range`);
  return n;
}

/** Validated settings from flags, falling back to AKSPILOT_* variables, then defaults. */
export function consumerSettings(flags: Partial<Record<ConsumerFlag, string>>, env: NodeJS.ProcessEnv = process.env): ConsumerSettings {
  const get = (f: ConsumerFlag) => flags[f] ?? env[envName(f)];
  const workMs = int(get("work-ms"), "work-ms", 0, 0, 3_600_000);
  const idleMinMs = int(get("idle-min-ms"), "idle-min-ms", 250, 10, 600_000);
  let failMatch: RegExp | undefined;
  const fm = get("fail-match");
  if (fm) {
    try {
      failMatch = new RegExp(fm);
    } catch (e) {
      throw new UserError(`--fail-match is not a valid regular expression: ${(e as Error).message}`, "pass a JavaScript regular expression");
    }
  }
  return {
    batchSize: int(get("batch-size"), "batch-size", 32, 1, 32),
    concurrency: int(get("concurrency"), "concurrency", 32, 1, 1024),
    workMs,
    visibilityTimeoutSeconds: int(get("visibility-timeout"), "visibility-timeout", defaultVisibilitySeconds(workMs), 1, 604_800),
    maxDequeue: int(get("max-dequeue"), "max-dequeue", 5, 1, 1000),
    idleMinMs,
    idleMaxMs: Math.max(idleMinMs, int(get("idle-max-ms"), "idle-max-ms", 30_000, 10, 600_000)),
    failMatch,
    healthHost: get("health-host") || "127.0.0.1",
    healthPort: int(get("health-port"), "health-port", 0, 0, 65535),
    graceMs: int(get("grace-ms"), "grace-ms", 25_000, 0, 3_600_000),
  };
}

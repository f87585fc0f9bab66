import { UserError } from "../../errors.js";

export interface ProducerSettings {
  count: number;
  rate: number;
  burst: number;
  burstEverySeconds?: number;
  concurrency: number;
  startIndex: number;
}

export const PRODUCER_FLAGS = ["count", "rate", "burst", "burst-every", "concurrency", "start-index"] as const;
export type ProducerFlag = (typeof PRODUCER_FLAGS)[number];

function num(raw: string | undefined, name: string, fallback: number, min: number, integer: boolean): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
    throw new UserError(`--${name} must be ${integer ? "a whole number" : "a number"} ≥ ${min}, got "${raw}"`, `e.g. --${name} ${fallback === Infinity ? 100 : fallback}`);
  }
  return n;
}

/** Validated producer settings from flags, then AKSPILOT_* variables (containers), then the seed's defaults. */
export function producerSettings(flags: Partial<Record<ProducerFlag, string>>, env: NodeJS.ProcessEnv = process.env): ProducerSettings {
  const get = (f: ProducerFlag) => flags[f] ?? env[`AKSPILOT_${f.toUpperCase().replace(/-/g, "_")}`];
  const s: ProducerSettings = {
    count: num(get("count"), "count", Infinity, 1, true),
    rate: num(get("rate"), "rate", 1, 0, false),
    burst: num(get("burst"), "burst", 0, 0, true),
    concurrency: num(get("concurrency"), "concurrency", 32, 1, true),
    startIndex: num(get("start-index"), "start-index", 1, 0, true),
  };
  const every = get("burst-every");
  if (every !== undefined) s.burstEverySeconds = num(every, "burst-every", 60, 0.001, false);
  if (s.rate === 0 && s.burst === 0) throw new UserError("--rate 0 with no --burst would send nothing", "pass --rate above 0 or a --burst size");
  if (s.burstEverySeconds !== undefined && s.burst === 0) throw new UserError("--burst-every needs --burst SIZE", "add --burst 100, for example");
  return s;
}

import { UserError } from "../errors.js";
import { HPA_SYNC_SECONDS } from "./scaledobject.js";

/**
 * The HPA's resync phase relative to KEDA's polling loop. On AKS the two loops start independently, so
 * after KEDA activates a Deployment (0 → 1) the HPA's next sync comes 0–15 s later. A run picks the
 * phase from a seed (reproducible), or takes a bound: `best` (the HPA syncs right after KEDA's poll) or
 * `worst` (just before it: a full 15 s lag). Seconds in [0, 15).
 */
export type PhaseSpec = number | "best" | "worst" | "random";

/** What the worst phase is: the HPA one millisecond before KEDA's poll. */
const WORST_SLACK = 0.001;

/** mulberry32: a small, seedable PRNG (same seed, same phase, in the simulator and the runtime). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function resolveHpaPhase(spec: PhaseSpec, seed = 1, period = HPA_SYNC_SECONDS): number {
  if (spec === "best") return 0;
  if (spec === "worst") return period - WORST_SLACK;
  if (spec === "random") return Math.round(seededRandom(seed)() * period * 1000) / 1000;
  return spec;
}

/** `--hpa-phase`: seconds in [0, 15), best, worst or random (the default, from `--seed`). */
export function parsePhaseFlag(raw: string | undefined, flag = "--hpa-phase"): PhaseSpec {
  if (raw === undefined || raw === "random") return "random";
  if (raw === "best" || raw === "worst") return raw;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || n >= HPA_SYNC_SECONDS) {
    throw new UserError(`${flag} must be best, worst, random or seconds from 0 to under ${HPA_SYNC_SECONDS}, got "${raw.slice(0, 40)}"`, `e.g. ${flag} worst`);
  }
  return n;
}

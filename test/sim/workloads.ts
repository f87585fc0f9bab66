import { seedNodePool, seedScaledObject } from "../../src/blueprints/edw.js";
import { TEST_CATALOG as DEFAULT_CATALOG } from "../scaling/fixture-catalog.js";
import { poolSettings } from "../../src/scaling/karpenter.js";
import { scalingRuleFrom } from "../../src/scaling/scaledobject.js";
import type { Trace } from "../../src/sim/trace.js";

export const seedInputs = () => ({ rule: scalingRuleFrom(seedScaledObject()), pool: poolSettings(seedNodePool(), DEFAULT_CATALOG) });

/** The seed producer's shape: a steady 1 msg/s with a 3,000-message burst (300/s for 10 s) every 5 minutes, for 30 minutes. */
export function recurringBursts(): Trace {
  const points: Trace["points"] = [];
  for (let k = 0; k < 6; k++) {
    points.push({ t: k * 300, v: 1 }, { t: k * 300 + 60, v: 301 }, { t: k * 300 + 70, v: 1 });
  }
  points.push({ t: 1800, v: 0 });
  return { kind: "arrivals", points };
}

/** One burst from idle: 100 msg/s for 60 s. */
export const singleBurst = (): Trace => ({
  kind: "arrivals",
  points: [
    { t: 0, v: 100 },
    { t: 60, v: 0 },
  ],
});

/** Pods of the comparison: 4 messages at a time, 400 ms each (10 msg/s per pod). */
export const COMPARISON_POD = { workMs: 400, concurrency: 4 } as const;

/** One burst after 5 minutes idle: nothing for 300 s, then 100 msg/s for 60 s (a capacity buffer has had time to come up). */
export const burstAfterIdle = (): Trace => ({
  kind: "arrivals",
  points: [
    { t: 0, v: 0 },
    { t: 300, v: 100 },
    { t: 360, v: 0 },
  ],
});

/** The predictive policy with no capacity buffer (nodes follow pods only). */
export const NO_BUFFER = { warmPodsMin: 0, warmHistorySeconds: 0 } as const;

// The HPA's resync phase relative to KEDA's poll: a parameter, seeded by default, with best/worst bounds.
import assert from "node:assert/strict";
import { test } from "node:test";
import { UserError } from "../../src/errors.js";
import { parsePhaseFlag, resolveHpaPhase } from "../../src/scaling/phase.js";
import { KedaHpaPolicy } from "../../src/scaling/policy.js";
import { simulate } from "../../src/sim/engine.js";
import { seedInputs } from "../sim/workloads.js";
import { seedRule } from "./helpers.js";

test("phase: best 0, worst just under 15 s, random the same for the same seed and within [0, 15)", () => {
  assert.equal(resolveHpaPhase("best"), 0);
  assert.equal(resolveHpaPhase("worst"), 14.999);
  assert.equal(resolveHpaPhase("random", 1), resolveHpaPhase("random", 1));
  assert.notEqual(resolveHpaPhase("random", 1), resolveHpaPhase("random", 2));
  for (let s = 0; s < 50; s++) {
    const p = resolveHpaPhase("random", s);
    assert.ok(p >= 0 && p < 15, `seed ${s}: ${p}`);
  }
  assert.equal(resolveHpaPhase(7.5), 7.5);
  assert.deepEqual(new KedaHpaPolicy(seedRule(), 0, 4).loops()[1], { name: "hpa", periodSeconds: 15, offsetSeconds: 4 });
});

test("--hpa-phase: seconds, best, worst or random; anything else is refused", () => {
  assert.equal(parsePhaseFlag(undefined), "random");
  assert.equal(parsePhaseFlag("worst"), "worst");
  assert.equal(parsePhaseFlag("3.5"), 3.5);
  for (const bad of ["15", "-1", "soon", ""])
    assert.throws(
      () => parsePhaseFlag(bad),
      (e: unknown) => e instanceof UserError && /--hpa-phase must be/.test(e.message),
      bad,
    );
});

test("the ramp after activation lags by the phase: 0 → 1 at KEDA's poll, 1 → N at the HPA's next sync", () => {
  const trace = {
    kind: "queue" as const,
    points: [
      { t: 0, v: 0 },
      { t: 40, v: 200 },
    ],
  };
  const lag = (phase: number) => {
    const r = simulate({ ...seedInputs(), trace, durationSeconds: 120, hpaPhaseSeconds: phase });
    const so = r.events.filter((e) => e.object.startsWith("scaledobject/"));
    const act = so.find((e) => e.reason === "KEDAScaleTargetActivated")!.time;
    const up = so.find((e) => e.reason === "HPAScaleUp")!.time;
    return (up - act) / 1000;
  };
  // KEDA activates at its poll of 60 s.
  assert.equal(lag(resolveHpaPhase("best")), 0);
  assert.equal(lag(resolveHpaPhase("worst")), 14.999);
  assert.equal(lag(9.406), 9.406);
});

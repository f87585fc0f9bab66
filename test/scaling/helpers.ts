import { seedScaledObject } from "../../src/blueprints/edw.js";
import type { ScaledObjectManifest } from "../../src/blueprints/types.js";
import { scalingRuleFrom, type ScalingRule } from "../../src/scaling/scaledobject.js";

/** The seed's ScaledObject (queueLength 5, activation 20, min 0, max 15, polling 30, cooldown 10) as a rule, with overrides. */
export function seedRule(over: Partial<ScalingRule> = {}): ScalingRule {
  return { ...scalingRuleFrom(seedScaledObject()), ...over };
}

/** A deep copy of the seed's ScaledObject to break in one place. */
export function seedManifest(): ScaledObjectManifest & Record<string, unknown> {
  return structuredClone(seedScaledObject()) as ScaledObjectManifest & Record<string, unknown>;
}

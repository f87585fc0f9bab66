import type { HpaBehavior } from "../blueprints/types.js";
import type { ScalingRule } from "./scaledobject.js";

/**
 * What the target cluster's API would drop from the objects a ScaledObject produces. The preview applies
 * the same drop, and says so, rather than honouring a setting AKS would ignore.
 *
 * HPA `behavior.scaleUp/scaleDown.tolerance`: alpha in Kubernetes 1.33 behind the HPAConfigurableTolerance
 * gate (off by default; AKS does not enable alpha gates), beta and on by default from 1.34
 * (kubernetes/enhancements KEP-4951). Below 1.34 the API server's dropDisabledFields removes it, so the
 * HPA uses the controller's --horizontal-pod-autoscaler-tolerance (0.1).
 */
export const TOLERANCE_MIN_MINOR = 34;

export function minorOf(version: string | undefined): number | undefined {
  const m = /^v?1\.(\d+)/.exec(version?.trim() ?? "");
  return m ? Number(m[1]) : undefined;
}

export interface CompatResult {
  rule: ScalingRule;
  /** One line per dropped setting: what, why, and what to do. */
  warnings: string[];
}

/** The rule as a cluster of `kubernetesVersion` would run it; unknown versions keep everything. */
export function ruleForKubernetesVersion(rule: ScalingRule, kubernetesVersion: string | undefined): CompatResult {
  const minor = minorOf(kubernetesVersion);
  const b = rule.behavior;
  if (minor === undefined || minor >= TOLERANCE_MIN_MINOR || !b) return { rule, warnings: [] };
  const warnings: string[] = [];
  const strip = (dir: "scaleUp" | "scaleDown"): HpaBehavior[typeof dir] => {
    const r = b[dir];
    if (r?.tolerance === undefined) return r;
    warnings.push(
      `ScaledObject ${rule.name}: .spec.advanced.horizontalPodAutoscalerConfig.behavior.${dir}.tolerance (${r.tolerance}) is dropped: ` +
        `Kubernetes ${kubernetesVersion} does not serve HPA tolerance (alpha in 1.33 behind HPAConfigurableTolerance, on by default from 1.${TOLERANCE_MIN_MINOR}); ` +
        `the HPA uses the default 0.1 — remove the field or target Kubernetes 1.${TOLERANCE_MIN_MINOR}+`,
    );
    const { tolerance: _dropped, ...rest } = r;
    return rest;
  };
  const behavior: HpaBehavior = { scaleUp: strip("scaleUp"), scaleDown: strip("scaleDown") };
  if (warnings.length === 0) return { rule, warnings };
  return { rule: { ...rule, behavior }, warnings };
}

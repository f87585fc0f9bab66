import type { IIoK8sApiCoreV1Container as Container } from "kubernetes-models/v1/Container";
import type { IIoK8sApiCoreV1PodSecurityContext as PodSecurityContext } from "kubernetes-models/v1/PodSecurityContext";
import type { IIoK8sApiCoreV1PodSpec as PodSpec } from "kubernetes-models/v1/PodSpec";
import type { IIoK8sApiCoreV1SecurityContext as SecurityContext } from "kubernetes-models/v1/SecurityContext";
import type { HardeningOverride } from "./values.js";

/** UID of the `node` user in the images akspilot builds. */
export const DEFAULT_UID = 1000;

/** Restricted-profile pod settings, each overridable in the values file's `hardening` section. */
export function podSecurityContext(h: HardeningOverride): PodSecurityContext {
  const runAsNonRoot = h.runAsNonRoot ?? true;
  const ctx: PodSecurityContext = { runAsNonRoot };
  if (runAsNonRoot || h.runAsUser !== undefined) {
    ctx.runAsUser = h.runAsUser ?? DEFAULT_UID;
    ctx.runAsGroup = h.runAsUser ?? DEFAULT_UID;
  }
  ctx.seccompProfile = { type: h.seccompProfile ?? "RuntimeDefault" };
  return ctx;
}

export function containerSecurityContext(h: HardeningOverride): SecurityContext {
  return {
    allowPrivilegeEscalation: h.allowPrivilegeEscalation ?? false,
    readOnlyRootFilesystem: h.readOnlyRootFilesystem ?? true,
    ...((h.dropAllCapabilities ?? true) ? { capabilities: { drop: ["ALL"] } } : {}),
  };
}

/**
 * The hardening rules every workload must meet unless the user opted out: returns one line per
 * violation (empty when the pod is hardened). Container settings may come from the pod level where
 * Kubernetes allows it (runAsNonRoot, seccomp).
 */
export function hardeningViolations(pod: PodSpec, opts: { tokenAllowed?: boolean } = {}): string[] {
  const out: string[] = [];
  const podCtx = pod.securityContext ?? {};
  if (!opts.tokenAllowed && pod.automountServiceAccountToken !== false) out.push("automountServiceAccountToken is not false");
  const containers: Container[] = [...(pod.initContainers ?? []), ...pod.containers];
  for (const c of containers) {
    const ctx = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if ((ctx.runAsNonRoot ?? podCtx.runAsNonRoot) !== true) out.push(`${where}: runAsNonRoot is not true`);
    if ((ctx.runAsUser ?? podCtx.runAsUser) === 0) out.push(`${where}: runs as UID 0`);
    if (ctx.readOnlyRootFilesystem !== true) out.push(`${where}: readOnlyRootFilesystem is not true`);
    if (ctx.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
    if (ctx.privileged) out.push(`${where}: privileged`);
    if (!(ctx.capabilities?.drop ?? []).includes("ALL")) out.push(`${where}: capabilities are not dropped (drop: [ALL])`);
    if ((ctx.capabilities?.add ?? []).length > 0) out.push(`${where}: adds capabilities`);
    if ((ctx.seccompProfile ?? podCtx.seccompProfile)?.type !== "RuntimeDefault") out.push(`${where}: seccompProfile is not RuntimeDefault`);
    for (const r of ["cpu", "memory"] as const) {
      if (c.resources?.requests?.[r] === undefined) out.push(`${where}: no ${r} request`);
      if (c.resources?.limits?.[r] === undefined) out.push(`${where}: no ${r} limit`);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef) out.push(`${where}: env ${e.name} comes from a Secret (use workload identity)`);
      if (/KEY|SECRET|PASSWORD|CONNECTION_STRING/i.test(e.name) && e.value) out.push(`${where}: env ${e.name} looks like a secret`);
    }
  }
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) out.push("uses host namespaces");
  return out;
}

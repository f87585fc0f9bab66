import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import type { ScaledObjectManifest } from "../blueprints/types.js";
import type { Settings } from "./config.js";
import { labelsFor, type BuildContext } from "./context.js";
import type { KubeObject } from "./object.js";

/**
 * The blueprint's ScaledObject with the installation's storage account and cloud filled in. The same
 * function serves the local autoscaler and the manifests, so both obey one object; nothing else changes
 * (key order included), which keeps the emitted YAML byte-for-byte the blueprint's.
 */
export function bindScaledObject(so: ScaledObjectManifest, s: Settings): ScaledObjectManifest {
  const bound = structuredClone(so);
  for (const t of bound.spec.triggers) {
    if (t.type !== "azure-queue") continue;
    t.metadata.accountName = s.storageAccount();
    t.metadata.cloud = s.cloud.name;
  }
  return bound;
}

/** Emits the bound data as is; the KEDA model only checks it. */
export class ScaledObjectResource implements KubeObject {
  readonly apiVersion = "keda.sh/v1alpha1";
  readonly kind = "ScaledObject";
  constructor(readonly data: ScaledObjectManifest) {}

  get metadata(): ScaledObjectManifest["metadata"] {
    return this.data.metadata;
  }

  validate(): void {
    const { metadata, spec } = this.data;
    new ScaledObject({ metadata, spec }).validate();
  }

  toJSON(): unknown {
    return this.data;
  }
}

/** One TriggerAuthentication per name the triggers refer to: KEDA's operator reads the queue as the workload identity. */
export function triggerAuthenticationsFor(ctx: BuildContext, so: ScaledObjectManifest): TriggerAuthentication[] {
  const names = [
    ...new Set(
      so.spec.triggers.flatMap((t) => (t.authenticationRef && (t.authenticationRef.kind ?? "TriggerAuthentication") === "TriggerAuthentication" ? [t.authenticationRef.name] : [])),
    ),
  ];
  return names.map(
    (name) =>
      new TriggerAuthentication({
        metadata: { name, namespace: so.metadata.namespace ?? ctx.bp.namespace, labels: labelsFor(ctx) },
        spec: { podIdentity: { provider: "azure-workload", identityId: ctx.s.workloadClientId() } },
      }),
  );
}

import { NodePool, type INodePoolSpec } from "@kubernetes-models/karpenter/karpenter.sh/v1";
import type { NodePoolManifest } from "../blueprints/types.js";
import { labelsFor, type BuildContext } from "./context.js";
import { compileSpecSchema, CustomResource, s } from "./custom-resource.js";
import type { KubeObject } from "./object.js";

/** The blueprint's Karpenter NodePool, emitted as written and checked against the karpenter.sh/v1 model. */
export class NodePoolResource implements KubeObject {
  readonly apiVersion = "karpenter.sh/v1";
  readonly kind = "NodePool";
  constructor(readonly data: NodePoolManifest) {}

  get metadata(): NodePoolManifest["metadata"] {
    return this.data.metadata;
  }

  validate(): void {
    const { metadata, spec } = this.data;
    // The blueprint types budget reasons as plain strings; the model's schema checks the allowed values at runtime.
    new NodePool({ metadata, spec: spec as INodePoolSpec }).validate();
  }

  toJSON(): unknown {
    return this.data;
  }
}

const aksNodeClassSpec = compileSpecSchema(
  s.obj(
    {
      imageFamily: { enum: ["Ubuntu", "Ubuntu2204", "AzureLinux"] },
      osDiskSizeGB: { type: "integer", minimum: 30 },
    },
    [],
  ),
);

/**
 * The AKS node class the NodePool refers to (node auto-provisioning's CRD, which kubernetes-models does
 * not model). AKS's own defaults, stated so the node image and disk are part of the blueprint.
 */
export function aksNodeClassFor(ctx: BuildContext, pool: NodePoolManifest): CustomResource | undefined {
  const ref = pool.spec.template.spec.nodeClassRef;
  if (ref.kind !== "AKSNodeClass") return undefined;
  return new CustomResource(
    {
      apiVersion: "karpenter.azure.com/v1beta1",
      kind: "AKSNodeClass",
      metadata: { name: ref.name, labels: labelsFor(ctx) },
      spec: { imageFamily: "Ubuntu", osDiskSizeGB: 128 },
    },
    aksNodeClassSpec,
  );
}

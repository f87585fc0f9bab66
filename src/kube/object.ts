/** What every emitted object offers: typed models from kubernetes-models, or the few CRDs they lack. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  /** Throws when the object breaks its schema. */
  validate(): void;
  toJSON(): unknown;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export function refOf(obj: KubeObject): ObjectRef {
  const ref: ObjectRef = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata?.name ?? "" };
  if (obj.metadata?.namespace) ref.namespace = obj.metadata.namespace;
  return ref;
}

/** `Deployment aqs-demo/aqs-app`: how objects are named in messages. */
export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
}

/** API group of an apiVersion (`""` for the core group). */
export function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.split("/")[0]! : "";
}

/**
 * Apply order: what others refer to comes first (namespace, identities, storage, secrets), then
 * workloads and their front doors, then objects whose controllers come from add-ons (KEDA, Karpenter),
 * each after the object it points to.
 */
const KIND_ORDER = [
  "Namespace",
  "ServiceAccount",
  "Role",
  "RoleBinding",
  "SecretStore",
  "ExternalSecret",
  "PersistentVolume",
  "PersistentVolumeClaim",
  "Deployment",
  "Job",
  "Service",
  "PodDisruptionBudget",
  "Ingress",
  "TriggerAuthentication",
  "ScaledObject",
  "HTTPScaledObject",
  "AKSNodeClass",
  "NodePool",
];

export function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i === -1 ? KIND_ORDER.length : i;
}

/** Stable sort into apply order; objects of one kind keep the order they were built in. */
export function inApplyOrder<T extends { kind: string }>(objects: readonly T[]): T[] {
  return objects
    .map((o, i) => ({ o, i }))
    .sort((a, b) => kindRank(a.o.kind) - kindRank(b.o.kind) || a.i - b.i)
    .map((x) => x.o);
}

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "akspilot" } as const;

/** Labels on every object akspilot builds itself (blueprint data such as the ScaledObject stays as written). */
export function commonLabels(blueprint: string): Record<string, string> {
  return { "app.kubernetes.io/part-of": blueprint, ...MANAGED_BY };
}

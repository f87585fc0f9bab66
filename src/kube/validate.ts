import { UserError } from "../errors.js";
import { describeRef, refOf, type KubeObject } from "./object.js";

interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

/**
 * Validates every object before anything is written or applied: the schema check of its model plus the
 * rules the published schemas leave out (non-negative counts, DNS names, requests within limits).
 * The error names the object and the field.
 */
export function validateObjects(objects: readonly KubeObject[]): void {
  for (const obj of objects) validateObject(obj);
}

export function validateObject(obj: KubeObject): void {
  const what = describeRef(refOf(obj));
  try {
    obj.validate();
  } catch (e) {
    const errors = (e as { errors?: SchemaError[] }).errors;
    if (!errors?.length) throw new UserError(`${what} is invalid: ${(e as Error).message}`, "fix the blueprint or the values file");
    throw new UserError(`${what}: ${describeSchemaError(errors)}`, "fix the blueprint or the values file");
  }
  const problem = extraRules(obj.toJSON() as Record<string, unknown>);
  if (problem) throw new UserError(`${what}: ${problem}`, "fix the blueprint or the values file");
}

/** `/spec/template/spec/containers/0/resources` → `spec.template.spec.containers[0].resources`. */
export function fieldPath(instancePath: string): string {
  return instancePath
    .split("/")
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
}

function describeSchemaError(errors: SchemaError[]): string {
  // A quantity field is "number or quantity string": report the quantity format, not every oneOf branch.
  const best =
    errors.find((e) => e.keyword === "format") ??
    errors.find((e) => e.keyword === "additionalProperties") ??
    errors.find((e) => e.keyword !== "oneOf" && e.keyword !== "anyOf") ??
    errors[0]!;
  const at = fieldPath(best.instancePath) || "(object)";
  if (best.keyword === "format") return `${at} must be a ${String(best.params?.format)} (e.g. 250m, 64Mi)`;
  if (best.keyword === "required") return `${at || "object"} is missing required field ${String(best.params?.missingProperty)}`;
  if (best.keyword === "additionalProperties") return `unknown field ${at ? `${at}.` : ""}${String(best.params?.additionalProperty)}`;
  return `${at} ${best.message ?? "is invalid"}`;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type Obj = Record<string, unknown>;

function extraRules(o: Obj): string | undefined {
  const meta = (o.metadata ?? {}) as Obj;
  const name = String(meta.name ?? "");
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253) return `metadata.name "${name}" must be a lowercase DNS name`;
  const spec = (o.spec ?? {}) as Obj;
  for (const field of ["replicas", "minReplicaCount", "maxReplicaCount"]) {
    const v = spec[field];
    if (typeof v === "number" && v < 0) return `spec.${field} must be >= 0 (got ${v})`;
  }
  if (typeof spec.minReplicaCount === "number" && typeof spec.maxReplicaCount === "number" && spec.minReplicaCount > spec.maxReplicaCount) {
    return `spec.minReplicaCount (${spec.minReplicaCount}) must not exceed spec.maxReplicaCount (${spec.maxReplicaCount})`;
  }
  const pod = podSpecOf(o);
  return pod ? podRules(pod.spec, pod.at) : undefined;
}

export function podSpecOf(o: Obj): { spec: Obj; at: string } | undefined {
  const kind = o.kind;
  if (kind !== "Deployment" && kind !== "Job") return undefined;
  const tpl = ((o.spec as Obj | undefined)?.template as Obj | undefined)?.spec as Obj | undefined;
  return tpl ? { spec: tpl, at: "spec.template.spec" } : undefined;
}

function podRules(pod: Obj, at: string): string | undefined {
  const grace = pod.terminationGracePeriodSeconds;
  if (typeof grace === "number" && grace < 0) return `${at}.terminationGracePeriodSeconds must be >= 0 (got ${grace})`;
  const containers = (pod.containers ?? []) as Obj[];
  for (const [i, c] of containers.entries()) {
    const cAt = `${at}.containers[${i}]`;
    for (const [j, p] of ((c.ports ?? []) as Obj[]).entries()) {
      const port = p.containerPort as number;
      if (!(port >= 1 && port <= 65535)) return `${cAt}.ports[${j}].containerPort must be 1-65535 (got ${port})`;
    }
    const res = (c.resources ?? {}) as { requests?: Record<string, string>; limits?: Record<string, string> };
    for (const r of ["cpu", "memory"]) {
      const req = res.requests?.[r];
      const lim = res.limits?.[r];
      if (req !== undefined && lim !== undefined && quantityValue(req) > quantityValue(lim)) {
        return `${cAt}.resources.requests.${r} (${req}) must not exceed limits.${r} (${lim})`;
      }
    }
  }
  return undefined;
}

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Numeric value of a Kubernetes quantity (already schema-checked), for comparisons only. */
export function quantityValue(q: string): number {
  const m = /^([+-]?[\d.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return Number(q);
  const mult = SUFFIX[m[2]!];
  return mult === undefined ? Number(q) : Number(m[1]) * mult;
}

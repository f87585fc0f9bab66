import type { Ref, SecretRef, ResourceNode, Value } from "./types.js";

export function ref(id: string, output = "name"): Ref {
  return { ref: id, output };
}

export function secretFrom(id: string, key: string): SecretRef {
  return { secretFrom: id, key };
}

export function isRef(v: unknown): v is Ref {
  return typeof v === "object" && v !== null && typeof (v as Ref).ref === "string" && typeof (v as Ref).output === "string";
}

export function isSecretRef(v: unknown): v is SecretRef {
  return typeof v === "object" && v !== null && typeof (v as SecretRef).secretFrom === "string";
}

/** Ids of every node this node waits for: its references (values and secrets) and explicit dependsOn. */
export function dependenciesOf(node: ResourceNode): string[] {
  const out = new Set<string>(node.dependsOn ?? []);
  const walk = (v: unknown): void => {
    if (isRef(v)) out.add(v.ref);
    else if (isSecretRef(v)) out.add(v.secretFrom);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === "object" && v !== null) Object.values(v).forEach(walk);
  };
  walk(node);
  out.delete(node.id);
  return [...out];
}

/** Placeholder shown by `plan` for an output that exists only after deploy. */
export const UNKNOWN = "(known after deploy)";

export type Outputs = Record<string, string>;

/**
 * Replaces every Ref with its value. `lookup` returns undefined for outputs not yet known; those become
 * UNKNOWN (plan) and `unknown` lists them. Secret references are left in place: only a provider reads them.
 */
export function resolveRefs<T>(value: T, lookup: (r: Ref) => string | undefined, unknown: string[] = []): T {
  const walk = (v: unknown): unknown => {
    if (isRef(v)) {
      const got = lookup(v);
      if (got === undefined) {
        unknown.push(`${v.ref}.${v.output}`);
        return UNKNOWN;
      }
      return got;
    }
    if (isSecretRef(v)) return v;
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === "object" && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** Type of a node after resolution: every Value is a string. */
export type Resolved<N> = N extends Ref
  ? string
  : N extends SecretRef
    ? SecretRef
    : N extends Array<infer E>
      ? Array<Resolved<E>>
      : N extends object
        ? { [K in keyof N]: Resolved<N[K]> }
        : N;

export function valueText(v: Value): string {
  return typeof v === "string" ? v : `${v.ref}.${v.output}`;
}

import { Ajv, type ValidateFunction } from "ajv";
import type { KubeObject } from "./object.js";

const ajv = new Ajv({ allErrors: true, strict: false });

/** Plain data, for why: kubernetes-models has no model for these CRDs (AKSNodeClass, External Secrets). */
type Json = Record<string, unknown>;

/**
 * A custom resource kubernetes-models does not model, checked against a schema of the fields akspilot
 * emits (additionalProperties:false, so a misspelt field fails here rather than in the cluster).
 */
export class CustomResource implements KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly spec: Json;

  constructor(
    data: { apiVersion: string; kind: string; metadata: CustomResource["metadata"]; spec: Json },
    private readonly check: ValidateFunction,
  ) {
    this.apiVersion = data.apiVersion;
    this.kind = data.kind;
    this.metadata = data.metadata;
    this.spec = data.spec;
  }

  validate(): void {
    if (!this.check(this.spec)) {
      const errors = (this.check.errors ?? []).map((e) => ({ ...e, instancePath: `/spec${e.instancePath}` }));
      throw Object.assign(new Error("schema validation failed"), { errors });
    }
  }

  toJSON(): unknown {
    return { apiVersion: this.apiVersion, kind: this.kind, metadata: this.metadata, spec: this.spec };
  }
}

export function compileSpecSchema(schema: object): ValidateFunction {
  return ajv.compile(schema);
}

/** Shorthands for the small spec schemas. */
export const s = {
  str: { type: "string", minLength: 1 },
  obj: (properties: Record<string, object>, required: string[] = Object.keys(properties)) => ({
    type: "object",
    additionalProperties: false,
    properties,
    required,
  }),
  arr: (items: object) => ({ type: "array", items }),
};

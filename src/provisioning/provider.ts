import type { ProvisionLog } from "./log.js";
import type { Outputs, Resolved } from "./refs.js";
import type { ResourceRecord, Target } from "./state.js";
import type { ResourceGraph, ResourceNode, SecretRef } from "./types.js";

export type ResolvedNode = Resolved<ResourceNode>;

/** What exists now, in the comparable shape of `desired()`, plus the outputs later steps reference. */
export interface Observed {
  props: Record<string, unknown>;
  outputs: Outputs;
}

export interface StepContext {
  graph: ResourceGraph;
  log: ProvisionLog;
  /** The record of another node (its outputs and resolved properties), when that node has run. */
  record(id: string): ResourceRecord | undefined;
  /** Reads a secret another node produces (a storage key). The value is registered for redaction first. */
  secret(ref: SecretRef): Promise<string>;
}

export type RemoveOutcome = { result: "deleted" | "absent" } | { result: "kept"; reason: string };

/**
 * The seam between the engine and a place resources live (Azure, or this machine). Each method handles one
 * node; the engine owns ordering, state, idempotency decisions and resume.
 */
export interface Provider {
  readonly target: Target;
  /** Checks that can fail before anything changes: credentials, subscription, registrations, local services. */
  preflight(graph: ResourceGraph, log: ProvisionLog, mode: "plan" | "deploy" | "destroy"): Promise<void>;
  /** Current state of the node's resource; undefined when it does not exist. */
  read(node: ResolvedNode, ctx: StepContext, previous: ResourceRecord | undefined): Promise<Observed | undefined>;
  /** The managed properties in the shape `read()` returns them. */
  desired(node: ResolvedNode, ctx: StepContext): Promise<Record<string, unknown>>;
  /** Create-or-update; returns the outputs. */
  apply(node: ResolvedNode, ctx: StepContext): Promise<Outputs>;
  /** Deletes what a record describes. */
  remove(id: string, record: ResourceRecord, ctx: StepContext): Promise<RemoveOutcome>;
  /** Reads a named secret output of a node (e.g. `primaryKey` of a storage account). */
  readSecret(sourceId: string, key: string, ctx: StepContext): Promise<string>;
  /** Releases clients and child processes. */
  close(): Promise<void>;
}

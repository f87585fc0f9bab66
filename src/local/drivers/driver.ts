import type { AppSpec } from "../../blueprints/types.js";
import type { AppOverrides, LocalRuntime, LocalRuntimeOptions } from "../runtime.js";
import type { ControlAutoscaler, ControlRoute, MessageLoad, StatusV1 } from "../status.js";

/**
 * What a blueprint needs beyond Kubernetes when it runs locally — storage, a producer, a report — behind
 * one small interface. The runtime interprets the blueprint's clusters and apps; the driver does the rest.
 */
export interface BlueprintDriver<Report = unknown> {
  /** Before any pod starts (e.g. storage). Bad input fails here, with nothing left running. */
  prepare(): Promise<void>;
  /** What the driver adds to an app, or "driver" for an app it runs itself. */
  app(app: AppSpec): AppOverrides | "driver";
  buffer?: LocalRuntimeOptions["buffer"];
  /** The autoscaler the control API pauses and resumes, once the runtime has started. */
  readonly autoscaler?: ControlAutoscaler;
  readonly policy?: string;
  /** Fields the status adds for this blueprint (queue depth, consistency), and the runtime file's storage. */
  status?(): Promise<Record<string, unknown>>;
  runtimeFile?(): Record<string, unknown>;
  /** A burst of `messages` through the blueprint's own producer path, sent in the background (`POST /v1/load`). */
  load?(messages: number): MessageLoad;
  /** After the runtime has started, before the control API serves (e.g. a gateway in front of several clusters). */
  started?(rt: LocalRuntime): Promise<void>;
  /** Control API routes of this blueprint (e.g. blue-green's upgrade), tried before the 404. */
  route?: ControlRoute;
  /** Adds this blueprint's fields to the status (within v1). */
  decorateStatus?(s: StatusV1): void;
  /** Runs until done (a scripted run) or aborted; the runtime is up. */
  run(rt: LocalRuntime, ctx: { signal: AbortSignal; status(line: string): void }): Promise<void>;
  /** After every pod has stopped: the run's report, counted from what is left. */
  report(rt: LocalRuntime): Promise<Report>;
  /** Stops what `prepare` started. Idempotent; called on every exit path. */
  stop(): Promise<void>;
}

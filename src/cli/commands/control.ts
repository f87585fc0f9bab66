import type { Command } from "commander";

/** `status`, `events`, `scale`, `node`: talk to a running `akspilot up` through its control API. */
export function registerControlCommands(_program: Command): void {}

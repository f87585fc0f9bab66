import type { Command } from "commander";

/** `simulate`: the scaling policies over simulated time, no processes or storage. */
export function registerSimulateCommand(_program: Command): void {}

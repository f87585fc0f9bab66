import type { Command } from "commander";

/** `up`, `produce`, `consume`, `poison`: running blueprints locally. */
export function registerRunCommands(_program: Command): void {}

import { Command, CommanderError } from "commander";
import { UserError, errorMessage } from "../errors.js";
import { commanderErrorLine } from "./options.js";
import { clip } from "../util/text.js";
import { AKSPILOT_VERSION } from "../version.js";
import { registerRunCommands } from "./commands/run.js";
import { registerKubeCommands } from "./commands/kube.js";
import { registerProvisionCommands } from "./commands/provision.js";
import { registerSimulateCommand } from "./commands/simulate.js";
import { registerControlCommands } from "./commands/control.js";
import { registerDrillCommands } from "./commands/drill.js";
import { registerUpgradeCommands } from "./commands/upgrade.js";
import { registerIdentityCommands } from "./commands/identity.js";

export function buildProgram(): Command {
  const program = new Command("akspilot")
    .description("Run AKS's elastic, self-healing blueprints on one machine; deploy the same blueprints to AKS.")
    .version(AKSPILOT_VERSION)
    .showHelpAfterError(false)
    .exitOverride();
  registerRunCommands(program);
  registerKubeCommands(program);
  registerProvisionCommands(program);
  registerSimulateCommand(program);
  registerControlCommands(program);
  registerDrillCommands(program);
  registerUpgradeCommands(program);
  registerIdentityCommands(program);
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const cmd of all(program)) {
    cmd.exitOverride();
    // Commander's own errors get the same single `akspilot: ` line as every other error.
    cmd.configureOutput({ outputError: (str, write) => write(`${commanderErrorLine(str)}\n`) });
  }
  return program;
}

/** Entry point of the `akspilot` binary. User errors become one line on stderr and a non-zero exit. */
export async function main(argv: string[]): Promise<void> {
  // Output piped into `head` and the like: a closed pipe ends the output, not the command.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
    });
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = exitCodeFor(e);
  }
}

function exitCodeFor(e: unknown): number {
  if (e instanceof CommanderError) {
    // Commander has already printed its one-line message (or the help/version text).
    return e.exitCode === 0 ? 0 : 2;
  }
  if (e instanceof UserError) {
    // Backstop for echoed input a message quotes without clipping it first.
    const line = e
      .line()
      .replace(/"([^"\n]{81,})"/g, (_, s: string) => `"${clip(s)}"`)
      .replace(/\n/g, " ");
    process.stderr.write(`akspilot: ${line}\n`);
    return e.exitCode;
  }
  process.stderr.write(`akspilot: unexpected error: ${errorMessage(e)}\n`);
  if (process.env.AKSPILOT_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? ""}\n`);
  return 1;
}

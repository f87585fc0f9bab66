// Consumer process entry (pods and containers run this file directly; it loads no CLI framework).
import { parseArgs } from "node:util";
import { UserError, errorMessage } from "../../errors.js";
import { appStorageEndpoint } from "../storage.js";
import { CONSUMER_FLAGS, consumerSettings, type ConsumerFlag } from "./settings.js";
import { runConsumerProcess } from "./run.js";

async function main(): Promise<void> {
  let flags: Partial<Record<ConsumerFlag, string>>;
  try {
    const options = Object.fromEntries(CONSUMER_FLAGS.map((f) => [f, { type: "string" as const }]));
    flags = parseArgs({ options, strict: true, allowPositionals: false }).values as Partial<Record<ConsumerFlag, string>>;
  } catch (e) {
    throw new UserError(errorMessage(e), `known flags: ${CONSUMER_FLAGS.map((f) => `--${f}`).join(" ")}`);
  }
  await runConsumerProcess(appStorageEndpoint(), consumerSettings(flags));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`akspilot consume: ${e instanceof UserError ? e.line() : `unexpected error: ${errorMessage(e)}`}\n`);
    process.exit(e instanceof UserError ? e.exitCode : 1);
  },
);

// Producer process entry (containers run this file directly).
import { parseArgs } from "node:util";
import { UserError, errorMessage } from "../../errors.js";
import { appStorageEndpoint } from "../storage.js";
import { PRODUCER_FLAGS, producerSettings, type ProducerFlag } from "./settings.js";
import { runProducerProcess } from "./run.js";

async function main(): Promise<void> {
  let flags: Partial<Record<ProducerFlag, string>>;
  try {
    const options = Object.fromEntries(PRODUCER_FLAGS.map((f) => [f, { type: "string" as const }]));
    flags = parseArgs({ options, strict: true, allowPositionals: false }).values as Partial<Record<ProducerFlag, string>>;
  } catch (e) {
    throw new UserError(errorMessage(e), `known flags: ${PRODUCER_FLAGS.map((f) => `--${f}`).join(" ")}`);
  }
  const report = await runProducerProcess(appStorageEndpoint(), producerSettings(flags));
  process.stdout.write(JSON.stringify(report) + "\n");
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`akspilot produce: ${e instanceof UserError ? e.line() : `unexpected error: ${errorMessage(e)}`}\n`);
    process.exit(e instanceof UserError ? e.exitCode : 1);
  },
);

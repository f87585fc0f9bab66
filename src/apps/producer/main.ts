// Producer process entry (containers run this file directly).
import { parseArgs } from "node:util";
import { UserError, errorMessage } from "../../errors.js";
import { appStorageEndpoint } from "../storage.js";
import { PRODUCER_FLAGS, producerSettings, type ProducerFlag } from "./settings.js";
import { runProducerProcess, type ProducerToParent } from "./run.js";

async function main(): Promise<void> {
  let flags: Partial<Record<ProducerFlag, string>>;
  try {
    const options = Object.fromEntries(PRODUCER_FLAGS.map((f) => [f, { type: "string" as const }]));
    flags = parseArgs({ options, strict: true, allowPositionals: false }).values as Partial<Record<ProducerFlag, string>>;
  } catch (e) {
    throw new UserError(errorMessage(e), `known flags: ${PRODUCER_FLAGS.map((f) => `--${f}`).join(" ")}`);
  }
  // As a pod of the local runtime (an IPC channel), the indexes sent go to it in small batches, as the
  // consumer's counters do: its run report counts every message sent. Elsewhere nothing is sent.
  const pending: number[] = [];
  const flush = () =>
    new Promise<void>((resolve) => {
      if (pending.length === 0 || !process.connected || !process.send) return resolve();
      process.send({ type: "sent", indexes: pending.splice(0) } satisfies ProducerToParent, undefined, {}, () => resolve());
    });
  const ticker = process.send ? setInterval(() => void flush(), 100) : undefined;
  try {
    const report = await runProducerProcess(appStorageEndpoint(), producerSettings(flags), undefined, process.send ? (i) => pending.push(i) : undefined);
    process.stdout.write(JSON.stringify(report) + "\n");
  } finally {
    if (ticker) clearInterval(ticker);
    // Before the exit: the last batch must reach the runtime.
    await flush();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`akspilot produce: ${e instanceof UserError ? e.line() : `unexpected error: ${errorMessage(e)}`}\n`);
    process.exit(e instanceof UserError ? e.exitCode : 1);
  },
);

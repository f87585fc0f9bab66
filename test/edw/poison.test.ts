import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import { buildMessage } from "../../src/apps/message.js";
import { parsePoisonRecord, type PoisonRecord } from "../../src/apps/consumer/poison.js";
import {
  countByIndex,
  newMarker,
  queueDepth,
  receiveAll,
  resetStorage,
  runCli,
  startConsumer,
  storageFor,
  tableRows,
  tempDir,
  waitFor,
  waitNoneMarked,
  type Storage,
} from "./helpers.js";

let azurite: AzuriteHandle;
let s: Storage;
before(async () => {
  azurite = await startAzurite();
  s = await storageFor(azurite.connectionString);
});
after(async () => {
  await azurite?.stop();
});

/** Poison records, read without consuming them (visible again right after). */
async function peekPoison(): Promise<PoisonRecord[]> {
  const items = await receiveAll(s.poison, 1);
  await new Promise((r) => setTimeout(r, 1100));
  return items.map((i) => parsePoisonRecord(i.text)!);
}

const MALFORMED: { body: string; detail: RegExp }[] = [
  { body: "this is not JSON", detail: /not JSON/ },
  { body: '{"msg": "Scale Test Message : COUNT 900"}', detail: /"srcStamp" is missing/ },
  { body: '{"msg": "Scale Test Message : COUNT 901", "srcStamp": "2024-02-30 10:00:00.000000"}', detail: /"srcStamp" is not/ },
  { body: '{"msg": "Scale Test Message : COUNT 902", "srcStamp": "2024-01-01 10:00:00.123"}', detail: /"srcStamp" is not/ },
  { body: '["Scale Test Message : COUNT 903"]', detail: /not a JSON object/ },
];

describe("poison queue", () => {
  it("malformed bodies and repeatedly failing messages reach aws2azmsgs-poison with reasons; list and replay through the CLI", async (t) => {
    await resetStorage(s);
    const good = [1, 2, 3, 4, 5, 6];
    for (const i of good) await s.queue.sendMessage(buildMessage(i));
    for (const m of MALFORMED) await s.queue.sendMessage(m.body);
    // COUNT 4 always fails in processing; with --max-dequeue 2 its third delivery poisons it.
    const c = await startConsumer(t, azurite.connectionString, ["--max-dequeue", "2", "--fail-match", '"Scale Test Message : COUNT 4"', "--idle-max-ms", "300"]);
    await waitFor("six poisoned messages", async () => ((await c.stats()).poisoned === MALFORMED.length + 1 ? true : undefined), 60_000, 200);
    c.child.kill("SIGTERM");
    assert.equal((await c.exited).code, 0);

    // The good ones are stored, the failing one and the malformed ones are not.
    const counts = countByIndex(await tableRows(s));
    assert.deepEqual(
      [...counts.keys()].sort((a, b) => a - b),
      [1, 2, 3, 5, 6],
    );
    assert.equal(await queueDepth(s.queue), 0, "poisoned messages must leave the main queue");

    const records = await peekPoison();
    assert.equal(records.length, MALFORMED.length + 1);
    for (const m of MALFORMED) {
      const r = records.find((x) => x.body === m.body);
      assert.ok(r, `not in the poison queue: ${m.body}`);
      assert.equal(r.reason, "Unparseable");
      assert.match(r.detail, m.detail);
      assert.equal(r.queue, "aws2azmsgs");
      assert.equal(r.dequeueCount, 1);
    }
    const failing = records.find((x) => x.body.includes('COUNT 4"'));
    assert.ok(failing);
    assert.equal(failing.reason, "MaxDequeueExceeded");
    assert.equal(failing.dequeueCount, 3, "poisoned on the delivery after max-dequeue");
    assert.match(failing.detail, /max-dequeue 2/);

    // The CLI, as a user runs it against this storage.
    const cwd = tempDir(t);
    const marker = newMarker();
    const env = { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString };
    const list = await runCli(t, ["poison", "list", "--json"], { cwd, env, marker });
    assert.equal(list.code, 0, list.stderr);
    const listed = list.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as PoisonRecord & { poisonId: string });
    assert.equal(listed.length, records.length);
    assert.deepEqual(listed.map((r) => r.body).sort(), records.map((r) => r.body).sort());
    assert.deepEqual(
      listed.filter((r) => r.reason === "MaxDequeueExceeded").map((r) => r.body),
      [failing.body],
    );
    // Listing does not consume: the poison queue still holds them all.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await receiveAll(s.poison, 1)).length, records.length);
    await new Promise((r) => setTimeout(r, 1100));

    const human = await runCli(t, ["poison", "list"], { cwd, env, marker });
    assert.equal(human.code, 0);
    assert.match(human.stdout, /MaxDequeueExceeded/);
    assert.match(human.stdout, /Unparseable/);

    const onlyFailing = await runCli(t, ["poison", "replay", "--reason", "MaxDequeueExceeded"], { cwd, env, marker });
    assert.equal(onlyFailing.code, 0, onlyFailing.stderr);
    assert.match(onlyFailing.stdout, /replayed 1 message/);
    const replay = await runCli(t, ["poison", "replay"], { cwd, env, marker });
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, /replayed 5 message/);

    // Back in the main queue, bodies unchanged; the poison queue is empty.
    const back = await receiveAll(s.queue, 30);
    assert.deepEqual(back.map((b) => b.text).sort(), records.map((r) => r.body).sort());
    assert.ok(
      back.every((b) => b.dequeueCount === 1),
      "replayed messages are new messages",
    );
    assert.equal(await queueDepth(s.poison), 0);

    const bad = await runCli(t, ["poison", "replay", "--reason", "Nope"], { cwd, env, marker });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Nope/);
    assert.deepEqual(await waitNoneMarked(marker), []);
  });
});

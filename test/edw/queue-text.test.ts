// Bodies a queue message cannot carry (characters XML 1.0 forbids): storage keeps them counted but never
// returns them, so nothing akspilot sends may contain one; and `status` can tell such messages apart.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import { buildMessage, formatStamp, nowMicros, parseMessage, pythonJson } from "../../src/apps/message.js";
import { firstNonXmlChar, queueText, UnsendableTextError } from "../../src/storage/message-text.js";
import { queueConsistency, UnreadableWatch } from "../../src/storage/consistency.js";
import { newMarker, queueDepth, receiveAll, resetStorage, runCli, stderrLines, storageFor, tempDir, type Storage } from "./helpers.js";

/** Every character XML 1.0 forbids that a JavaScript string can hold. */
const FORBIDDEN = [...Array.from({ length: 32 }, (_, c) => c).filter((c) => c !== 0x09 && c !== 0x0a && c !== 0x0d), 0xfffe, 0xffff].map((c) => String.fromCharCode(c));

describe("queue text", () => {
  it("seed messages are sent unchanged; JSON-escaping by pythonJson leaves no forbidden character and the same value", () => {
    const m = buildMessage(42);
    assert.equal(queueText(m), m);
    for (const c of [...FORBIDDEN, "\ud800", "\udc00"]) {
      const text = pythonJson({ msg: `a${c}b`, srcStamp: "x" });
      assert.equal(firstNonXmlChar(text), undefined, JSON.stringify(text));
      assert.equal((JSON.parse(text) as { msg: string }).msg, `a${c}b`);
      assert.equal(queueText(text), text);
    }
  });

  it("a JSON body with forbidden characters inside strings is escaped to the same value; anything else is refused", () => {
    const raw = `{"msg": "red \u001b[31m", "k": "\u0000\uffff"}`;
    const sent = queueText(raw);
    assert.equal(firstNonXmlChar(sent), undefined);
    assert.equal(sent, `{"msg": "red \\u001b[31m", "k": "\\u0000\\uffff"}`);
    assert.deepEqual(JSON.parse(sent), { msg: "red \u001b[31m", k: "\u0000\uffff" });
    for (const [text, offset, char] of [
      ["plain\u001btext", 5, "U+001B"],
      ['{"m": 1}\u0001', 8, "U+0001"],
      ['{"m": "a\\\u001b"}', 9, "U+001B"],
    ] as const) {
      assert.throws(
        () => queueText(text),
        (e: unknown) => e instanceof UnsendableTextError && e.offset === offset && e.char === char,
        JSON.stringify(text),
      );
    }
  });
});

describe("what storage does with such a body, and what akspilot does instead", () => {
  let azurite: AzuriteHandle;
  let s: Storage;
  before(async () => {
    azurite = await startAzurite();
    s = await storageFor(azurite.connectionString);
  });
  after(async () => {
    await azurite?.stop();
  });

  it("sent raw, it stays counted but cannot be read, and the watch flags it once the gap outlasts the visibility timeout", async () => {
    await resetStorage(s);
    await s.queue.sendMessage(buildMessage(1));
    await s.queue.sendMessage("a\u001bb");
    await s.queue.sendMessage(buildMessage(2));
    const c = await queueConsistency(s.queue);
    assert.equal(c.approximate, 3);
    const gap = UnreadableWatch.gap(c, 0);
    assert.ok(gap >= 1, `the queue shows what it counts: ${JSON.stringify(c)}`);
    let now = 0;
    const watch = new UnreadableWatch(30_000, () => now);
    assert.equal(watch.observe(c, 0), undefined, "flagged before the visibility timeout");
    now = 31_000;
    const flagged = watch.observe(c, 0);
    assert.ok(flagged);
    assert.equal(flagged.count, gap);
    assert.equal(flagged.sinceSeconds, 31);
    assert.match(flagged.line, /counted but not readable for 31 s, longer than the 30 s visibility timeout/);
    // Consumers holding messages explain the gap: nothing is flagged, and the clock starts again.
    assert.equal(watch.observe(c, 3), undefined);
    now = 62_000;
    assert.equal(watch.observe(c, 0), undefined);
  });

  it("sent as queueText makes it, it is read back and parses to the original string", async () => {
    await resetStorage(s);
    const raw = `{"msg": "Scale Test Message : COUNT 7", "srcStamp": "${formatStamp(nowMicros())}", "note": "\u001b[31mred"}`;
    await s.queue.sendMessage(queueText(raw));
    const c = await queueConsistency(s.queue);
    assert.deepEqual({ approximate: c.approximate, peeked: c.peeked, peekError: c.peekError }, { approximate: 1, peeked: 1, peekError: undefined });
    const [m] = await receiveAll(s.queue, 1);
    assert.ok(m);
    assert.equal((JSON.parse(m.text) as { note: string }).note, "\u001b[31mred");
    assert.equal(parseMessage(m.text).ok, true);
  });

  it("poison replay escapes a JSON body, keeps one it cannot send, and says so in one line", async (t) => {
    await resetStorage(s);
    const stamp = formatStamp(nowMicros());
    const jsonBody = `{"msg": "Scale Test Message : COUNT 8\u001b", "srcStamp": "${stamp}"}`;
    const record = (body: string) =>
      JSON.stringify({ reason: "Unparseable", detail: "test", queue: "aws2azmsgs", messageId: "m", dequeueCount: 1, insertedOn: "", poisonedAt: "", body });
    await s.poison.sendMessage(record(jsonBody));
    await s.poison.sendMessage(record("plain\u001btext"));
    const r = await runCli(t, ["poison", "replay"], { cwd: tempDir(t), marker: newMarker(), env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString } });
    assert.equal(r.code, 2, r.stderr);
    const lines = stderrLines(r);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /replayed 1 message\(s\); 1 kept in the poison queue: .*U\+001B at offset 5/);
    // The replayed one is readable, with the value it had; the other is still in the poison queue.
    const c = await queueConsistency(s.queue);
    assert.deepEqual({ approximate: c.approximate, peeked: c.peeked }, { approximate: 1, peeked: 1 });
    const [m] = await receiveAll(s.queue, 1);
    assert.equal((JSON.parse(m!.text) as { msg: string }).msg, "Scale Test Message : COUNT 8\u001b");
    assert.equal(await queueDepth(s.poison), 1);
  });
});

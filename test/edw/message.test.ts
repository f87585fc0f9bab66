import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildMessage, formatStamp, messageIndex, nowMicros, parseMessage, parseStamp, pythonJson } from "../../src/apps/message.js";
import { dueAt } from "../../src/apps/producer/producer.js";
import { producerSettings } from "../../src/apps/producer/settings.js";
import { consumerSettings } from "../../src/apps/consumer/settings.js";
import { entityKeys } from "../../src/apps/consumer/entity.js";
import { UserError } from "../../src/errors.js";

describe("seed message stamps", () => {
  it("formats microseconds the way strftime('%Y-%m-%d %H:%M:%S.%f') does", () => {
    const base = Date.UTC(2024, 1, 29, 23, 59, 59) * 1000;
    assert.equal(formatStamp(base + 999_999), "2024-02-29 23:59:59.999999");
    assert.equal(formatStamp(base + 7), "2024-02-29 23:59:59.000007");
    assert.equal(formatStamp(base), "2024-02-29 23:59:59.000000");
    assert.equal(formatStamp(Date.UTC(2026, 0, 1, 0, 0, 0) * 1000 + 123_456), "2026-01-01 00:00:00.123456");
  });

  it("round-trips through parseStamp to the microsecond", () => {
    for (const us of [0, 1, 999, 1000, 123_456, 999_999]) {
      const micros = Date.UTC(2025, 6, 4, 12, 34, 56) * 1000 + us;
      assert.equal(parseStamp(formatStamp(micros)), micros);
    }
    const now = nowMicros();
    assert.equal(parseStamp(formatStamp(now)), now);
    assert.match(formatStamp(now), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
  });

  it("rejects stamps that are not exactly YYYY-MM-DD HH:MM:SS.ffffff or not a real date", () => {
    for (const bad of [
      "2024-02-29 23:59:59.999", // milliseconds only
      "2024-02-29T23:59:59.999999", // ISO 'T'
      "2023-02-29 10:00:00.000000", // no 29 February in 2023
      "2024-13-01 10:00:00.000000", // month 13 (Date.UTC would roll over to January)
      "2024-00-10 10:00:00.000000",
      "2024-01-01 10:61:00.000000", // minute 61
      "2024-01-01 10:00:60.000000", // second 60: datetime.strptime rejects it too
      "2024-01-01 24:00:00.000000",
      " 2024-02-29 23:59:59.999999",
      "",
    ])
      assert.equal(parseStamp(bad), undefined, bad);
  });
});

describe("pythonJson", () => {
  it("uses Python's separators and key order", () => {
    assert.equal(
      pythonJson({ msg: "Scale Test Message : COUNT 1", srcStamp: "2026-11-21 22:43:07.174936" }),
      '{"msg": "Scale Test Message : COUNT 1", "srcStamp": "2026-11-21 22:43:07.174936"}',
    );
  });

  it("escapes non-ASCII as \\uXXXX like ensure_ascii (surrogate pairs as two escapes)", () => {
    assert.equal(pythonJson({ a: "é" }), '{"a": "\\u00e9"}');
    assert.equal(pythonJson({ a: "日本" }), '{"a": "\\u65e5\\u672c"}');
    assert.equal(pythonJson({ a: "😀" }), '{"a": "\\ud83d\\ude00"}');
    assert.equal(pythonJson({ a: "\u007f" }), '{"a": "\\u007f"}');
    assert.equal(pythonJson({ a: 'q"b\\s/\n\t\u0001' }), '{"a": "q\\"b\\\\s/\\n\\t\\u0001"}');
    // What it escapes still parses back to the same text.
    const text = "Zürich → 東京 😀";
    assert.deepEqual(JSON.parse(pythonJson({ msg: text })), { msg: text });
  });

  it("buildMessage makes the seed's body", () => {
    const micros = Date.UTC(2026, 10, 21, 22, 43, 7) * 1000 + 174_936;
    assert.equal(buildMessage(1, micros), '{"msg": "Scale Test Message : COUNT 1", "srcStamp": "2026-11-21 22:43:07.174936"}');
  });
});

describe("parseMessage", () => {
  it("accepts the seed's body and reads the source time", () => {
    const body = '{"msg": "Scale Test Message : COUNT 42", "srcStamp": "2026-11-21 22:43:07.174936"}';
    const r = parseMessage(body);
    assert.ok(r.ok);
    assert.equal(r.message.msg, "Scale Test Message : COUNT 42");
    assert.equal(r.srcMicros, Date.UTC(2026, 10, 21, 22, 43, 7) * 1000 + 174_936);
    assert.equal(messageIndex(r.message.msg), 42);
  });

  it("names what is wrong with a malformed body", () => {
    const reason = (text: string) => {
      const r = parseMessage(text);
      assert.equal(r.ok, false, text);
      return (r as { reason: string }).reason;
    };
    assert.match(reason("hello"), /not JSON/);
    assert.match(reason("[1,2]"), /not a JSON object/);
    assert.match(reason("null"), /not a JSON object/);
    assert.match(reason('{"srcStamp": "2026-11-21 22:43:07.174936"}'), /"msg"/);
    assert.match(reason('{"msg": "x"}'), /"srcStamp" is missing/);
    assert.match(reason('{"msg": "x", "srcStamp": 5}'), /"srcStamp" is missing or not a string/);
    assert.match(reason('{"msg": "x", "srcStamp": "yesterday"}'), /"srcStamp" is not "YYYY-MM-DD HH:MM:SS.ffffff"/);
  });

  it("messageIndex reads only the seed's COUNT form", () => {
    assert.equal(messageIndex("Scale Test Message : COUNT 7"), 7);
    assert.equal(messageIndex("Scale Test Message : COUNT x"), undefined);
    assert.equal(messageIndex("COUNT 7"), undefined);
  });
});

describe("producer schedule (dueAt)", () => {
  it("steady rate: one due at t=0, then rate per second", () => {
    const o = { rate: 10, burst: 0, count: Infinity };
    assert.equal(dueAt(0, o), 1);
    assert.equal(dueAt(0.099, o), 1);
    assert.equal(dueAt(0.1, o), 2);
    assert.equal(dueAt(0.999, o), 10);
    assert.equal(dueAt(1, o), 11);
    assert.equal(dueAt(60, o), 601);
  });

  it("bursts at the start and every burstEverySeconds, added to the steady rate", () => {
    const o = { rate: 1, burst: 50, burstEverySeconds: 10, count: Infinity };
    assert.equal(dueAt(0, o), 1 + 50);
    assert.equal(dueAt(9.9, o), 10 + 50);
    assert.equal(dueAt(10, o), 11 + 100);
    assert.equal(dueAt(25, o), 26 + 150);
  });

  it("a single burst without a period, bursts only with rate 0, and the count caps everything", () => {
    assert.equal(dueAt(0, { rate: 0, burst: 100, count: 1000 }), 100);
    assert.equal(dueAt(500, { rate: 0, burst: 100, count: 1000 }), 100);
    assert.equal(dueAt(3600, { rate: 0, burst: 100, burstEverySeconds: 1, count: 1000 }), 1000);
    assert.equal(dueAt(1e6, { rate: 1000, burst: 0, count: 5 }), 5);
  });

  it("is non-decreasing in time", () => {
    const o = { rate: 3.7, burst: 11, burstEverySeconds: 2.5, count: 10_000 };
    let prev = 0;
    for (let t = 0; t < 30; t += 0.01) {
      const d = dueAt(t, o);
      assert.ok(d >= prev, `dueAt(${t}) = ${d} < ${prev}`);
      prev = d;
    }
  });
});

describe("settings validation", () => {
  it("producer: defaults are the seed's (1/s forever), bad values are UserErrors naming the flag", () => {
    const s = producerSettings({}, {});
    assert.equal(s.rate, 1);
    assert.equal(s.count, Infinity);
    assert.equal(s.startIndex, 1);
    assert.throws(
      () => producerSettings({ count: "five" }, {}),
      (e: unknown) => e instanceof UserError && /--count/.test(e.message),
    );
    assert.throws(() => producerSettings({ rate: "0" }, {}), UserError);
    assert.throws(() => producerSettings({ "burst-every": "5" }, {}), UserError);
    assert.equal(producerSettings({}, { AKSPILOT_COUNT: "12" }).count, 12);
  });

  it("consumer: flags win over AKSPILOT_* variables, which win over defaults", () => {
    const d = consumerSettings({}, {});
    assert.equal(d.batchSize, 32);
    assert.equal(d.maxDequeue, 5);
    assert.equal(d.visibilityTimeoutSeconds, 60);
    assert.equal(consumerSettings({}, { AKSPILOT_WORK_MS: "100000" }).visibilityTimeoutSeconds, 230);
    assert.equal(consumerSettings({ "max-dequeue": "3" }, { AKSPILOT_MAX_DEQUEUE: "9" }).maxDequeue, 3);
    assert.equal(consumerSettings({}, { AKSPILOT_MAX_DEQUEUE: "9" }).maxDequeue, 9);
    assert.throws(
      () => consumerSettings({ "batch-size": "33" }, {}),
      (e: unknown) => e instanceof UserError && /--batch-size/.test(e.message),
    );
    assert.throws(() => consumerSettings({ "work-ms": "-1" }, {}), UserError);
    assert.throws(() => consumerSettings({ "fail-match": "(" }, {}), UserError);
  });
});

describe("entity keys", () => {
  it("come from the message alone: every delivery of a message maps to one row", () => {
    const insertedOn = new Date(Date.UTC(2026, 10, 21, 22, 43, 7));
    const a = entityKeys({ messageId: "m-1", insertedOn });
    assert.deepEqual(a, entityKeys({ messageId: "m-1", insertedOn: new Date(insertedOn) }));
    assert.deepEqual(a, { partitionKey: "q2026112122", rowKey: "m-1" });
    assert.notDeepEqual(entityKeys({ messageId: "m-2", insertedOn }), a);
  });
});

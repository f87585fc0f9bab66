// The seed's wire format, both ways, checked by Python itself (standard library only, as the seed's
// producer and consumer use it: json and datetime).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import { pythonJson } from "../../src/apps/message.js";
import { queueText } from "../../src/storage/message-text.js";
import { newMarker, receiveAll, resetStorage, runCli, startConsumer, storageFor, tableRows, tempDir, waitFor, type Storage } from "./helpers.js";

const PYTHON = "/usr/bin/python3";
const skip = existsSync(PYTHON) ? false : `${PYTHON} is missing (the interop check runs the seed's format through real Python)`;

function python(script: string, input = ""): string {
  const r = spawnSync(PYTHON, ["-c", script], { input, encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** The seed producer's body, made by Python exactly as aqs-producer.py does. */
const SEED_PRODUCER = `
import json, sys, warnings
from datetime import datetime
warnings.simplefilter("ignore")
for i in range(1, int(sys.argv[1]) + 1 if len(sys.argv) > 1 else 4):
    msg = {"msg": "Scale Test Message : COUNT " + str(i), "srcStamp": datetime.utcnow().strftime('%Y-%m-%d %H:%M:%S.%f')}
    print(json.dumps(msg))
`;

/** The seed consumer's parsing: json.loads, then strptime of srcStamp; then our bytes must be json.dumps' bytes. */
const SEED_CONSUMER = `
import json, sys
from datetime import datetime
for line in sys.stdin.read().split("\\n")[:-1]:
    msg = json.loads(line)
    src = datetime.strptime(msg["srcStamp"], '%Y-%m-%d %H:%M:%S.%f')
    print(json.dumps({"ok": json.dumps(msg) == line, "msg": msg["msg"], "micro": src.microsecond, "stamp": src.strftime('%Y-%m-%d %H:%M:%S.%f')}))
`;

let azurite: AzuriteHandle;
let s: Storage;

describe("interop with the seed's Python message format", { skip }, () => {
  before(async () => {
    azurite = await startAzurite();
    s = await storageFor(azurite.connectionString);
  });
  after(async () => {
    await azurite?.stop();
  });

  it("a body made the Python way is consumed and stored by our consumer, fields verbatim", async (t) => {
    await resetStorage(s);
    const bodies = python(SEED_PRODUCER).trim().split("\n");
    assert.equal(bodies.length, 3);
    for (const b of bodies) await s.queue.sendMessage(b);
    const c = await startConsumer(t, azurite.connectionString, ["--idle-max-ms", "300"]);
    await waitFor("3 rows", async () => ((await c.stats()).processed === 3 ? true : undefined));
    const rows = await tableRows(s);
    assert.equal(rows.length, 3);
    for (const b of bodies) {
      const sent = JSON.parse(b) as { msg: string; srcStamp: string };
      const row = rows.find((r) => r.data === sent.msg);
      assert.ok(row, `no row for ${sent.msg}`);
      assert.equal(row.srcStamp, sent.srcStamp);
      assert.ok(row.latencyMs >= 0);
    }
    assert.equal((await c.stats()).poisoned, 0);
  });

  it("our producer's bodies, read back from the queue, parse as the seed's consumer parses them, byte for byte", async (t) => {
    await resetStorage(s);
    const cwd = tempDir(t);
    const r = await runCli(t, ["produce", "--count", "25", "--rate", "0", "--burst", "25", "--json"], {
      cwd,
      marker: newMarker(),
      env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout.trim()) as { sent: number }).sent, 25);
    const texts = (await receiveAll(s.queue)).map((m) => m.text);
    assert.equal(texts.length, 25);
    const verdicts = python(SEED_CONSUMER, texts.join("\n") + "\n")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { ok: boolean; msg: string; stamp: string });
    assert.equal(verdicts.length, 25);
    for (const [k, v] of verdicts.entries()) {
      assert.equal(v.ok, true, `not byte-identical to json.dumps: ${texts[k]}`);
      assert.equal(v.stamp, (JSON.parse(texts[k]!) as { srcStamp: string }).srcStamp);
    }
    assert.deepEqual(verdicts.map((v) => v.msg).sort(), Array.from({ length: 25 }, (_, i) => `Scale Test Message : COUNT ${i + 1}`).sort());
  });

  it("pythonJson matches json.dumps for awkward text (non-ASCII, astral, quotes, controls, DEL)", () => {
    const samples = [
      "Zürich",
      "東京",
      "😀 smile",
      'quote " and \\ backslash',
      "tab\tnew\nline\r\u0001\u001f",
      "\u007f",
      "/slash/",
      "\u2028\u2029",
      "\u001b[31m",
      "\u0000\u000b\ufffe\uffff",
      "",
    ];
    const objs = samples.map((v, i) => ({ msg: v, srcStamp: `k${i}` }));
    const out = python(
      `import json, sys\nfor line in sys.stdin.read().split("\\n")[:-1]:\n    print(json.dumps(json.loads(line)))\n`,
      objs.map((o) => JSON.stringify(o)).join("\n") + "\n",
    )
      .split("\n")
      .filter(Boolean);
    assert.deepEqual(
      objs.map((o) => pythonJson(o)),
      out,
    );
  });

  it("queueText reads as Python's lenient json.loads reads the raw body: the same value, now strict JSON", () => {
    const raw = '{"msg": "red \u001b[31m", "k": "\u0001\uffff"}';
    const escaped = queueText(raw);
    const out = python(`import json, sys\nraw, esc = sys.stdin.read().split("\\n")[:2]\nprint(json.loads(raw, strict=False) == json.loads(esc))\n`, `${raw}\n${escaped}\n`);
    assert.equal(out.trim(), "True");
  });
});

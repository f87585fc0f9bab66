import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CODE_CACHE = fileURLToPath(new URL("../../src/process/code-cache.js", import.meta.url));

/** Runs `program` in a new Node.js process through runWithCodeCache; returns what it printed and the cache state. */
function run(program: string, cacheDir: string | undefined): { out: string; cache: string } {
  const loader = `import { runWithCodeCache } from ${JSON.stringify(CODE_CACHE)};
const r = runWithCodeCache(${JSON.stringify(program)}, ${JSON.stringify(cacheDir)});
process.on("exit", () => process.stdout.write(" cache=" + r.cache));`;
  const p = spawnSync(process.execPath, ["--input-type=module", "-e", loader], { encoding: "utf8" });
  assert.equal(p.status, 0, p.stderr);
  const m = / cache=(\w+)$/.exec(p.stdout);
  assert.ok(m, p.stdout);
  return { out: p.stdout.slice(0, m.index), cache: m[1]! };
}

describe("V8 code cache for the pod bundle", () => {
  const dir = mkdtempSync(join(tmpdir(), "akspilot-code-cache-"));
  const program = join(dir, "program.cjs");
  // require, module and __filename must work as in any CommonJS file.
  writeFileSync(program, `const { sep } = require("node:path"); module.exports = 1; process.stdout.write("ran " + __filename.split(sep).pop() + " " + module.exports);`);

  it("the first run writes the cache, the next one uses it, a changed program writes a new one", () => {
    const cacheDir = join(dir, "cache");
    assert.deepEqual(run(program, cacheDir), { out: "ran program.cjs 1", cache: "compiled" });
    assert.equal(readdirSync(cacheDir).filter((f) => f.endsWith(".v8cache")).length, 1);
    assert.deepEqual(run(program, cacheDir), { out: "ran program.cjs 1", cache: "accepted" });
    writeFileSync(program, `module.exports = 2; process.stdout.write("ran again " + module.exports);`);
    assert.deepEqual(run(program, cacheDir), { out: "ran again 2", cache: "compiled" });
    // The earlier build's cache is gone: one file per program and Node.js, however often it is rebuilt.
    assert.equal(readdirSync(cacheDir).length, 1);
    assert.deepEqual(run(program, cacheDir), { out: "ran again 2", cache: "accepted" });
  });

  it("runs without a cache when there is no directory or it cannot be written", () => {
    assert.deepEqual(run(program, undefined), { out: "ran again 2", cache: "off" });
    const readOnly = join(dir, "read-only");
    // A file where the directory should be: mkdir fails, the program still runs and nothing is left behind.
    writeFileSync(readOnly, "");
    chmodSync(readOnly, 0o400);
    assert.deepEqual(run(program, join(readOnly, "cache")), { out: "ran again 2", cache: "compiled" });
    assert.deepEqual(run(program, join(readOnly, "cache")), { out: "ran again 2", cache: "compiled" });
    rmSync(dir, { recursive: true, force: true });
  });
});

#!/usr/bin/env node
// Runs node's test runner over an explicit list of compiled test files.
// Node 20's --test does not expand globs and finds no files in a bare directory,
// so the list is built here and passed file by file.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : collect("dist/test");
if (files.length === 0) {
  console.error("run-tests: no compiled tests under dist/test — run `npm run build` first");
  process.exit(1);
}
console.log(`run-tests: ${files.length} files`);
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

// dist/test/walls/walls.test.js → the package root.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const CONFIG = join(ROOT, ".dependency-cruiser.cjs");
const KNOWN = join(ROOT, ".dependency-cruiser-known-violations.json");
const DEPCRUISE = join(ROOT, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs");

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
}

const rules = (createRequire(import.meta.url)(CONFIG) as { forbidden: { name: string }[] }).forbidden.map((r) => r.name);

function depcruise(dir: string, args: string[]) {
  return spawnSync(process.execPath, [DEPCRUISE, "src", "--config", CONFIG, ...args], { cwd: dir, encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
}

/** The violations the `npm run check:walls` command finds in `dir`, read from its JSON report. */
function cruise(dir: string, extra: string[] = []): Violation[] {
  const r = depcruise(dir, [...extra, "--output-type", "json"]);
  assert.ok(r.stdout.startsWith("{"), `depcruise printed no JSON: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

/** The exit status of the `npm run check:walls` command (its `err` report) in `dir`. */
function checkStatus(dir: string): number | null {
  return depcruise(dir, ["--output-type", "err"]).status;
}

const temps: string[] = [];
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** A throwaway project: the real tsconfig and these source files. */
function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "akspilot-walls-"));
  temps.push(dir);
  copyFileSync(join(ROOT, "tsconfig.json"), join(dir, "tsconfig.json"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

// Modules the offending files import; each only has to exist.
const TARGETS: Record<string, string> = Object.fromEntries(
  ["local", "cli", "kube", "sim", "blueprints", "provisioning", "dashboard"].map((d) => [`src/${d}/target.ts`, "export const x = 1;\n"]),
);
TARGETS["src/errors.ts"] = "export class UserError extends Error {}\n";

/** Each rule, with the file that must breach it (rule name → offending file → its text). */
const BREACHES: Array<{ rule: string; from: string; text: string }> = [
  { rule: "storage-is-a-leaf", from: "src/storage/bad.ts", text: `import { x } from "../local/target.js";\nexport const y = x;\n` },
  { rule: "process-is-a-leaf", from: "src/process/bad.ts", text: `import { x } from "../blueprints/target.js";\nexport const y = x;\n` },
  { rule: "apps-run-anywhere", from: "src/apps/bad.ts", text: `import { x } from "../kube/target.js";\nexport const y = x;\n` },
  { rule: "apps-reach-no-provisioning", from: "src/apps/storage.ts", text: `export const load = () => import("../provisioning/target.js");\n` },
  { rule: "scaling-is-pure", from: "src/scaling/bad.ts", text: `import { x } from "../sim/target.js";\nexport const y = x;\n` },
  { rule: "scaling-does-no-io", from: "src/scaling/io.ts", text: `import { readFileSync } from "node:fs";\nexport const y = readFileSync;\n` },
  { rule: "blueprints-are-data", from: "src/blueprints/bad.ts", text: `import { x } from "../kube/target.js";\nexport const y = x;\n` },
  { rule: "blueprints-are-data", from: "src/blueprints/io.ts", text: `import { join } from "node:path";\nexport const y = join;\n` },
  { rule: "targets-stay-below-the-runtime", from: "src/kube/bad.ts", text: `import { x } from "../local/target.js";\nexport const y = x;\n` },
  { rule: "targets-stay-below-the-runtime", from: "src/provisioning/bad.ts", text: `import type { X } from "../cli/types.js";\nexport type Y = X;\n` },
  { rule: "targets-stay-below-the-runtime", from: "src/sim/bad.ts", text: `import { x } from "../local/target.js";\nexport const y = x;\n` },
  { rule: "targets-stay-below-the-runtime", from: "src/upgrade/bad.ts", text: `import { x } from "../local/target.js";\nexport const y = x;\n` },
  { rule: "targets-stay-below-the-runtime", from: "src/identity/bad.ts", text: `import { x } from "../cli/target.js";\nexport const y = x;\n` },
  { rule: "runtime-stays-below-the-cli", from: "src/local/bad.ts", text: `import { x } from "../cli/target.js";\nexport const y = x;\n` },
  { rule: "runtime-is-handed-its-dashboard", from: "src/local/shows.ts", text: `import { x } from "../dashboard/target.js";\nexport const y = x;\n` },
  { rule: "dashboard-reads-the-runtime-over-http", from: "src/dashboard/bad.ts", text: `import { x } from "../local/target.js";\nexport const y = x;\n` },
  { rule: "dashboard-client-runs-in-the-browser", from: "src/dashboard/client/bad.ts", text: `import { x } from "../../blueprints/target.js";\nexport const y = x;\n` },
  { rule: "no-circular", from: "src/util/a.ts", text: `import { b } from "./b.js";\nexport const a = () => b;\n` },
];
const EXTRA: Record<string, string> = {
  "src/cli/types.ts": "export type X = number;\n",
  "src/util/b.ts": `import { a } from "./a.js";\nexport const b = () => a;\n`,
};

describe("layer walls (.dependency-cruiser.cjs)", () => {
  it("every rule reports a breach: one offending file per rule, each reported under that rule", () => {
    const files: Record<string, string> = { ...TARGETS, ...EXTRA };
    for (const b of BREACHES) files[b.from] = b.text;
    const dir = fixture(files);
    const violations = cruise(dir);
    assert.notEqual(checkStatus(dir), 0, "the check exits non-zero on a breach, so `npm test` stops");
    for (const b of BREACHES) {
      assert.ok(
        violations.some((v) => v.rule.name === b.rule && v.from === b.from),
        `${b.rule} reported for ${b.from}; got ${JSON.stringify(violations.map((v) => [v.rule.name, v.from]))}`,
      );
    }
    // No rule goes unproven: a new rule needs a breach above.
    assert.deepEqual([...new Set(BREACHES.map((b) => b.rule))].sort(), [...rules].sort());
  });

  it("what the walls allow passes: targets read blueprints and scaling, blueprints throw UserError, scaling uses node:util", () => {
    const dir = fixture({
      ...TARGETS,
      "src/blueprints/ok.ts": `import { UserError } from "../errors.js";\nimport { x } from "./target.js";\nexport const y = [UserError, x];\n`,
      "src/scaling/ok.ts": `import { format } from "node:util";\nimport { x } from "../blueprints/target.js";\nexport const y = [format, x];\n`,
      "src/sim/ok.ts": `import { y } from "../scaling/ok.js";\nimport { x } from "../blueprints/target.js";\nexport const z = [x, y];\n`,
      "src/local/ok.ts": `import { z } from "../sim/ok.js";\nexport const w = z;\n`,
      "src/cli/ok.ts": `import { w } from "../local/ok.js";\nexport const v = w;\n`,
      "src/dashboard/ok.ts": `import type { X } from "../local/types.js";\nexport const u: X = 1;\n`,
      "src/dashboard/client/ok.ts": `import type { X } from "../../local/types.js";\nexport const c: X = 2;\n`,
      "src/local/types.ts": "export type X = number;\n",
    });
    assert.deepEqual(cruise(dir), []);
    assert.equal(checkStatus(dir), 0);
  });

  it("the current tree keeps every wall, apart from the breaches listed as known", () => {
    const r = depcruise(ROOT, ["--ignore-known", KNOWN, "--output-type", "err"]);
    assert.equal(r.status, 0, r.stdout);
  });
});

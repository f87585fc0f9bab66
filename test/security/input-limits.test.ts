// Big or hostile input files: every file a user names is capped at 1 MiB and its YAML at 64 levels of
// nesting, each refusal one line naming the file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { USER_FILE_MAX_BYTES, YAML_MAX_DEPTH, parseUserYamlDocuments, readUserFile } from "../../src/util/user-file.js";
import { parseScaledObjectYaml } from "../../src/scaling/scaledobject.js";
import { parseNodePoolYaml } from "../../src/scaling/karpenter.js";
import { DEFAULT_CATALOG } from "../../src/scaling/catalog.js";
import { loadValuesFile } from "../../src/kube/values.js";
import { UserError } from "../../src/errors.js";
import { runCli, stderrLines, tempDir } from "../edw/helpers.js";

const SO_HEAD = "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: so\n  labels:\n";

function userError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  assert.fail("no error");
}

/** `depth` nested block mappings: `a:\n  a:\n    a: …`. */
function blockNest(depth: number): string {
  let s = "";
  for (let i = 0; i < depth - 1; i++) s += `${"  ".repeat(i)}a:\n`;
  return `${s}${"  ".repeat(depth - 1)}a: 1\n`;
}

test("a 10 MiB ScaledObject is refused at once, in one line naming the file and the limit (simulate, up)", async (t) => {
  const dir = tempDir(t, "akspilot-input-");
  let big = SO_HEAD;
  let i = 0;
  while (big.length < 10 * 1024 * 1024) big += `    k${i++}: v\n`;
  writeFileSync(join(dir, "big.yaml"), big);
  writeFileSync(join(dir, "t.csv"), "t,queueLength\n0,1\n");
  for (const args of [
    ["simulate", "--trace", "t.csv", "--scaledobject", "big.yaml"],
    ["up", "edw", "--messages", "1", "--scaledobject", "big.yaml"],
  ]) {
    const r = await runCli(t, args, { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    const lines = stderrLines(r);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^akspilot: (ScaledObject|--scaledobject) big\.yaml is larger than 1 MiB \(10485\d{3} bytes\) — /);
  }
});

test("an endless input (a device, a pipe) is read only up to the limit", (t) => {
  const e = userError(() => readUserFile("/dev/zero", "trace"));
  assert.equal(e.message, "trace /dev/zero is larger than 1 MiB");
  const dir = tempDir(t, "akspilot-input-");
  const exact = join(dir, "exact.csv");
  writeFileSync(exact, Buffer.alloc(USER_FILE_MAX_BYTES, "#"));
  assert.equal(readUserFile(exact, "trace").length, USER_FILE_MAX_BYTES, "exactly 1 MiB is accepted");
  writeFileSync(exact, Buffer.alloc(USER_FILE_MAX_BYTES + 1, "#"));
  assert.match(userError(() => readUserFile(exact, "trace")).message, /exact\.csv is larger than 1 MiB \(1048577 bytes\)/);
  assert.match(userError(() => readUserFile(dir, "trace")).message, /: is a directory$/);
});

test("deeply nested YAML is one clear line, not a stack overflow (CLI: values file and ScaledObject)", async (t) => {
  const dir = tempDir(t, "akspilot-input-");
  writeFileSync(join(dir, "deep-flow.yaml"), `registry: ${"[".repeat(200_000)}${"]".repeat(200_000)}\n`);
  writeFileSync(join(dir, "deep-block.yaml"), blockNest(300));
  writeFileSync(join(dir, "t.csv"), "t,queueLength\n0,1\n");
  for (const args of [
    ["manifests", "edw", "--values", "deep-flow.yaml"],
    ["manifests", "edw", "--values", "deep-block.yaml"],
    ["simulate", "--trace", "t.csv", "--scaledobject", "deep-flow.yaml"],
  ]) {
    const r = await runCli(t, args, { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    const lines = stderrLines(r);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^akspilot: deep-(flow|block)\.yaml is nested more than 64 levels deep — /);
    assert.doesNotMatch(r.stderr, /call stack/);
  }
});

test("nesting: 64 levels are accepted, 65 are not, whatever the notation", () => {
  assert.deepEqual(parseUserYamlDocuments(blockNest(YAML_MAX_DEPTH), "ok.yaml").length, 1);
  for (const [name, text] of [
    ["block", blockNest(YAML_MAX_DEPTH + 1)],
    ["flow", `${"[".repeat(YAML_MAX_DEPTH + 1)}${"]".repeat(YAML_MAX_DEPTH + 1)}`],
    ["compact sequences", `${"- ".repeat(YAML_MAX_DEPTH + 1)}a\n`],
  ] as const) {
    assert.equal(userError(() => parseUserYamlDocuments(text, "x.yaml")).message, "x.yaml is nested more than 64 levels deep", name);
  }
  // Brackets inside quotes and comments are text, not nesting.
  assert.deepEqual(parseUserYamlDocuments(`a: "${"[".repeat(100)}" # ${"{".repeat(100)}\n`, "q.yaml"), [{ a: "[".repeat(100) }]);
});

test("alias bombs and duplicate keys are refused; the parsers of ScaledObject, NodePool and values share the limits", (t) => {
  const lol = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (const c of "bcdefghi")
    lol.push(
      `${c}: &${c} [${Array(10)
        .fill(`*${String.fromCharCode(c.charCodeAt(0) - 1)}`)
        .join(", ")}]`,
    );
  assert.match(userError(() => parseUserYamlDocuments(lol.join("\n"), "lol.yaml")).message, /^lol\.yaml is not valid YAML: .*alias/i);
  assert.equal(userError(() => parseUserYamlDocuments("kind: A\nkind: B\n", "dup.yaml")).message, 'dup.yaml is not valid YAML: key "kind" appears twice in one mapping');

  const deep = `kind: ScaledObject\nspec: ${"{a: ".repeat(70)}1${"}".repeat(70)}\n`;
  assert.match(userError(() => parseScaledObjectYaml(deep, "so.yaml")).message, /^so\.yaml is nested more than 64/);
  assert.match(userError(() => parseNodePoolYaml(deep.replace("ScaledObject", "NodePool"), "np.yaml", DEFAULT_CATALOG)).message, /^np\.yaml is nested more than 64/);
  const dir = tempDir(t, "akspilot-input-");
  writeFileSync(join(dir, "v.yaml"), deep);
  assert.match(userError(() => loadValuesFile(join(dir, "v.yaml"))).message, /v\.yaml is nested more than 64/);
});

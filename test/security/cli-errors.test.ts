// Error lines as a user reads them: one `akspilot: ` prefix whoever detects the error (commander or
// akspilot), number ranges as people write them, echoed input clipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli, stderrLines, tempDir } from "../edw/helpers.js";
import { intOption, numberOption } from "../../src/cli/options.js";

const LONG = "9".repeat(200);

test("every error line, commander's included, is one `akspilot: ` line that reads as people write it", async (t) => {
  const cwd = tempDir(t, "akspilot-cli-");
  const cases: [string[], string | RegExp][] = [
    [["up", "edw", "--drain-timeout", "0"], "akspilot: --drain-timeout must be ≥ 1, got 0"],
    [["up", "edw", "--replicas", "5000"], "akspilot: --replicas must be from 0 to 1000, got 5000"],
    [["up", "edw", "--messages", "five"], 'akspilot: --messages must be a whole number from 1 to 10000000, got "five"'],
    [["up", "edw", "--burst-every", "soon"], 'akspilot: --burst-every must be a number ≥ 0.001, got "soon"'],
    [["up", "edw", "--policy", "fastest"], 'akspilot: --policy must be one of keda, predictive, got "fastest"'],
    [["scale", "many"], 'akspilot: <replicas> must be a whole number from 0 to 1000, got "many"'],
    [["up", "edw", "--nope"], "akspilot: unknown option '--nope'"],
    [["nosuchcommand"], "akspilot: unknown command 'nosuchcommand'"],
    [["up"], "akspilot: missing required argument 'blueprint'"],
    [["up", "edw", "--messages", LONG], /^akspilot: --messages must be from 1 to 10000000, got 9{79}…$/],
    [["up", `x${LONG}`], /^akspilot: unknown blueprint "x9{78}…" — choose one of: /],
    [["up", "edw", `--x${LONG}`], /^akspilot: unknown option '--x9{76}…'$/],
  ];
  for (const [args, expect] of cases) {
    const r = await runCli(t, args, { cwd });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = stderrLines(r);
    assert.equal(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
    if (typeof expect === "string") assert.equal(lines[0], expect);
    else assert.match(lines[0]!, expect);
    assert.doesNotMatch(lines[0]!, /e\+308|9007199254740991|^error:/);
  }
});

test("range messages print only the bounds that were chosen", () => {
  const msg = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };
  assert.equal(
    msg(() => numberOption(1)("0")),
    "must be ≥ 1, got 0",
  );
  assert.equal(
    msg(() => numberOption(-Infinity, 10)("11")),
    "must be ≤ 10, got 11",
  );
  assert.equal(
    msg(() => intOption(1)("0")),
    "must be ≥ 1, got 0",
  );
  assert.equal(
    msg(() => intOption(0, 5)("6")),
    "must be from 0 to 5, got 6",
  );
  assert.equal(
    msg(() => numberOption(0)("\u001b[2Jx")),
    'must be a number ≥ 0, got "\\x1b[2Jx"',
  );
  assert.equal(intOption(1)("7"), 7);
});

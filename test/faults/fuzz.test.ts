// Bad-input fuzzing of the parsers of user input (property-based, bounded runs, reproducible from the
// printed seed): whatever the text, each parser returns a value or throws a UserError whose line is one
// line and carries no stack trace; never another exception, never a hang (each run is bounded).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { UserError } from "../../src/errors.js";
import { seedNodePool, seedScaledObject } from "../../src/blueprints/edw.js";
import { DEFAULT_CATALOG } from "../../src/scaling/catalog.js";
import { parseNodePoolYaml } from "../../src/scaling/karpenter.js";
import { parseScaledObjectYaml } from "../../src/scaling/scaledobject.js";
import { parseTraceCsv } from "../../src/sim/trace.js";
import { checkValues } from "../../src/kube/values.js";
import { parseUserYaml } from "../../src/util/user-file.js";
import { toYaml } from "../../src/kube/yaml.js";
import { consumerSettings, CONSUMER_FLAGS, type ConsumerFlag } from "../../src/apps/consumer/settings.js";
import { parseMessage } from "../../src/apps/message.js";

const RUNS = Number(process.env.AKSPILOT_FUZZ_RUNS ?? 300);
const params = (): fc.Parameters<unknown> => ({
  numRuns: RUNS,
  seed: process.env.AKSPILOT_FUZZ_SEED ? Number(process.env.AKSPILOT_FUZZ_SEED) : undefined,
  interruptAfterTimeLimit: 60_000,
});

/** Runs `parse`; only a value or a one-line UserError is acceptable. */
function wellBehaved(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch (e) {
    if (!(e instanceof UserError)) throw new Error(`not a UserError: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    const line = e.line();
    if (line.includes("\n") || /\bat .+:\d+:\d+/.test(line)) throw new Error(`not one clean line: ${JSON.stringify(line)}`);
    return true;
  }
}

/** Text near a valid document: characters inserted, deleted and replaced at random places. */
function mutated(valid: string): fc.Arbitrary<string> {
  const edit = fc.record({
    at: fc.nat(),
    del: fc.nat({ max: 8 }),
    ins: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(":", "- ", "\n", "  ", "{", "[", "&a", "*a", "!!js", "~", "'", '"', "---\n", "\t", "\u0000", "1e999", "-1", "0x10")),
  });
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => {
    let s = valid;
    for (const e of edits) {
      const at = e.at % (s.length + 1);
      s = s.slice(0, at) + e.ins + s.slice(at + e.del);
    }
    return s;
  });
}

/** Any small JSON-like value, as YAML: well-formed documents of the wrong shape. */
const anyYaml = fc.jsonValue({ maxDepth: 4 }).map((v) => toYaml(v));

describe("fuzzing the parsers of user input: a value or one clear line, never a crash", () => {
  const scaledObject = toYaml(seedScaledObject("acct"));
  const nodePool = toYaml(seedNodePool());

  it("ScaledObject YAML", () => {
    fc.assert(
      fc.property(fc.oneof(mutated(scaledObject), anyYaml, fc.string()), (text) => wellBehaved(() => parseScaledObjectYaml(text, "so.yaml"))),
      params(),
    );
  });

  // This property found a requirement whose `values` was a string, not a list (e.g. "values: ( - D"), crashing
  // poolSettings with a TypeError; it is now refused in one line.
  it("NodePool YAML", () => {
    fc.assert(
      fc.property(fc.oneof(mutated(nodePool), anyYaml, fc.string()), (text) => wellBehaved(() => parseNodePoolYaml(text, "np.yaml", DEFAULT_CATALOG))),
      params(),
    );
  });

  // A key written with nothing after it (`consolidateAfter:`) is YAML null. Random edits found one in a CI run
  // (a TypeError in the duration reader), so every field of both seed documents is emptied here in turn.
  it("ScaledObject and NodePool YAML with any one field left empty (null)", () => {
    const cases: Array<[string, (text: string) => unknown]> = [
      [scaledObject, (t) => parseScaledObjectYaml(t, "so.yaml")],
      [nodePool, (t) => parseNodePoolYaml(t, "np.yaml", DEFAULT_CATALOG)],
    ];
    let emptied = 0;
    for (const [text, parse] of cases) {
      const lines = text.split("\n");
      for (const [i, line] of lines.entries()) {
        const m = /^(\s*(?:- )?[\w./-]+:)\s*\S/.exec(line);
        if (!m) continue;
        const doc = [...lines.slice(0, i), m[1], ...lines.slice(i + 1)].join("\n");
        assert.ok(
          wellBehaved(() => parse(doc)),
          doc,
        );
        emptied++;
      }
    }
    assert.ok(emptied > 20, `only ${emptied} fields emptied: the seed documents' shape changed`);
  });

  it("values files", () => {
    const valid = "replicas: 2\nimage:\n  repository: example.azurecr.io/app\n  tag: v1\n";
    fc.assert(
      fc.property(fc.oneof(mutated(valid), anyYaml, fc.string()), (text) => wellBehaved(() => checkValues(parseUserYaml(text, "values.yaml"), "values.yaml"))),
      params(),
    );
  });

  it("trace CSV", () => {
    const valid = "t,arrivalsPerSecond\n0,1\n60,100\n120,0\n";
    const cells = fc.array(
      fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.double().map(String), fc.integer().map(String)), { maxLength: 3 }).map((r) => r.join(",")),
      { maxLength: 8 },
    );
    const csv = cells.map((rows) => ["t,queueLength", ...rows].join("\n"));
    fc.assert(
      fc.property(fc.oneof(mutated(valid), csv, fc.string()), (text) => wellBehaved(() => parseTraceCsv(text, "trace.csv"))),
      params(),
    );
  });

  it("consumer flags and AKSPILOT_* variables", () => {
    const flags = fc.dictionary(
      fc.constantFrom(...CONSUMER_FLAGS),
      fc.oneof(fc.string({ maxLength: 12 }), fc.integer().map(String), fc.constantFrom("(", "[a-", "1e3", " 5", "-0", "99999999999999999999")),
    );
    fc.assert(
      fc.property(flags, (f) => wellBehaved(() => consumerSettings(f as Partial<Record<ConsumerFlag, string>>, {}))),
      params(),
    );
  });

  it("queue message bodies: parseMessage never throws and always names what is wrong", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          mutated('{"msg": "Scale Test Message : COUNT 1", "srcStamp": "2026-01-01 00:00:00.000000"}'),
        ),
        (text) => {
          const r = parseMessage(text);
          assert.ok(r.ok || (typeof r.reason === "string" && r.reason.length > 0 && !r.reason.includes("\n")));
        },
      ),
      params(),
    );
  });
});

import assert from "node:assert/strict";
import { scratchDir } from "../scratch.js";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { UserError } from "../../src/errors.js";
import { parseTraceCsv, traceValueAt } from "../../src/sim/trace.js";

test("trace: header picks the loop; blank and # lines are skipped", () => {
  const t = parseTraceCsv("# burst\nt,arrivalsPerSecond\n0,10\n\n60, 0\n", "a.csv");
  assert.deepEqual(t, {
    kind: "arrivals",
    points: [
      { t: 0, v: 10 },
      { t: 60, v: 0 },
    ],
  });
  assert.equal(parseTraceCsv("t,queueLength\n5,3\n", "q.csv").kind, "queue");
  assert.deepEqual(
    [-1, 4, 59.9, 60, 100].map((x) => traceValueAt(t, x)),
    [0, 10, 10, 0, 0],
  );
});

const bad: [string, string, RegExp][] = [
  ["unknown header", "t,depth\n0,1\n", /^x\.csv line 1: unknown header "t,depth"/],
  ["empty file", "", /^x\.csv line 1: empty file/],
  ["no rows", "t,queueLength\n", /^x\.csv: no rows/],
  ["not a number", "t,queueLength\n0,1\n5,lots\n", /^x\.csv line 3: queueLength must be a number, got "lots"/],
  ["negative value", "t,arrivalsPerSecond\n0,-2\n", /^x\.csv line 2: arrivalsPerSecond must not be negative/],
  ["negative time", "t,queueLength\n-1,2\n", /^x\.csv line 2: t must not be negative/],
  ["time going back", "t,queueLength\n10,1\n5,1\n", /^x\.csv line 3: t 5 must be greater than the previous row's 10/],
  ["extra column", "t,queueLength\n0,1,2\n", /^x\.csv line 2: expected 2 columns/],
];
for (const [name, text, re] of bad) {
  test(`trace: ${name} → one UserError naming the file and line`, () => {
    assert.throws(
      () => parseTraceCsv(text, "x.csv"),
      (e: unknown) => e instanceof UserError && re.test(e.message),
    );
  });
}

const cli = (args: string[]) => spawnSync(process.execPath, ["bin/akspilot.js", "simulate", ...args], { encoding: "utf8" });

test("akspilot simulate --json: one object with timeline and summary (seed ScaledObject and NodePool by default)", () => {
  const dir = scratchDir("sim-");
  writeFileSync(join(dir, "trace.csv"), "t,queueLength\n0,0\n30,100\n300,0\n");
  const r = cli(["--trace", join(dir, "trace.csv"), "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { timeline: { t: number; replicas: number; nodes: number; queueLength: number }[]; summary: Record<string, unknown> };
  assert.deepEqual(Object.keys(out), ["timeline", "summary"]);
  // The seed cluster's static pools (3 system nodes, 1 application node) are there from the start.
  assert.deepEqual(out.timeline[0], { t: 0, replicas: 0, ready: 0, nodes: 4, queueLength: 0 });
  assert.equal(out.summary.staticNodes, 4);
  // They count in nodeSeconds for the whole run, as the runtime counts them; poolNodeSeconds is Karpenter's part.
  assert.equal(Math.round((out.summary.nodeSeconds as number) - (out.summary.poolNodeSeconds as number)), 4 * (out.summary.durationSeconds as number));
  assert.equal(out.summary.firstScaleUpAt, 30);
  assert.equal(out.summary.maxReplicas, 15);
  assert.equal(typeof out.summary.backToZeroAt, "number");
});

test("akspilot simulate: bad input is one line naming the file, exit 2", () => {
  const dir = scratchDir("sim-");
  writeFileSync(join(dir, "bad.csv"), "t,queueLength\n0,1\n3,x\n");
  writeFileSync(
    join(dir, "so.yaml"),
    "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s}\nspec:\n  scaleTargetRef: {name: d}\n  pollingInterval: 0\n  triggers: [{type: azure-queue, metadata: {queueName: q}}]\n",
  );
  writeFileSync(join(dir, "ok.csv"), "t,arrivalsPerSecond\n0,1\n");
  const cases: [string[], RegExp][] = [
    [["--trace", join(dir, "missing.csv")], /cannot read trace .*missing\.csv: no such file/],
    [["--trace", join(dir, "bad.csv")], /bad\.csv line 3: queueLength must be a number/],
    [["--trace", join(dir, "ok.csv"), "--scaledobject", join(dir, "so.yaml")], /so\.yaml: ScaledObject \.spec\.pollingInterval:/],
    [["--trace", join(dir, "ok.csv")], /needs --work-ms/],
    [["--trace", join(dir, "ok.csv"), "--work-ms", "-5"], /--work-ms must be a number > 0/],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, re);
  }
});

test("akspilot simulate: a span longer than a year is refused at once in one line (it would run for hours)", () => {
  const dir = scratchDir("sim-");
  writeFileSync(join(dir, "short.csv"), "t,queueLength\n0,0\n60,100\n");
  writeFileSync(join(dir, "long.csv"), "t,queueLength\n0,0\n1e12,100\n");
  const cases: [string[], RegExp][] = [
    [["--trace", join(dir, "short.csv"), "--duration", "1e12"], /--duration spans 1000000000000 simulated seconds; the limit is 31622400 \(a year\)/],
    [["--trace", join(dir, "long.csv")], /the trace \(last row \+ 900 s tail\) spans .* the limit is 31622400/],
  ];
  for (const [args, re] of cases) {
    const r = spawnSync(process.execPath, ["bin/akspilot.js", "simulate", ...args], { encoding: "utf8", timeout: 20000 });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, re);
  }
});

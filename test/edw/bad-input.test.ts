import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { CONSUMER, newMarker, runCli, stderrLines, tempDir, waitNoneMarked } from "./helpers.js";

const UNREACHABLE =
  "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;";

const CASES: { name: string; args: string[]; env?: Record<string, string>; expect: RegExp }[] = [
  { name: "unknown blueprint", args: ["up", "nosuchblueprint"], expect: /nosuchblueprint/ },
  { name: "--messages five", args: ["up", "edw", "--messages", "five"], expect: /--messages.*five|five.*--messages/ },
  { name: "--replicas -1", args: ["up", "edw", "--messages", "5", "--replicas", "-1"], expect: /--replicas/ },
  { name: "--exit-when-drained without --messages", args: ["up", "edw", "--exit-when-drained"], expect: /--messages/ },
  {
    name: "invalid AZURE_QUEUE_NAME",
    args: ["up", "edw", "--messages", "5", "--exit-when-drained"],
    env: { AZURE_QUEUE_NAME: "Bad_Queue" },
    expect: /AZURE_QUEUE_NAME "Bad_Queue"/,
  },
  { name: "invalid AZURE_TABLE_NAME", args: ["up", "edw", "--messages", "5", "--exit-when-drained"], env: { AZURE_TABLE_NAME: "1table" }, expect: /AZURE_TABLE_NAME/ },
  {
    name: "not a connection string",
    args: ["up", "edw", "--messages", "5", "--exit-when-drained"],
    env: { AZURE_STORAGE_CONNECTION_STRING: "hello" },
    expect: /AZURE_STORAGE_CONNECTION_STRING/,
  },
  {
    name: "unreachable storage (up)",
    args: ["up", "edw", "--messages", "5", "--exit-when-drained", "--json"],
    env: { AZURE_STORAGE_CONNECTION_STRING: UNREACHABLE },
    expect: /cannot reach storage at http:\/\/127\.0\.0\.1:1/,
  },
  { name: "unreachable storage (produce)", args: ["produce", "--count", "3"], env: { AZURE_STORAGE_CONNECTION_STRING: UNREACHABLE }, expect: /cannot reach storage/ },
  { name: "unreachable storage (poison list)", args: ["poison", "list"], env: { AZURE_STORAGE_CONNECTION_STRING: UNREACHABLE }, expect: /cannot reach storage/ },
  { name: "no storage for produce", args: ["produce", "--count", "3"], expect: /no storage to use/ },
  { name: "produce --count five", args: ["produce", "--count", "five"], env: { AZURE_STORAGE_CONNECTION_STRING: UNREACHABLE }, expect: /--count/ },
  { name: "consume --batch-size 64", args: ["consume", "--batch-size", "64"], env: { AZURE_STORAGE_CONNECTION_STRING: UNREACHABLE }, expect: /--batch-size/ },
];

describe("bad input: one line naming the problem, non-zero exit, no stack trace, nothing left running", () => {
  for (const c of CASES) {
    it(c.name, async (t) => {
      const cwd = tempDir(t);
      const marker = newMarker();
      const r = await runCli(t, c.args, { cwd, marker, env: c.env });
      assert.notEqual(r.code, 0, `exit 0: ${r.stdout}`);
      assert.equal(r.signal, null);
      const lines = stderrLines(r);
      assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
      assert.match(lines[0]!, c.expect);
      assert.doesNotMatch(r.stderr, / {4}at /, "stack trace");
      assert.deepEqual(await waitNoneMarked(marker, 5000), [], "left running");
    });
  }

  it("the consumer program itself (as a container runs it): unknown flag and unreachable storage", async (t) => {
    for (const [args, env, expect] of [
      [["--nope", "1"], {}, /--nope/],
      [[], { AZURE_STORAGE_CONNECTION_STRING: UNREACHABLE }, /cannot reach storage/],
      [["--work-ms", "soon"], { AZURE_STORAGE_CONNECTION_STRING: UNREACHABLE }, /--work-ms/],
    ] as const) {
      const child = spawn(process.execPath, [CONSUMER, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
      t.after(() => {
        if (child.exitCode === null) child.kill("SIGKILL");
      });
      let err = "";
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
      });
      child.stdout.resume();
      const code = await new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
      assert.notEqual(code, 0, err);
      const lines = err.split("\n").filter((l) => l.trim());
      assert.equal(lines.length, 1, err);
      assert.match(lines[0]!, expect);
      assert.match(lines[0]!, /^akspilot consume: /);
      assert.doesNotMatch(err, / {4}at /);
    }
  });
});

describe("up: contradictory or invalid scripted flags", () => {
  for (const [args, expect] of [
    [["up", "edw", "--messages", "5", "--replicas", "0", "--exit-when-drained"], /--replicas 0 with --exit-when-drained/],
    [["up", "edw", "--messages", "5", "--exit-when-zero"], /--exit-when-zero needs --exit-when-drained/],
    [["up", "edw", "--messages", "5", "--replicas", "2", "--exit-when-drained", "--exit-when-zero"], /--exit-when-zero with fixed --replicas would never return to zero/],
    [["up", "edw", "--messages", "5", "--fail-match", "("], /--fail-match is not a valid regular expression/],
    [["up", "edw", "--messages", "5", "--identity", "nobody"], /--identity "nobody" is not an identity of a local deploy/],
  ] as const) {
    it(`${args.slice(2).join(" ")}: refused before anything starts, in one line`, async (t) => {
      const r = await runCli(t, [...args], { cwd: tempDir(t) });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, expect);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    });
  }
});

// The control API and CLI at their edges, against a real `up resilient-web`: malformed paths and bodies are
// 400s with a user-level message, and a second `up` in the same directory is refused while the first runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { runtimeFile } from "./cli-helpers.js";
import { runCli, startCli, stderrLines, tempDir, waitFor } from "../edw/helpers.js";

test("control API and CLI edges; one up per directory; logs per run", { timeout: 120_000 }, async (t) => {
  const cwd = tempDir(t, "akspilot-web-");
  const up = startCli(t, ["up", "resilient-web", "--time-scale", "10", "--quiet"], { cwd });
  const rt = await waitFor("runtime.json", () => runtimeFile(cwd), 60_000);
  const call = (method: string, path: string, body?: string) => fetch(rt.controlUrl + path, { method, headers: { authorization: `Bearer ${rt.token}` }, body });

  // A malformed percent-encoding in the node name: 400, said as such (not a 500 "URI malformed").
  const bad = await call("POST", "/v1/nodes/%E0%A4%A/stop");
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /percent-encoding/);
  // Body fields of the wrong type: 400 naming the field, never a raw JavaScript error.
  for (const [body, field] of [
    ['{"replicas": "3"}', /"replicas"/],
    ['{"replicas": 2, "deployment": 5}', /"deployment"/],
    ['{"replicas": 2, "pause": "yes"}', /"pause"/],
  ] as const) {
    const r = await call("POST", "/v1/scale", body);
    assert.equal(r.status, 400, body);
    const msg = ((await r.json()) as { error: string }).error;
    assert.match(msg, field);
    assert.doesNotMatch(msg, /TypeError|undefined|at \w+ \(/);
  }
  const unknownAction = await call("POST", "/v1/nodes/x/reboot");
  assert.equal(unknownAction.status, 400);
  const longName = await call("POST", `/v1/nodes/${"n".repeat(500)}/stop`);
  assert.equal(longName.status, 400);
  assert.ok(((await longName.json()) as { error: string }).error.length < 400, "echoed input is not cut short");

  // The CLI: an empty node name is one line, not an internal route.
  const empty = await runCli(t, ["node", "stop", ""], { cwd });
  assert.equal(empty.code, 2);
  assert.equal(stderrLines(empty).length, 1);
  assert.match(empty.stderr, /node name is empty/);
  assert.doesNotMatch(empty.stderr, /\/v1\//);

  // A second `up` here is refused in one line naming the running pid, and leaves the first reachable.
  const second = await runCli(t, ["up", "resilient-web", "--quiet"], { cwd });
  assert.equal(second.code, 2, second.stderr);
  assert.equal(stderrLines(second).length, 1);
  assert.match(second.stderr, new RegExp(`another akspilot up is running in this directory \\(pid ${rt.pid}\\)`));
  assert.equal(runtimeFile(cwd)?.token, rt.token);
  const st = await runCli(t, ["status", "--json"], { cwd });
  assert.equal(st.code, 0, st.stderr);

  // Pod logs go to this run's own folder, which logs/latest points at.
  assert.ok(rt.logDir && existsSync(rt.logDir));
  assert.equal(readlinkSync(join(cwd, ".akspilot", "logs", "latest")), rt.logDir.split("/").pop());

  up.child.kill("SIGINT");
  assert.equal((await up.exited).code, 0);
  assert.equal(existsSync(join(cwd, ".akspilot", "run.lock")), false, "the lock outlived the run");
});

// Bad input to `up <blueprint>`: one line naming what is wrong and what to do, a non-zero exit, nothing
// left running — checked before any child process starts where it can be.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { getBlueprint } from "../../src/blueprints/index.js";
import { checkSchedulable, podTemplate } from "../../src/local/runtime.js";
import { programFor } from "../../src/local/programs.js";
import { UserError } from "../../src/errors.js";
import { newMarker, runCli, stderrLines, tempDir, waitNoneMarked } from "../edw/helpers.js";

test("a blueprint whose pods can never be scheduled is refused with the scheduler's reasons", () => {
  const bp = getBlueprint("resilient-web");
  bp.apps[0]!.resources.requests.cpu = "8";
  assert.throws(
    () => checkSchedulable(bp, bp.clusters[0]!, bp.apps, []),
    (e: unknown) => e instanceof UserError && /can never be scheduled/.test(e.message) && /Insufficient cpu/.test(e.message),
  );
  // The EDW consumer without its toleration still fits Karpenter's untainted nodes; the system pool alone would refuse it.
  const edw = getBlueprint("edw");
  const consumer = edw.apps.find((a) => a.program === "consumer")!;
  consumer.tolerations = [];
  const cluster = { ...edw.clusters[0]!, nodePools: [] };
  assert.throws(
    () => checkSchedulable(edw, cluster, [consumer], []),
    (e: unknown) => e instanceof UserError && /untolerated taint \{CriticalAddonsOnly: true\}/.test(e.message) && /untolerated taint \{deployment: aqs-app-pool\}/.test(e.message),
  );
});

test("an app whose program the runtime cannot run is named, with the programs it can", () => {
  const bp = getBlueprint("resilient-web");
  const app = { ...bp.apps[0]!, program: "external" as const, externalImage: "mcr.microsoft.com/dotnet/samples:aspnetapp" };
  assert.throws(
    () => programFor(app, bp.name),
    (e: unknown) => e instanceof UserError && /external image mcr\.microsoft\.com/.test(e.message) && /consumer, producer, hello/.test(e.line()),
  );
  assert.throws(() => podTemplate(bp, app, {}, 1), UserError);
});

for (const c of [
  {
    name: "up airflow before its infrastructure is deployed locally",
    args: ["up", "airflow"],
    error: /airflow infrastructure is not deployed locally .*run `akspilot deploy airflow-infra --target local` first/,
  },
  { name: "an airflow-only flag on edw", args: ["up", "edw", "--task-image", "airflow:2.9.3"], error: /--task-image applies to the airflow blueprint only/ },
  { name: "an EDW-only flag on resilient-web", args: ["up", "resilient-web", "--messages", "5"], error: /--messages applies to the edw blueprint only/ },
  { name: "--exit-when-ready on edw", args: ["up", "edw", "--exit-when-ready"], error: /--exit-when-ready applies to web blueprints/ },
  { name: "a gateway port out of range", args: ["up", "resilient-web", "--gateway-port", "70000"], error: /--gateway-port/ },
  { name: "an unknown gateway engine", args: ["up", "resilient-web", "--gateway-engine", "envoy"], error: /--gateway-engine/ },
  {
    name: "a gateway engine with --gateway kube",
    args: ["up", "resilient-web", "--gateway", "kube", "--gateway-engine", "haproxy"],
    error: /--gateway-engine: .*--gateway kube has none/,
  },
  { name: "a gateway engine on a blueprint without a gateway", args: ["up", "edw", "--gateway-engine", "haproxy"], error: /--gateway-engine: .*blueprint edw has no app gateway/ },
]) {
  test(`${c.name}: one line, exit 2, nothing left running`, async (t) => {
    const cwd = tempDir(t, "akspilot-web-");
    const marker = newMarker();
    const r = await runCli(t, c.args, { cwd, marker });
    assert.equal(r.code, 2, r.stderr);
    const lines = stderrLines(r);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, c.error);
    assert.deepEqual(await waitNoneMarked(marker, 5000), []);
  });
}

test("a gateway port that is taken: one line naming the port, no pod left running", async (t) => {
  const cwd = tempDir(t, "akspilot-web-");
  const marker = newMarker();
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
  t.after(() => busy.close());
  const port = (busy.address() as AddressInfo).port;
  const r = await runCli(t, ["up", "resilient-web", "--gateway-port", String(port), "--quiet"], { cwd, marker });
  assert.equal(r.code, 2, r.stderr);
  const lines = stderrLines(r);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`127\\.0\\.0\\.1:${port}: the port is in use`));
  assert.deepEqual(await waitNoneMarked(marker, 5000), []);
});

// A directory that cannot hold `.akspilot/`, and a --data directory that cannot be made (a pseudo-file
// system: even root cannot create there), are refused before any child process starts.
for (const c of [
  { name: "up in a directory where .akspilot cannot be made", cwd: "/proc", args: ["up", "resilient-web"], error: /the state directory \/proc\/\.akspilot cannot be used/ },
  {
    name: "up edw --data on a pseudo-file system",
    args: ["up", "edw", "--data", "/proc/akspilot-data", "--messages", "3", "--exit-when-drained"],
    error: /--data \/proc\/akspilot-data cannot be used/,
  },
]) {
  test(`${c.name}: one line, exit 2, nothing started`, async (t) => {
    const cwd = c.cwd ?? tempDir(t, "akspilot-web-");
    const marker = newMarker();
    const r = await runCli(t, c.args, { cwd, marker });
    assert.equal(r.code, 2, r.stderr);
    const lines = stderrLines(r);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, c.error);
    assert.deepEqual(await waitNoneMarked(marker, 5000), []);
  });
}

// `up bluegreen --gateway-port P`: the Application Gateway in front of the clusters answers on P.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { runCli, startCli, tempDir, waitFor } from "../edw/helpers.js";
import { runtimeFile, status } from "../runtime/cli-helpers.js";
import { oneLine } from "./helpers.js";

/** A port the OS just handed out and released (ephemeral, so no clash with other runs). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test("up bluegreen --gateway-port P: gatewayUrl is on P and the gateway answers there with the serving cluster", { timeout: 120_000 }, async (t) => {
  const cwd = tempDir(t, "akspilot-bg-");
  const port = await freePort();
  const up = startCli(t, ["up", "bluegreen", "--gateway-port", String(port), "--time-scale", "20", "--quiet", "--no-dashboard"], { cwd });
  const rt = await waitFor(
    "runtime.json",
    () => {
      const f = runtimeFile(cwd);
      return f && f.pid === up.child.pid ? f : undefined;
    },
    60_000,
  );
  assert.equal(rt.gatewayUrl, `http://127.0.0.1:${port}`);
  await waitFor(
    "every replica Ready",
    async () => {
      const s = await status(rt);
      return s.deployments.length > 0 && s.deployments.every((d) => d.ready === d.desired) ? s : undefined;
    },
    60_000,
  );
  const res = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-cluster"), "blue");
  assert.match(await res.text(), /Cluster blue, Kubernetes 1\.19\.11\./);
  assert.equal((await status(rt)).gatewayUrl, `http://127.0.0.1:${port}`);
});

test("up bluegreen --gateway kube is refused in one line: its gateway is always the Application Gateway", async (t) => {
  const cwd = tempDir(t, "akspilot-bg-");
  oneLine(await runCli(t, ["up", "bluegreen", "--gateway", "kube"], { cwd }), /--gateway: blueprint bluegreen is always served by its Application Gateway/);
});

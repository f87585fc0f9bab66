// A hung replica — its process frozen (SIGSTOP, as a deadlocked or stalled app: the kernel still accepts
// connections, nothing answers), not crashed — under client load through the akspilot gateway: the gateway
// stops sending it work, the readiness probe takes it out of the Service, the liveness probe restarts it,
// and the client sees no failed request at all.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli, startCli, tempDir, waitFor } from "../edw/helpers.js";
import { runtimeFile, status, waitReadyPods } from "./cli-helpers.js";
import { startLoad } from "../../src/local/drill/load.js";

interface Ev {
  reason: string;
  object: string;
  message: string;
}

test("a hung replica is taken out by readiness and the gateway, restarted by liveness, with zero failed requests", { timeout: 180_000 }, async (t) => {
  const cwd = tempDir(t, "akspilot-hung-");
  const up = startCli(t, ["up", "resilient-web", "--gateway", "akspilot", "--time-scale", "10", "--quiet"], { cwd });
  const rt = await waitFor("runtime.json", () => runtimeFile(cwd), 60_000);
  const before = await waitReadyPods(rt, 4, 60_000);
  const victim = before.pods.find((p) => p.ready && p.pid !== null)!;
  const pid = victim.pid!;
  // Whatever happens, the frozen process is let go again (the runtime then stops it as usual).
  t.after(() => {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // already gone: restarted by the liveness probe
    }
  });

  // The seed's curl loop, counted: 20 req/s, a new connection each, a failure after 2 s without an answer.
  const load = startLoad(rt.gatewayUrl!, 20, 2000);
  await new Promise((r) => setTimeout(r, 1000));
  process.kill(pid, "SIGSTOP");
  const restarted = await waitFor(
    "the hung pod restarted by liveness and Ready again",
    async () => {
      const s = await status(rt);
      const p = s.pods.find((x) => x.name === victim.name);
      return p && p.restarts >= 1 && p.ready && p.pid !== pid && s.deployments[0]!.ready === 4 ? p : undefined;
    },
    120_000,
    100,
  );
  // A little more load on the restarted replica, then the count.
  await new Promise((r) => setTimeout(r, 1000));
  const samples = await load.stop();

  const failed = samples.filter((s) => !s.ok);
  assert.equal(failed.length, 0, `failed requests: ${JSON.stringify(failed.slice(0, 5))}`);
  assert.ok(samples.length >= 40, `only ${samples.length} requests were sent`);
  assert.equal(restarted.node, victim.node, "restarted in place (a liveness restart, not a new pod)");

  const events = (await runCli(t, ["events", "--json"], { cwd })).stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Ev);
  const of = (reason: string) => events.filter((e) => e.object === `pod/${victim.name}` && e.reason === reason);
  assert.ok(of("NotReady").length >= 1, "readiness did not take the hung pod out of the Service");
  assert.ok(
    of("Unhealthy").some((e) => /liveness probe failed 3 times; restarting the container/.test(e.message)),
    "liveness did not restart it",
  );
  // The gateway stops sending it work: ejected when a try stalls, or drained once readiness removes it (whichever is first).
  assert.ok(
    events.some((e) => e.object === "gateway/helloworld" && ["EndpointEjected", "EndpointDraining"].includes(e.reason) && e.message.startsWith(victim.name)),
    "the gateway did not take the hung endpoint out",
  );
  // Taken out before it was restarted: NotReady comes before the liveness restart.
  const idx = (pred: (e: Ev) => boolean) => events.findIndex(pred);
  assert.ok(idx((e) => e.object === `pod/${victim.name}` && e.reason === "NotReady") < idx((e) => e.object === `pod/${victim.name}` && e.reason === "Unhealthy"));

  up.child.kill("SIGINT");
  assert.equal((await up.exited).code, 0);
});

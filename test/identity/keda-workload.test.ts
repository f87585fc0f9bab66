// `up edw --identity`: the local autoscaler reads the queue as KEDA does with a TriggerAuthentication whose
// podIdentity.provider is azure-workload — the keda-operator service account's projected token exchanged
// for the identity, then the enforcing front. Without the identity's federated credential for
// system:serviceaccount:kube-system:keda-operator the scaler fails with Entra's AADSTS70021.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Ledger } from "../../src/provisioning/local/ledger.js";
import { runCli, startCli, waitFor } from "../edw/helpers.js";
import { deployedEdw } from "./helpers.js";

const LIVE = ["--rate", "1", "--burst", "0", "--time-scale", "10", "--no-dashboard", "--quiet"];

async function scalerEvents(t: Parameters<typeof runCli>[0], root: string, identity: string): Promise<{ failed: string[]; notes: number }> {
  const up = startCli(t, ["up", "edw", "--identity", identity, ...LIVE], { cwd: root });
  // Several polls of both loops (KEDA's and the HPA's), whatever they find.
  const notes = await waitFor(
    "the autoscaler's notes",
    async () => {
      if (!existsSync(join(root, ".akspilot", "runtime.json"))) return undefined;
      const s = await runCli(t, ["status", "--json"], { cwd: root });
      if (s.code !== 0) return undefined;
      const ev = await runCli(t, ["events"], { cwd: root });
      const polls = ev.stdout.split("\n").filter((l) => /scaledobject\//.test(l)).length;
      return polls >= 4 ? polls : undefined;
    },
    90_000,
    500,
  );
  const ev = await runCli(t, ["events"], { cwd: root });
  up.child.kill("SIGINT");
  const done = await up.exited;
  assert.equal(done.code, 0, done.stderr);
  return { failed: ev.stdout.split("\n").filter((l) => /KEDAScalerFailed/.test(l)), notes };
}

test("KEDA's queue reads go through the front as the TriggerAuthentication's workload identity", { timeout: 240_000 }, async (t) => {
  const { root, workload } = await deployedEdw(t);
  const ok = await scalerEvents(t, root, workload.name);
  assert.deepEqual(ok.failed, []);

  const ledger = Ledger.open(root);
  for (const [id, e] of ledger.all()) if (e.kind === "federatedCredential" && String(e.props.subject) === "system:serviceaccount:kube-system:keda-operator") ledger.delete(id);
  const refused = await scalerEvents(t, root, workload.name);
  assert.ok(refused.failed.length > 0, "the scaler read without its federated credential");
  assert.match(
    refused.failed[0]!,
    /azure-queue scaler \(TriggerAuthentication azure-workload\): .*AADSTS70021: No matching federated identity record found for presented assertion\..*system:serviceaccount:kube-system:keda/,
  );
});

// `akspilot load N` against a real `up edw`: with --identity the messages are sent as the producer's workload
// identity (its projected token, the local token service, the enforcing front), so they land and are drained
// while its role holds, and are refused with Azure's 403 — in one line naming the missing role and the fix —
// once it does not. Without --identity the run sends them with its storage access, as before.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Ledger } from "../../src/provisioning/local/ledger.js";
import type { ClusterEvent } from "../../src/local/cluster/events.js";
import type { StatusV1 } from "../../src/local/status.js";
import { type CliRun, markedProcs, newMarker, runCli, startCli, stderrLines, tempDir, waitFor } from "../edw/helpers.js";
import { type AfterHost, deployedEdw } from "./helpers.js";

/** Runs at time scale 20: the consumer is up (and `load` accepted) without seconds of simulated provisioning and image pull. */
const FAST = ["--time-scale", "20"];

/** `akspilot load …` once the run is sending (a load asked for while the consumers still start is refused). */
function loadOnceSending(t: AfterHost, cwd: string, args: string[]): Promise<CliRun> {
  return waitFor(
    "the run to accept a load",
    async () => {
      const r = await runCli(t, ["load", ...args], { cwd });
      return /not sending yet|no running `akspilot up`/.test(r.stderr) ? undefined : r;
    },
    90_000,
    250,
  );
}

async function statusJson(t: AfterHost, cwd: string): Promise<StatusV1> {
  const r = await runCli(t, ["status", "--json"], { cwd });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StatusV1;
}

async function loadEvents(t: AfterHost, cwd: string): Promise<ClusterEvent[]> {
  const r = await runCli(t, ["events", "--json"], { cwd });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as ClusterEvent)
    .filter((e) => e.reason.startsWith("LoadBurst"));
}

test("under --identity, load sends as the producer's workload identity: drained while its role holds, refused with 403 and the fix once removed", {
  timeout: 240_000,
}, async (t) => {
  const { root, workload, producer } = await deployedEdw(t);
  const marker = newMarker();
  // The run's own producer sends nothing (--rate 0 --burst 0): every message comes from `load`.
  const up = startCli(t, ["up", "edw", "--identity", workload.name, "--replicas", "1", "--rate", "0", "--burst", "0", "--work-ms", "0", "--quiet", "--json", ...FAST], {
    cwd: root,
    marker,
  });

  const sent = await loadOnceSending(t, root, ["30"]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(
    sent.stdout,
    new RegExp(
      `^30 message\\(s\\) sent to queue aws2azmsgs as the workload identity ${producer.name} of aqs-demo/aqs-producer-service-account \\(COUNT 1000000001…1000000030\\)\\n$`,
    ),
  );
  // Drained by the consumer (itself through the front as the workload identity).
  await waitFor(
    "the loaded messages drained",
    async () => {
      const s = await statusJson(t, root);
      const processed = s.pods.reduce((a, p) => a + p.processed, 0);
      return s.queueDepth === 0 && processed >= 30 ? s : undefined;
    },
    90_000,
    500,
  );

  // The producer's Message Sender role removed while the run goes on: the front refuses its next send.
  const ledger = Ledger.open(root);
  let removed = 0;
  for (const [id, e] of ledger.all()) {
    if (e.kind === "roleAssignment" && String(e.props.principalId) === producer.principalId) {
      ledger.delete(id);
      removed++;
    }
  }
  assert.equal(removed, 1);
  const refused = await runCli(t, ["load", "20"], { cwd: root });
  assert.equal(refused.code, 2, refused.stderr);
  assert.equal(refused.stdout, "");
  const lines = stderrLines(refused);
  assert.equal(lines.length, 1, refused.stderr);
  const line = lines[0]!;
  assert.match(
    line,
    new RegExp(
      `^akspilot: load: 0 of 20 message\\(s\\) sent before storage refused the producer's workload identity ${producer.name} \\(aqs-demo/aqs-producer-service-account\\): 403 AuthorizationPermissionMismatch: This request is not authorized to perform this operation using this permission\\.`,
    ),
  );
  assert.match(line, /missing role Storage Queue Data Message Sender on queue aws2azmsgs/);
  assert.match(
    line,
    new RegExp(
      `fix: az role assignment create --assignee-object-id ${producer.principalId} --assignee-principal-type ServicePrincipal --role "Storage Queue Data Message Sender" --scope /subscriptions/[\\w-]+/resourceGroups/[\\w-]+/providers/Microsoft\\.Storage/storageAccounts/\\w+/queueServices/default/queues/aws2azmsgs$`,
    ),
  );
  assert.doesNotMatch(refused.stderr, /\n\s+at |eyJ/);
  // The same line is the burst's event; nothing of it reached the queue.
  const events = await loadEvents(t, root);
  const done = events.filter((e) => e.reason === "LoadBurstDone");
  assert.deepEqual(
    done.map((e) => e.type),
    ["Normal", "Warning"],
  );
  assert.equal(`akspilot: load: ${done[1]!.message}`, line);
  assert.match(events.find((e) => e.reason === "LoadBurst")!.message, new RegExp(`as the workload identity ${producer.name} of aqs-demo/aqs-producer-service-account`));
  assert.equal((await statusJson(t, root)).queueDepth, 0);

  up.child.kill("SIGINT");
  const end = await up.exited;
  assert.equal(end.code, 0, end.stderr);
  const report = JSON.parse(end.stdout) as { sent: number; processed: number; lost: number; duplicates: number; inQueue: number };
  assert.deepEqual([report.sent, report.processed, report.lost, report.duplicates, report.inQueue], [30, 30, 0, 0, 0]);
  assert.deepEqual(markedProcs(marker), []);
});

test("without --identity, load sends with the run's storage access and waits for the outcome; bad counts are one line", { timeout: 120_000 }, async (t) => {
  const root = tempDir(t, "akspilot-load-plain-");
  const up = startCli(t, ["up", "edw", "--replicas", "1", "--rate", "0", "--burst", "0", "--work-ms", "0", "--quiet", "--json", ...FAST], { cwd: root });
  const sent = await loadOnceSending(t, root, ["10"]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal(sent.stdout, "10 message(s) sent to queue aws2azmsgs (COUNT 1000000001…1000000010)\n");
  const queued = await runCli(t, ["load", "5", "--no-wait"], { cwd: root });
  assert.equal(queued.code, 0, queued.stderr);
  assert.match(queued.stdout, /^5 message\(s\) accepted for queue aws2azmsgs \(COUNT 1000000011…1000000015\): the outcome will be a LoadBurstDone event/);
  for (const [args, why] of [
    [["0"], /<n> must be from 1 to 100000, got 0/],
    [["100001"], /<n> must be from 1 to 100000, got 100001/],
    [["5", "--rate", "3"], /--rate applies with --requests/],
  ] as const) {
    const bad = await runCli(t, ["load", ...args], { cwd: root });
    assert.equal(bad.code, 2, `${args.join(" ")}: ${bad.stderr}`);
    assert.equal(stderrLines(bad).length, 1, bad.stderr);
    assert.match(bad.stderr, why);
  }
  // A gateway-less run says so for requests.
  const requests = await runCli(t, ["load", "5", "--requests"], { cwd: root });
  assert.equal(requests.code, 2, requests.stderr);
  assert.match(requests.stderr, /has no gateway to send requests to/);
  await waitFor(
    "both bursts drained",
    async () => {
      const s = await statusJson(t, root);
      return s.queueDepth === 0 && s.pods.reduce((a, p) => a + p.processed, 0) >= 15 ? true : undefined;
    },
    60_000,
    250,
  );
  up.child.kill("SIGINT");
  const end = await up.exited;
  assert.equal(end.code, 0, end.stderr);
  const report = JSON.parse(end.stdout) as { sent: number; processed: number; lost: number };
  assert.deepEqual([report.sent, report.processed, report.lost], [15, 15, 0]);
});

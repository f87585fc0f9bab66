// Storage that accepts connections and never answers: every command ends in one line within its deadline,
// and a signal ends `produce` at once even while a storage call hangs.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { startAzurite, connectionStringFor, type AzuriteHandle } from "../../src/process/azurite.js";
import { newMarker, queueDepth, resetStorage, startCli, storageFor, stderrLines, tempDir, waitFor, waitNoneMarked, type CliRun } from "./helpers.js";

interface AfterHost {
  after: (fn: () => void | Promise<void>) => void;
}

/** A loopback listener that accepts every connection and never writes a byte. */
async function silentListener(t: AfterHost): Promise<{ connectionString: string; endpoint: string; connections: () => number }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on("error", () => undefined);
    s.resume(); // read and ignore the request
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/devstoreaccount1`;
  return { connectionString: connectionStringFor({ blob: endpoint, queue: endpoint, table: endpoint }), endpoint, connections: () => connections };
}

/** Resolves with the run, or rejects if it has not ended within `boundMs` (a bound, not a timing claim). */
async function endsWithin(exited: Promise<CliRun>, boundMs: number, what: string): Promise<CliRun> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still running after ${boundMs} ms`)), boundMs);
  });
  try {
    return await Promise.race([exited, bound]);
  } finally {
    clearTimeout(timer);
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("storage that never answers", () => {
  for (const args of [
    ["produce", "--count", "1"],
    ["poison", "list"],
    ["poison", "replay"],
    ["up", "edw", "--messages", "5", "--exit-when-drained", "--json"],
  ]) {
    it(`${args.join(" ")}: one line naming the endpoint and the limit, exit 2, nothing left running`, async (t) => {
      const silent = await silentListener(t);
      const marker = newMarker();
      const run = startCli(t, args, {
        cwd: tempDir(t),
        marker,
        env: { AZURE_STORAGE_CONNECTION_STRING: silent.connectionString, AKSPILOT_STORAGE_TIMEOUT_MS: "1500" },
      });
      // Far above the 1.5 s limit: only a missing deadline reaches it.
      const r = await endsWithin(run.exited, 60_000, args.join(" "));
      assert.ok(silent.connections() > 0, "the command never connected to the listener");
      assert.equal(r.code, 2, r.stderr);
      const lines = stderrLines(r);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, new RegExp(`storage at ${escapeRegExp(silent.endpoint)} .*did not answer within 1\\.5 s — `));
      assert.doesNotMatch(r.stderr, / {4}at /, "stack trace");
      assert.equal(r.stdout, "");
      assert.deepEqual(await waitNoneMarked(marker, 5000), [], "left running");
    });
  }

  it("SIGTERM ends `produce` while its first storage call hangs: one line, exit 130", async (t) => {
    const silent = await silentListener(t);
    const run = startCli(t, ["produce", "--count", "1"], {
      cwd: tempDir(t),
      env: { AZURE_STORAGE_CONNECTION_STRING: silent.connectionString, AKSPILOT_STORAGE_TIMEOUT_MS: "600000" },
    });
    await waitFor("produce to connect", () => (silent.connections() > 0 ? true : undefined), 30_000);
    run.child.kill("SIGTERM");
    const r = await endsWithin(run.exited, 30_000, "produce after SIGTERM");
    assert.equal(r.signal, null, "ended by the signal's default action, not by its own handler");
    assert.equal(r.code, 130, r.stderr);
    const lines = stderrLines(r);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /interrupted while waiting for storage at /);
  });
});

describe("storage that stops answering sends", () => {
  let azurite: AzuriteHandle;
  before(async () => {
    azurite = await startAzurite();
  });
  after(async () => {
    await azurite?.stop();
  });

  /** A proxy to Azurite that forwards everything but Put Message, which it holds unanswered. */
  async function holdingSends(t: AfterHost): Promise<{ connectionString: string; held: () => number }> {
    const target = new URL(azurite.endpoints.queue);
    const parked = new Set<http.ServerResponse>();
    const server = http.createServer((req, res) => {
      if (req.method === "POST" && /\/messages(\?|$)/.test(req.url ?? "")) {
        parked.add(res);
        req.resume();
        return;
      }
      const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      up.on("error", () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(async () => {
      for (const r of parked) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const q = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/devstoreaccount1`;
    return { connectionString: connectionStringFor({ ...azurite.endpoints, queue: q }), held: () => parked.size };
  }

  it("SIGTERM ends `produce` while sends hang: exit 0, the cut-off sends reported as cancelled, none sent", async (t) => {
    const s = await storageFor(azurite.connectionString);
    await resetStorage(s);
    const proxy = await holdingSends(t);
    const run = startCli(t, ["produce", "--count", "5", "--rate", "0", "--burst", "5", "--json"], {
      cwd: tempDir(t),
      env: { AZURE_STORAGE_CONNECTION_STRING: proxy.connectionString },
    });
    await waitFor("sends to be held", () => (proxy.held() === 5 ? true : undefined), 30_000);
    run.child.kill("SIGTERM");
    // Well under one 30 s try: the stop must not wait for the hanging sends.
    const r = await endsWithin(run.exited, 20_000, "produce after SIGTERM");
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim()) as { sent: number; failed: number; cancelled: number };
    assert.deepEqual({ sent: report.sent, failed: report.failed, cancelled: report.cancelled }, { sent: 0, failed: 0, cancelled: 5 });
    assert.equal(await queueDepth(s.queue), 0);
  });
});

// Faults during a run, with real consumer processes against real Azurite: replicas killed with SIGKILL
// at random, storage itself killed and restarted on its data directory, storage made slow and failing
// by a loopback proxy, and one message in ten malformed. Every time: each valid message stored exactly
// once (0 lost, 0 duplicate rows), every malformed one in the poison queue with its reason.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildMessage, messageIndex } from "../../src/apps/message.js";
import { parsePoisonRecord } from "../../src/apps/consumer/poison.js";
import type { ProcessedEntity } from "../../src/apps/consumer/entity.js";
import { queueDepth, receiveAll, startConsumer, waitFor, type ConsumerProcess } from "../edw/helpers.js";
import { persisted, seedStorage, seededRandom, startStorage, type AfterHost, type SeedStorage } from "./helpers.js";

/**
 * Short visibility so that what a lost answer held (a reset connection) comes back within the test and the
 * drain does not wait long for it; quick idle polling. Renewed every half of it, so work is not handed out twice.
 */
const CONSUMER_ARGS = ["--visibility-timeout", "8", "--idle-max-ms", "500"];
/**
 * Where replicas die or storage forgets (healthy storage otherwise): what was held comes back sooner. Still
 * longer than one round of the kill loop (a 2–4 s pause and a replacement's start), so a kill of a replica
 * holding messages keeps the queue busy until the next kill. A live replica renews its messages every half
 * of the timeout, so slow work is not handed out twice. (5 s with a 1–2 s pause made the kill run slower on a
 * loaded 2-core machine, not faster: BENCHMARKS.md, "Test suite".)
 */
const LOST_HOLDS_ARGS = ["--visibility-timeout", "8", "--idle-max-ms", "500"];

async function fillQueue(s: SeedStorage, bodies: string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) await s.queue.sendMessage(bodies[next++]!);
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

async function consumers(t: AfterHost, cs: string, s: SeedStorage, n: number, args = CONSUMER_ARGS): Promise<ConsumerProcess[]> {
  return Promise.all(Array.from({ length: n }, () => startConsumer(t, cs, args, { ...s.env, AKSPILOT_SKIP_ENSURE: "1" })));
}

/** How often each COUNT index is stored in the table. */
async function storedCounts(s: SeedStorage): Promise<Map<number, number>> {
  const m = new Map<number, number>();
  for await (const e of s.table.listEntities<ProcessedEntity>()) {
    const i = messageIndex(String(e.data));
    if (i !== undefined) m.set(i, (m.get(i) ?? 0) + 1);
  }
  return m;
}

function assertExactlyOnce(counts: Map<number, number>, n: number): void {
  const lost: number[] = [];
  const dup: number[] = [];
  for (let i = 1; i <= n; i++) {
    const c = counts.get(i) ?? 0;
    if (c === 0) lost.push(i);
    if (c > 1) dup.push(i);
  }
  assert.deepEqual({ lost: lost.length, duplicates: dup.length, firstLost: lost.slice(0, 5), firstDup: dup.slice(0, 5) }, { lost: 0, duplicates: 0, firstLost: [], firstDup: [] });
  assert.equal([...counts.keys()].filter((i) => i < 1 || i > n).length, 0, "rows for messages never sent");
}

const range = (n: number) => Array.from({ length: n }, (_, i) => buildMessage(i + 1));

describe("faults during a run: nothing lost, nothing stored twice", () => {
  // 2,000 messages by default (about a minute); AKSPILOT_FAULT_MESSAGES=5000 for the larger run (Azurite slows down
  // sharply with thousands of messages queued on a loaded 2-core machine).
  it("thousands of messages while replicas are killed with SIGKILL every few seconds and replaced", async (t) => {
    const seed = Number(process.env.AKSPILOT_FAULT_SEED ?? Date.now() % 100_000);
    t.diagnostic(`seed ${seed} (AKSPILOT_FAULT_SEED replays the kill order)`);
    const random = seededRandom(seed);
    const storage = await startStorage(t);
    const s = await seedStorage(storage.connectionString);
    const N = Number(process.env.AKSPILOT_FAULT_MESSAGES ?? 2000);
    // Six kills, one every 2–4 s, each of a replica that has been receiving: then the rest drains.
    const KILLS = 6;
    await fillQueue(s, range(N));
    let live = await consumers(t, storage.connectionString, s, 3, LOST_HOLDS_ARGS);
    let kills = 0;
    while (kills < KILLS && (await queueDepth(s.queue)) > 0) {
      await new Promise((r) => setTimeout(r, 2000 + random() * 2000));
      const receiving = [];
      for (const c of live) if ((await c.stats().catch(() => undefined))?.firstReceiveAt !== undefined) receiving.push(c);
      if (receiving.length === 0) continue;
      const victim = receiving[Math.floor(random() * receiving.length)]!;
      const held = (await victim.stats()).inFlight;
      victim.child.kill("SIGKILL");
      await victim.exited;
      kills++;
      t.diagnostic(`kill ${kills}: pid ${victim.pid} holding ${held} messages`);
      live = [...live.filter((c) => c !== victim), ...(await consumers(t, storage.connectionString, s, 1, LOST_HOLDS_ARGS))];
    }
    await waitFor("the queue drained", async () => ((await queueDepth(s.queue)) === 0 ? true : undefined), 300_000, 500);
    assert.ok(kills >= 3, `the run outlasted at least 3 kills (${kills})`);
    assertExactlyOnce(await storedCounts(s), N);
    assert.equal(await queueDepth(s.poison), 0);
  });

  it("storage killed with SIGKILL and restarted on its data directory mid-run: the replicas reconnect by themselves", async (t) => {
    const storage = await startStorage(t, { durable: true });
    const s = await seedStorage(storage.connectionString);
    const N = 1500;
    await fillQueue(s, range(N));
    // Azurite saves its metadata every few seconds: let the enqueued messages reach the disk first.
    await waitFor("the messages saved in Azurite's data directory", () => (persisted(storage.dataDir!, s, N) ? true : undefined), 60_000, 200);
    const live = await consumers(t, storage.connectionString, s, 2, LOST_HOLDS_ARGS);
    await waitFor(
      "a third of the messages processed",
      async () => {
        const st = await Promise.all(live.map((c) => c.stats()));
        return st.reduce((a, x) => a + x.processed, 0) >= N / 3 ? true : undefined;
      },
      120_000,
      50,
    );
    const before = await Promise.all(live.map((c) => c.stats()));
    await storage.crashAndRestart(1500);
    await waitFor("the queue drained after the restart", async () => ((await queueDepth(s.queue)) === 0 ? true : undefined), 180_000, 500);
    const after = await Promise.all(live.map((c) => c.stats()));
    assert.ok(
      live.every((c) => c.child.exitCode === null),
      "the same replicas run: none exited",
    );
    assert.ok(after.reduce((a, x) => a + x.processed, 0) > before.reduce((a, x) => a + x.processed, 0), "they processed after the restart");
    assertExactlyOnce(await storedCounts(s), N);
  });

  it("storage slow and failing (30 ms latency, 5 % connection resets, 10 % 503 Server Busy), then healed", async (t) => {
    const seed = Number(process.env.AKSPILOT_FAULT_SEED ?? Date.now() % 100_000);
    t.diagnostic(`seed ${seed}`);
    const storage = await startStorage(t, { random: seededRandom(seed) });
    const s = await seedStorage(storage.connectionString);
    const N = 1500;
    await fillQueue(s, range(N));
    Object.assign(storage.proxy.rules, { latencyMs: 30, resetRate: 0.05, busyRate: 0.1 });
    const live = await consumers(t, storage.connectionString, s, 2);
    await waitFor(
      "half the messages processed through the faults",
      async () => {
        const st = await Promise.all(live.map((c) => c.stats().catch(() => undefined)));
        return st.reduce((a, x) => a + (x?.processed ?? 0), 0) >= N / 2 ? true : undefined;
      },
      180_000,
      200,
    );
    const injected = { ...storage.proxy.counts };
    Object.assign(storage.proxy.rules, { latencyMs: 0, resetRate: 0, busyRate: 0 });
    await waitFor("the queue drained once healed", async () => ((await queueDepth(s.queue)) === 0 ? true : undefined), 180_000, 500);
    t.diagnostic(`injected: ${injected.reset} resets, ${injected.busy} × 503 over ${injected.forwarded} forwarded requests`);
    assert.ok(injected.reset > 0 && injected.busy > 0, "faults were injected");
    assertExactlyOnce(await storedCounts(s), N);
    assert.equal(await queueDepth(s.poison), 0, "no valid message was poisoned by storage faults");
  });

  it("one message in ten malformed: every valid one stored once, every malformed one in the poison queue with its reason", async (t) => {
    const storage = await startStorage(t);
    const s = await seedStorage(storage.connectionString);
    const N = 1000;
    const kinds = [
      { body: (i: number) => `not json ${i}`, detail: /not JSON/ },
      { body: (i: number) => `{"msg": "Scale Test Message : COUNT ${i}"}`, detail: /"srcStamp" is missing/ },
      { body: (i: number) => `{"msg": "Scale Test Message : COUNT ${i}", "srcStamp": "2024-02-30 10:00:00.000000"}`, detail: /"srcStamp" is not/ },
      { body: (i: number) => `[${i}]`, detail: /not a JSON object/ },
    ];
    const bodies: string[] = [];
    const malformed = new Map<string, RegExp>();
    for (let i = 1; i <= N; i++) {
      if (i % 10 === 0) {
        const k = kinds[(i / 10) % kinds.length]!;
        bodies.push(k.body(i));
        malformed.set(k.body(i), k.detail);
      } else bodies.push(buildMessage(i));
    }
    await fillQueue(s, bodies);
    await consumers(t, storage.connectionString, s, 2);
    await waitFor("the queue drained", async () => ((await queueDepth(s.queue)) === 0 ? true : undefined), 120_000, 500);
    const counts = await storedCounts(s);
    const valid = [...Array(N).keys()].map((i) => i + 1).filter((i) => i % 10 !== 0);
    assert.deepEqual(
      valid.filter((i) => counts.get(i) !== 1),
      [],
      "valid messages not stored exactly once",
    );
    assert.equal([...counts.keys()].filter((i) => i % 10 === 0).length, 0, "a malformed message was stored");
    const poisoned = (await receiveAll(s.poison, 30)).map((p) => parsePoisonRecord(p.text)!);
    assert.equal(poisoned.length, N / 10);
    for (const p of poisoned) {
      assert.equal(p.reason, "Unparseable");
      assert.match(p.detail, malformed.get(p.body) ?? /^$/, `reason for ${JSON.stringify(p.body)}`);
    }
    assert.equal(new Set(poisoned.map((p) => p.body)).size, N / 10, "each malformed message poisoned once");
  });
});

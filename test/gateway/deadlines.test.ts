// The gateway's request deadlines: one timer for all requests, on an injected clock and scheduler.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Deadlines, type Deadline } from "../../src/local/gateway/deadlines.js";

/** A clock and a scheduler that run only when told to: `advance(ms)` fires what is due. */
function fakeTime() {
  let now = 0;
  let pending: { at: number; fn: () => void; cancelled: boolean }[] = [];
  return {
    now: () => now,
    schedule: (fn: () => void, delayMs: number) => {
      const t = { at: now + delayMs, fn, cancelled: false };
      pending.push(t);
      return { cancel: () => void (t.cancelled = true) };
    },
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = pending.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        now = due.at;
        pending = pending.filter((t) => t !== due);
        due.fn();
      }
      now = end;
    },
    get timers() {
      return pending.filter((t) => !t.cancelled).length;
    },
  };
}

function entry(name: string, expired: string[]): Deadline {
  return { expiresAt: 0, prev: undefined, next: undefined, queued: false, expire: () => expired.push(name) };
}

test("deadlines expire in order, at their time, once; removed ones never do; one timer at a time", () => {
  const t = fakeTime();
  const q = new Deadlines(100, t.now, t.schedule);
  const expired: string[] = [];
  const a = entry("a", expired);
  const b = entry("b", expired);
  const c = entry("c", expired);
  q.add(a);
  t.advance(30);
  q.add(b);
  t.advance(30);
  q.add(c);
  assert.equal(t.timers, 1);
  assert.equal(q.size, 3);
  q.remove(b);
  q.remove(b); // twice is harmless
  t.advance(39); // 99 ms after a
  assert.deepEqual(expired, []);
  t.advance(1); // a's 100 ms
  assert.deepEqual(expired, ["a"]);
  assert.equal(a.queued, false);
  t.advance(59); // b would have expired at 130: removed
  assert.deepEqual(expired, ["a"]);
  t.advance(1); // c at 160
  assert.deepEqual(expired, ["a", "c"]);
  assert.equal(q.size, 0);
  assert.equal(t.timers, 0);
});

test("a deadline added again starts over; close stops everything", () => {
  const t = fakeTime();
  const q = new Deadlines(50, t.now, t.schedule);
  const expired: string[] = [];
  const a = entry("a", expired);
  const b = entry("b", expired);
  q.add(a);
  q.add(b);
  t.advance(40);
  q.add(a); // moved to the tail: now due at 90
  t.advance(10);
  assert.deepEqual(expired, ["b"]);
  t.advance(39);
  assert.deepEqual(expired, ["b"]);
  t.advance(1);
  assert.deepEqual(expired, ["b", "a"]);
  q.add(a);
  q.close();
  t.advance(1000);
  assert.deepEqual(expired, ["b", "a"]);
  assert.equal(a.queued, false);
});

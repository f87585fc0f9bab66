import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { createHelloServer, formatNow, helloBody } from "../../src/apps/hello/server.js";

test("hello: time is YYYY-MM-DD hh:mm:ss.<unpadded ms>, as seed 001 prints it", () => {
  assert.equal(formatNow(new Date(2021, 1, 4, 8, 34, 22, 56)), "2021-02-04 08:34:22.56");
  assert.equal(formatNow(new Date(2021, 1, 4, 8, 34, 24, 6)), "2021-02-04 08:34:24.6");
  assert.equal(formatNow(new Date(2021, 11, 31, 23, 5, 9, 924)), "2021-12-31 23:05:09.924");
});

test("hello: GET / returns the seed's exact text as text/html; /healthz answers for probes", async () => {
  const fixed = new Date(2021, 1, 4, 8, 26, 52, 924);
  const server = createHelloServer({ host: "helloworld-745c979464-q54vd", now: () => fixed });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await res.text(), "Hello world! Now is 2021-02-04 08:26:52.924.\nRunning on helloworld-745c979464-q54vd.");
    assert.equal(helloBody(fixed, "h"), "Hello world! Now is 2021-02-04 08:26:52.924.\nRunning on h.");
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/`, { method: "POST" })).status, 405);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

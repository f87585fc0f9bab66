// The memory floor of any consumer in Node.js: receive(32) + delete until the queue is empty with node:http
// alone (keep-alive, an account SAS, no SDK, no TLS). Run as its own process with the pods' V8 flags by
// bench/floor/measure.ts; prints its peak memory as one JSON line.
// Environment: AKSPILOT_FLOOR_QUEUE_URL (the queue's URL), AKSPILOT_FLOOR_SAS (an account SAS query).
import { Agent, request } from "node:http";
import { peakSampler } from "./peak.js";

const queue = new URL(process.env.AKSPILOT_FLOOR_QUEUE_URL!);
const sas = process.env.AKSPILOT_FLOOR_SAS!;
const agent = new Agent({ keepAlive: true, maxSockets: 32 });

function call(method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ agent, host: queue.hostname, port: queue.port, method, path, headers: { "x-ms-version": "2023-11-03" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    r.on("error", reject);
    r.end();
  });
}

const peak = peakSampler();
let handled = 0;
for (;;) {
  const r = await call("GET", `${queue.pathname}/messages?numofmessages=32&visibilitytimeout=60&${sas}`);
  if (r.status !== 200) throw new Error(`receive answered ${r.status}`);
  const got = [...r.body.matchAll(/<MessageId>([^<]+)<\/MessageId>.*?<PopReceipt>([^<]+)<\/PopReceipt>/gs)];
  if (got.length === 0) break;
  await Promise.all(
    got.map(async ([, id, receipt]) => {
      const d = await call("DELETE", `${queue.pathname}/messages/${id}?popreceipt=${encodeURIComponent(receipt!)}&${sas}`);
      if (d.status !== 204) throw new Error(`delete answered ${d.status}: ${d.body.slice(0, 300)}`);
    }),
  );
  handled += got.length;
  peak.sample();
}
agent.destroy();
process.stdout.write(`${JSON.stringify({ handled, ...peak.done() })}\n`);

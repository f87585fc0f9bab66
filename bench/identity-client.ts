// Child of bench/identity.ts: drains a queue with the storage clients the consumer uses (connection
// string, or account + DefaultAzureCredential through the proxy and front), and prints one JSON line.
import { storageClients } from "../src/storage/clients.js";
import { storageFromEnv } from "../src/storage/config.js";

const queueName = process.argv[2]!;
const total = Number(process.argv[3]);
const endpoint = storageFromEnv();
if (!endpoint) throw new Error("no storage in the environment");
const clients = storageClients(endpoint);
const q = clients.queue(queueName);
// One warm-up call: the token exchange (front) or the first connection (direct) is not the throughput.
await q.getProperties();
const callsBefore = clients.counter.calls;
let done = 0;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
async function worker(): Promise<void> {
  while (done < total) {
    const r = await q.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
    if (r.receivedMessageItems.length === 0) {
      if (done >= total) return;
      await new Promise((res) => setTimeout(res, 5));
      continue;
    }
    // A delete retried after a slow first try finds the message gone: that is a success.
    await Promise.all(
      r.receivedMessageItems.map((m) =>
        q.deleteMessage(m.messageId, m.popReceipt).catch((e: { statusCode?: number }) => {
          if (e.statusCode !== 404) throw e;
        }),
      ),
    );
    done += r.receivedMessageItems.length;
  }
}
await Promise.all(Array.from({ length: 8 }, () => worker()));
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const calls = clients.counter.calls - callsBefore;
console.log(JSON.stringify({ messages: done, seconds, perSecond: done / seconds, callsPerMessage: calls / done, calls, cpuUs: cpu.user + cpu.system }));

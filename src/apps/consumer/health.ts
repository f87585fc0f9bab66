import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Consumer } from "./consumer.js";

/**
 * Probe and counter endpoints: /healthz (liveness: the receive loop is alive), /readyz (ready to take
 * work: storage reached, not stopping), /stats (JSON counters), /metrics (Prometheus text).
 */
export async function startHealthServer(consumer: Consumer, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const s = consumer.snapshot();
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    switch (req.url) {
      case "/healthz":
        return send(200, "application/json", JSON.stringify({ status: "ok" }));
      case "/readyz":
        return s.stopping || s.firstReceiveAt === undefined
          ? send(503, "application/json", JSON.stringify({ status: s.stopping ? "stopping" : "starting" }))
          : send(200, "application/json", JSON.stringify({ status: "ready" }));
      case "/stats":
        return send(200, "application/json", JSON.stringify(s));
      case "/metrics": {
        const lines: string[] = [];
        for (const k of ["received", "processed", "failed", "poisoned", "released", "renewed", "storageCalls"] as const) {
          lines.push(`# TYPE akspilot_consumer_${k}_total counter`, `akspilot_consumer_${k}_total ${s[k]}`);
        }
        lines.push("# TYPE akspilot_consumer_in_flight gauge", `akspilot_consumer_in_flight ${s.inFlight}`);
        return send(200, "text/plain; version=0.0.4", lines.join("\n") + "\n");
      }
      default:
        return send(404, "application/json", JSON.stringify({ error: "not found" }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

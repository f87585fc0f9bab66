import { createHelloServer } from "./server.js";

// The seed listens on 0.0.0.0:80; outside a container the default stays on loopback (HOST opts out).
const port = Number(process.env.PORT ?? 80);
const host = process.env.HOST ?? "127.0.0.1";
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`hello: PORT must be a port number, got "${process.env.PORT}"\n`);
  process.exit(2);
}

const server = createHelloServer();
server.on("error", (e: NodeJS.ErrnoException) => {
  const hint = e.code === "EACCES" ? " (ports below 1024 need privileges: set PORT, e.g. PORT=8080)" : "";
  process.stderr.write(`hello: cannot listen on ${host}:${port}: ${e.message}${hint}\n`);
  process.exit(1);
});
server.listen(port, host, () => {
  process.stdout.write(`Running on http://${host}:${port}\n`);
});

// Finish in-flight requests, then exit: the pod's preStop sleep has already let load balancers move on.
process.once("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
process.once("SIGINT", () => server.close(() => process.exit(0)));

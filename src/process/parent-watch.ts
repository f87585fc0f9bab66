// Preloaded (node --import) into every child process akspilot starts. When the parent dies — even by
// SIGKILL — the IPC channel closes and the child stops itself, so no process outlives the tool.
if (typeof process.send === "function") {
  process.on("disconnect", () => {
    // Graceful first (Azurite saves its data, consumers release messages), then certain.
    setTimeout(() => process.exit(0), Number(process.env.AKSPILOT_ORPHAN_GRACE_MS ?? 5000)).unref();
    process.kill(process.pid, "SIGTERM");
  });
  // Watching must not keep the program alive: it still exits on its own when its work is done.
  process.channel?.unref();
}
export {};

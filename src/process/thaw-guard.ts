// A tiny guard process for stopped (SIGSTOP) children: a stopped process cannot notice that its parent
// died, so if the tool is killed while a virtual VM is switched off, this guard wakes those processes
// (SIGCONT) and their own parent watch then stops them. It is told which pids are frozen over IPC.
const frozen = new Set<number>();

function release(): void {
  for (const pid of frozen) {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      /* already gone */
    }
  }
  // Certain, in case a woken process ignores its parent's death.
  setTimeout(
    () => {
      for (const pid of frozen) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      process.exit(0);
    },
    Number(process.env.AKSPILOT_ORPHAN_GRACE_MS ?? 5000) + 1000,
  );
}

process.on("message", (m: { frozen?: number; thawed?: number }) => {
  if (typeof m?.frozen === "number") frozen.add(m.frozen);
  if (typeof m?.thawed === "number") frozen.delete(m.thawed);
});
process.on("disconnect", release);
export {};

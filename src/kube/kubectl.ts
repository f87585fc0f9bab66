import { spawn } from "node:child_process";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl with the given arguments (and stdin); resolves with its exit code, never rejects on failure. */
export type Kubectl = (args: string[], stdin?: string) => Promise<KubectlResult>;

export class KubectlNotFound extends Error {}

/** The real kubectl on PATH. `context` adds `--context` to every call. */
export function systemKubectl(context?: string, bin = "kubectl"): Kubectl {
  return (args, stdin) =>
    new Promise((resolve, reject) => {
      const child = spawn(bin, context ? ["--context", context, ...args] : args, { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("error", (e: NodeJS.ErrnoException) => reject(e.code === "ENOENT" ? new KubectlNotFound(`${bin} not found on PATH`) : e));
      child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.on("error", () => {
        // kubectl may exit before reading stdin (e.g. bad flags); its exit code reports the problem.
      });
      child.stdin.end(stdin ?? "");
    });
}

/** The first meaningful line of kubectl's error output, for one-line messages. */
export function firstLine(text: string): string {
  const line =
    text
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? "";
  return line.length > 240 ? `${line.slice(0, 237)}...` : line;
}

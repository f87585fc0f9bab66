// Peak resident memory of this process, split as the kernel splits it: anonymous pages (heaps, stacks)
// and file pages (the node binary's code and data as far as they were touched, shared libraries).
import { readFileSync } from "node:fs";

export interface Peak {
  /** VmHWM: the kernel's own high-water mark of resident memory. */
  hwmKiB: number;
  /** RssAnon and RssFile at the sample where their sum was largest. */
  anonKiB: number;
  fileKiB: number;
}

const field = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);

export function peakSampler(): { sample(): void; done(): Peak } {
  let anon = 0;
  let file = 0;
  const sample = () => {
    const s = readFileSync("/proc/self/status", "utf8");
    const a = field(s, "RssAnon");
    const f = field(s, "RssFile");
    if (a + f > anon + file) [anon, file] = [a, f];
  };
  const timer = setInterval(sample, 100);
  return {
    sample,
    done() {
      clearInterval(timer);
      sample();
      return { hwmKiB: field(readFileSync("/proc/self/status", "utf8"), "VmHWM"), anonKiB: anon, fileKiB: file };
    },
  };
}

import { UserError } from "../errors.js";

/** Kubernetes CPU quantity ("250m", "0.5", "2") in millicores. */
export function cpuMillis(q: string | number): number {
  const s = String(q).trim();
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(s);
  if (!m) throw new UserError(`"${s}" is not a CPU quantity`, 'use e.g. "250m" or "2"');
  return m[2] === "m" ? Number(m[1]) : Math.round(Number(m[1]) * 1000);
}

const MEM_UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** Kubernetes memory quantity ("64Mi", "1Gi", "500M") in bytes. */
export function memoryBytes(q: string | number): number {
  const s = String(q).trim();
  const m = /^(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(s);
  if (!m) throw new UserError(`"${s}" is not a memory quantity`, 'use e.g. "64Mi" or "1Gi"');
  return Math.round(Number(m[1]) * MEM_UNITS[m[2] ?? ""]!);
}

export interface Resources {
  cpuMillis: number;
  memoryBytes: number;
}

export function resources(r: { cpu: string; memory: string }): Resources {
  return { cpuMillis: cpuMillis(r.cpu), memoryBytes: memoryBytes(r.memory) };
}

/**
 * Differences between what the graph wants and what exists, limited to the properties the graph manages:
 * anything the service adds (ids, defaults, timestamps) is ignored. Returns readable `path: old → new` lines.
 */
export function diffManaged(desired: unknown, actual: unknown, path = ""): string[] {
  if (desired === undefined) return [];
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length) return [`${path || "value"}: ${show(actual)} → ${show(desired)}`];
    return desired.flatMap((d, i) => diffManaged(d, actual[i], `${path}[${i}]`));
  }
  if (typeof desired === "object" && desired !== null) {
    if (typeof actual !== "object" || actual === null) return [`${path || "value"}: ${show(actual)} → ${show(desired)}`];
    return Object.entries(desired).flatMap(([k, v]) => diffManaged(v, (actual as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  const norm = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : v);
  // Azure echoes names and locations in its own casing (westUS3, Standard_lrs); they compare case-insensitively.
  if (norm(desired) === norm(actual)) return [];
  return [`${path || "value"}: ${show(actual)} → ${show(desired)}`];
}

function show(v: unknown): string {
  if (v === undefined) return "(unset)";
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

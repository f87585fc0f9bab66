import { Document, stringify } from "yaml";

// No line folding (long annotations stay on one line) and no anchors for objects that appear twice.
const OPTIONS = { lineWidth: 0, aliasDuplicateObjects: false } as const;

/** The one YAML spelling akspilot uses, so equal objects always print as equal bytes. */
export function toYaml(value: unknown): string {
  return stringify(value, OPTIONS);
}

/** A multi-document stream (`kubectl apply -f` reads it as is). */
export function toYamlStream(values: readonly unknown[], header?: string[]): string {
  const head = header?.length ? header.map((l) => `# ${l}`).join("\n") + "\n" : "";
  return head + values.map((v) => `---\n${toYaml(v)}`).join("");
}

/** YAML with a comment block on top (Helm values files). */
export function toYamlWithHeader(value: unknown, header: string[]): string {
  const doc = new Document(value, OPTIONS);
  doc.commentBefore = header.map((l) => ` ${l}`).join("\n");
  return doc.toString(OPTIONS);
}

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import YAML, { CST, Lexer, isMap, isPair, isScalar, isSeq, type Document } from "yaml";
import { UserError } from "../errors.js";
import { clip } from "./text.js";

/**
 * Limits on what a user hands the tool. Real inputs (a ScaledObject, a NodePool, a values file, a trace)
 * are a few KiB and a dozen levels deep; past these limits parsing costs seconds to minutes of CPU (a
 * 10 MiB map) or overflows the stack (deep nesting) before any check could run.
 */
export const USER_FILE_MAX_BYTES = 1024 * 1024;
export const YAML_MAX_DEPTH = 64;
/** Aliases expanded per document (the `yaml` package's default, stated here so it is not lost). */
const YAML_MAX_ALIASES = 100;

/**
 * Reads a file the user named (`what` says which: `values file`, `trace`, `--scaledobject`). Refuses, in
 * one line naming the file, anything missing, not a regular file or longer than USER_FILE_MAX_BYTES —
 * reading at most one byte past the limit, so a huge file or an endless pipe costs nothing.
 */
export function readUserFile(path: string, what: string): string {
  const shown = clip(path);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new UserError(`cannot read ${what} ${shown}: ${reason(e)}`, "check the path");
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new UserError(`cannot read ${what} ${shown}: is a directory`, "pass the path of a file");
    if (st.size > USER_FILE_MAX_BYTES) throw tooLarge(`${what} ${shown}`, st.size);
    const buf = Buffer.alloc(USER_FILE_MAX_BYTES + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > USER_FILE_MAX_BYTES) throw tooLarge(`${what} ${shown}`);
    }
    return buf.toString("utf8", 0, n);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read ${what} ${shown}: ${reason(e)}`, "check the path");
  } finally {
    closeSync(fd);
  }
}

function tooLarge(label: string, size?: number): UserError {
  return new UserError(`${label} is larger than 1 MiB${size !== undefined ? ` (${size} bytes)` : ""}`, "input files are limited to 1 MiB; pass the object itself, not a dump");
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "is a directory";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return code ?? String(e);
}

function tooDeep(source: string): UserError {
  return new UserError(`${source} is nested more than ${YAML_MAX_DEPTH} levels deep`, `input YAML is limited to ${YAML_MAX_DEPTH} levels of nesting`);
}

function invalid(source: string, message: string): UserError {
  return new UserError(`${source} is not valid YAML: ${message.split("\n")[0]}`, "fix the file");
}

/**
 * Bounds the nesting the parser would build, from the token stream (linear, no recursion) before any
 * parsing: flow collections (`[[[[…`) by their brackets, compact block nesting (`- - - - a`, `? ? a`) by
 * the indicators on one line. Block nesting by indentation needs n² bytes for n levels, so within the
 * size limit it stays shallow enough to parse, and the parsed document is measured exactly.
 */
function preScan(text: string, source: string): void {
  let flow = 0;
  let indicators = 0;
  for (const token of new Lexer().lex(text)) {
    switch (CST.tokenType(token)) {
      case "flow-seq-start":
      case "flow-map-start":
        if (++flow > YAML_MAX_DEPTH) throw tooDeep(source);
        break;
      case "flow-seq-end":
      case "flow-map-end":
        flow = Math.max(0, flow - 1);
        break;
      case "seq-item-ind":
      case "explicit-key-ind":
      case "map-value-ind":
        if (++indicators > YAML_MAX_DEPTH) throw tooDeep(source);
        break;
      case "newline":
      case "doc-start":
        indicators = 0;
        break;
      default:
        break;
    }
  }
}

/**
 * Walks a parsed document without recursion: nesting depth, and duplicate keys (checked here in linear
 * time; the parser's own check is quadratic in the number of keys of a map).
 */
function checkDocument(doc: Document, source: string): void {
  const stack: Array<{ node: unknown; depth: number }> = [{ node: doc.contents, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (isMap(node)) {
      if (depth > YAML_MAX_DEPTH) throw tooDeep(source);
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          const k = String(pair.key.value);
          if (seen.has(k)) throw invalid(source, `key "${clip(k)}" appears twice in one mapping`);
          seen.add(k);
        } else if (pair.key) stack.push({ node: pair.key, depth: depth + 1 });
        stack.push({ node: pair.value, depth: depth + 1 });
      }
    } else if (isSeq(node)) {
      if (depth > YAML_MAX_DEPTH) throw tooDeep(source);
      for (const item of node.items) stack.push({ node: isPair(item) ? item.value : item, depth: depth + 1 });
    }
  }
}

/** Every document of a user's YAML text, as plain data; `source` names it in errors. */
export function parseUserYamlDocuments(text: string, source: string): unknown[] {
  if (text.length > USER_FILE_MAX_BYTES) throw tooLarge(source);
  preScan(text, source);
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: false });
  const out: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw invalid(source, doc.errors[0]!.message);
    checkDocument(doc, source);
    try {
      out.push(doc.toJS({ maxAliasCount: YAML_MAX_ALIASES }));
    } catch (e) {
      throw invalid(source, (e as Error).message);
    }
  }
  return out;
}

/** A user's single-document YAML text as plain data (undefined when empty). */
export function parseUserYaml(text: string, source: string): unknown {
  const docs = parseUserYamlDocuments(text, source);
  if (docs.length > 1) throw invalid(source, "expected one document, found several (---)");
  return docs[0];
}

#!/usr/bin/env node
// Bundles the pod programs into single files: a pod then starts in about half the time and memory
// of loading hundreds of SDK modules one by one. @azure/identity stays external: it is loaded only
// when storage is reached with Entra ID, never for connection strings.
import { readFile } from "node:fs/promises";
import { build } from "esbuild";

/**
 * @azure/storage-common carries a CRC64 hasher (an Emscripten module, 111 kB of source with its WebAssembly
 * inline) for blob transfers. The queue SDK re-exports the package but never hashes: without this stub every
 * pod parses and keeps it. If it were ever called, the stub fails loudly instead of hashing wrongly.
 */
const noCrc64 = {
  name: "no-crc64",
  setup(b) {
    b.onLoad({ filter: /@azure[\\/]storage-common[\\/]dist[\\/]esm[\\/]crc64\.js$/ }, () => ({
      contents: "export default function NativeCRC64() { return Promise.reject(new Error('CRC64 is not part of this bundle')); }",
      loader: "js",
    }));
  },
};

/**
 * The HTTP pipeline asks every request whether its body is a FormData: `typeof FormData` reads Node.js's global
 * getter, and on Node.js 20 the first read compiles all of undici (the fetch implementation, which storage calls
 * never use) just before a pod's first receive: ~50 ms on an idle machine, and its code stays in memory. A body
 * that is a FormData says so by its tag, and asking that loads nothing. The build fails if the SDK's check changes.
 */
const FORM_DATA_CHECK = 'typeof FormData !== "undefined" && body instanceof FormData';
const noFormDataGlobal = {
  name: "no-form-data-global",
  setup(b) {
    b.onLoad({ filter: /@typespec[\\/]ts-http-runtime[\\/]dist[\\/]esm[\\/]formData\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      if (!source.includes(FORM_DATA_CHECK)) throw new Error(`${args.path}: the FormData check changed; review the no-form-data-global plugin`);
      return { contents: source.replace(FORM_DATA_CHECK, 'Object.prototype.toString.call(body) === "[object FormData]"'), loader: "js" };
    });
  },
};

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  external: ["@azure/identity"],
  minifySyntax: true,
  legalComments: "none",
  logLevel: "warning",
  plugins: [noCrc64, noFormDataGlobal],
};

// The producer, and the code only some runs load (the local RBAC guard), in chunks of their own.
await build({
  ...common,
  entryPoints: { producer: "dist/src/apps/producer/main.js" },
  outdir: "dist/bundle",
  outExtension: { ".js": ".mjs" },
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  format: "esm",
  // Some dependencies are CommonJS and call require().
  banner: { js: "import { createRequire as __akspilotRequire } from 'node:module'; const require = __akspilotRequire(import.meta.url);" },
});

// The consumer is one CommonJS file, so that src/process/code-cache.ts can compile it with V8's code cache
// (Node.js 20 has no compile cache for ES modules). import() of @azure/identity becomes require(): a script
// compiled by node:vm has no loader for import().
await build({
  ...common,
  entryPoints: { "consumer-main": "dist/src/apps/consumer/main.js" },
  outdir: "dist/bundle",
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  supported: { "dynamic-import": false },
});

// What a pod runs: the small loader that runs consumer-main.cjs through the code cache.
await build({
  ...common,
  entryPoints: { consumer: "dist/src/apps/consumer/pod.js" },
  outdir: "dist/bundle",
  outExtension: { ".js": ".mjs" },
  format: "esm",
  external: ["./consumer-main.cjs"],
});

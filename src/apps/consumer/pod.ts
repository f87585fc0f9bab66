// The consumer as a pod starts it (dist/bundle/consumer.mjs): the program itself is the CommonJS bundle beside
// this file, run through V8's code cache in the directory the local runtime names (none on AKS: compiled as before).
import { fileURLToPath } from "node:url";
import { runWithCodeCache } from "../../process/code-cache.js";

runWithCodeCache(fileURLToPath(new URL("./consumer-main.cjs", import.meta.url)), process.env.AKSPILOT_COMPILE_CACHE_DIR || undefined);

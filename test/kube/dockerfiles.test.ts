import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { test } from "node:test";
import { DOCKERFILES } from "../../src/kube/images.js";

// No container engine runs on the development machines, so the Dockerfiles' structure is checked, not a build.
const ENTRYPOINTS: Record<string, string> = {
  consumer: "dist/src/apps/consumer/main.js",
  producer: "dist/src/apps/producer/main.js",
  hello: "dist/src/apps/hello/main.js",
};

for (const [program, entry] of Object.entries(ENTRYPOINTS)) {
  test(`Dockerfile (${program}): multi-stage, compiled with tsc, production modules only, non-root, right entrypoint`, () => {
    const path = DOCKERFILES[program as keyof typeof DOCKERFILES]!;
    assert.equal(path, `images/${program}/Dockerfile`);
    const text = readFileSync(resolve(process.cwd(), path), "utf8");
    const lines = text.split("\n").filter((l) => l.trim() && !l.trimStart().startsWith("#"));
    const froms = lines.filter((l) => l.startsWith("FROM "));
    assert.ok(froms.length >= 3, "build, deps and runtime stages");
    assert.ok(
      lines.some((l) => /^RUN npm ci\b/.test(l) && !l.includes("--omit=dev")),
      "dev dependencies for the compile",
    );
    assert.ok(lines.some((l) => l === "RUN npx tsc -p ."));
    assert.ok(
      lines.some((l) => /^RUN npm ci .*--omit=dev/.test(l)),
      "a production-only install",
    );
    const runtime = lines.slice(lines.lastIndexOf(froms[froms.length - 1]!));
    assert.ok(
      runtime.some((l) => l.startsWith("COPY --from=build") && l.includes("dist")),
      "runtime copies the compiled code",
    );
    assert.ok(
      runtime.some((l) => l.startsWith("COPY --from=deps") && l.includes("node_modules")),
      "runtime copies production modules",
    );
    assert.ok(!runtime.some((l) => /^RUN npm (ci|install)/.test(l)), "no install in the runtime stage");
    const user = runtime.filter((l) => l.startsWith("USER ")).pop();
    assert.match(user ?? "", /^USER [1-9]\d*(:\d+)?$/, "numeric non-root user, so runAsNonRoot can be verified");
    assert.equal(runtime[runtime.length - 1], `CMD ["node", "${entry}"]`);
  });
}

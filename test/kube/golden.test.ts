import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { ALL_BLUEPRINTS, render, sourcePath } from "./helpers.js";

// Golden files are reviewed by eye once; regenerate with UPDATE_GOLDEN=1 after an intended change.
const update = process.env.UPDATE_GOLDEN === "1";

for (const name of ALL_BLUEPRINTS) {
  test(`golden: every file of ${name} matches test/kube/golden`, () => {
    const rendered = render(name);
    assert.deepEqual(rendered.missing, [], "the fixture values set everything the blueprint needs");
    for (const file of rendered.files) {
      const path = sourcePath("golden", file.name);
      if (update) {
        mkdirSync(sourcePath("golden"), { recursive: true });
        writeFileSync(path, file.text);
        continue;
      }
      const expected = readFileSync(path, "utf8");
      assert.equal(file.text, expected, `${file.name} differs from its golden file (UPDATE_GOLDEN=1 to accept)`);
    }
  });
}

test("golden: Azure China uses the China registry and cloud names", () => {
  const rendered = render("edw", undefined, "AzureChinaCloud");
  const text = rendered.files[0]!.text;
  assert.match(text, /image: acraksdemo1a2b3c\.azurecr\.cn\/aws2azure\/aqs-consumer:1\.0\.0/);
  assert.match(text, /cloud: AzureChinaCloud/);
  assert.doesNotMatch(text, /azurecr\.io/);
  const agic = render("bluegreen", undefined, "AzureChinaCloud").files.find((f) => f.name === "agic-values-blue.yaml")!;
  assert.match(agic.text, /environment: AZURECHINACLOUD/);
});

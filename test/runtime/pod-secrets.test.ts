// How the local kubelet gives a pod a Secret: variables from secretKeyRef resolved once at container
// creation (CreateContainerConfigError while the Secret or key is missing), secret volumes mounted first
// (ContainerCreating with FailedMount) and rewritten atomically on the kubelet's sync period (injected clock).
import { test } from "node:test";
import assert from "node:assert/strict";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerConfig, isWaiting, SecretVolumeDir, SecretVolumeSync, type SecretEnvRef, type SecretVolumeRef } from "../../src/local/cluster/secrets.js";

const ENV: SecretEnvRef[] = [{ name: "AZURE_STORAGE_ACCOUNT_NAME", secretName: "creds", key: "name" }];
const VOL: SecretVolumeRef = { name: "creds-vol", secretName: "creds", mountPath: "/opt/secrets", items: ["name"] };

function dir(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), "akspilot-secret-vol-"));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test("container config: what the kubelet says for each missing piece, in its order (volumes, then env)", () => {
  const cases: Array<{ what: string; secrets: Record<string, Record<string, string>>; refs: { env: SecretEnvRef[]; volumes: SecretVolumeRef[] }; want: string }> = [
    { what: "env, no Secret", secrets: {}, refs: { env: ENV, volumes: [] }, want: 'CreateContainerConfigError: secret "creds" not found' },
    {
      what: "env, no key",
      secrets: { creds: { other: "x" } },
      refs: { env: ENV, volumes: [] },
      want: "CreateContainerConfigError: couldn't find key name in Secret ns1/creds",
    },
    {
      what: "volume and env, no Secret",
      secrets: {},
      refs: { env: ENV, volumes: [VOL] },
      want: 'ContainerCreating: MountVolume.SetUp failed for volume "creds-vol" : secret "creds" not found',
    },
    {
      what: "volume item missing",
      secrets: { creds: { other: "x" } },
      refs: { env: [], volumes: [VOL] },
      want: 'ContainerCreating: MountVolume.SetUp failed for volume "creds-vol" : couldn\'t find key name in Secret ns1/creds',
    },
    { what: "optional env, no Secret", secrets: {}, refs: { env: [{ ...ENV[0]!, optional: true }], volumes: [] }, want: "ok {}" },
    { what: "everything there", secrets: { creds: { name: "acct", key: "k" } }, refs: { env: ENV, volumes: [VOL] }, want: 'ok {"AZURE_STORAGE_ACCOUNT_NAME":"acct"}' },
  ];
  for (const c of cases) {
    const r = containerConfig("ns1", c.refs, (n) => c.secrets[n]);
    const got = isWaiting(r) ? `${r.reason}: ${r.message}` : `ok ${JSON.stringify(r.env)}`;
    assert.equal(got, c.want, c.what);
    if (isWaiting(r)) assert.equal(r.event.reason, r.reason === "ContainerCreating" ? "FailedMount" : "Failed", c.what);
  }
  // Only the selected items are in the volume: the account key is not mounted.
  const ok = containerConfig("ns1", { env: [], volumes: [VOL] }, () => ({ name: "acct", key: "k" }));
  assert.ok(!isWaiting(ok));
  assert.deepEqual(ok.volumes.get("creds-vol"), { name: "acct" });
});

test("secret volume: atomic ..data swap, owner-only, keys that go are removed", (t) => {
  const d = join(dir(t), "vol");
  const v = new SecretVolumeDir(d);
  assert.equal(v.write({ a: "1", b: "2" }), true);
  assert.equal(v.write({ b: "2", a: "1" }), false, "same data, no rewrite");
  assert.equal(readFileSync(join(d, "a"), "utf8"), "1");
  assert.equal(readlinkSync(join(d, "a")), join("..data", "a"));
  const first = readlinkSync(join(d, "..data"));
  assert.equal(statSync(d).mode & 0o077, 0);
  assert.equal(statSync(join(d, "a")).mode & 0o077, 0);
  assert.equal(v.write({ a: "3" }), true);
  assert.notEqual(readlinkSync(join(d, "..data")), first);
  assert.equal(readFileSync(join(d, "a"), "utf8"), "3");
  assert.deepEqual(
    readdirSync(d).filter((e) => !e.startsWith("..")),
    ["a"],
  );
  // The previous timestamped directory is gone: one version on disk.
  assert.deepEqual(
    readdirSync(d).filter((e) => e.startsWith("..") && lstatSync(join(d, e)).isDirectory()),
    [readlinkSync(join(d, "..data"))],
  );
  v.remove();
  assert.throws(() => statSync(d));
});

test("kubelet sync: a changed Secret reaches the mounted files on the next period, not before; a gone Secret leaves them", (t) => {
  const secrets: Record<string, Record<string, string>> = { creds: { name: "one" } };
  const updates: string[] = [];
  let now = 1_000_000;
  const sync = new SecretVolumeSync(
    "ns1",
    (n) => secrets[n],
    60_000,
    (v) => updates.push(`${v.pod}@${v.updatedAt}`),
  );
  const d = join(dir(t), "pod-a", "creds-vol");
  const m = sync.mount("pod-a", VOL, d, { name: "one" }, now);
  const read = () => readFileSync(join(d, "name"), "utf8");
  const table: Array<{ at: number; set?: string | null; file: string; changed: boolean }> = [
    { at: 10_000, set: "two", file: "one", changed: false }, // changed in the API, the kubelet has not looked yet
    { at: 59_999, file: "one", changed: false },
    { at: 60_000, file: "two", changed: true }, // its period: the files follow
    { at: 90_000, set: "three", file: "two", changed: false },
    { at: 120_000, file: "three", changed: true },
    { at: 180_000, set: null, file: "three", changed: false }, // the Secret is deleted: files stay
  ];
  const start = now;
  for (const row of table) {
    now = start + row.at;
    if (row.set === null) delete secrets.creds;
    else if (row.set !== undefined) secrets.creds = { name: row.set };
    assert.equal(sync.tick(now), row.changed, `t=${row.at}`);
    assert.equal(read(), row.file, `t=${row.at}`);
  }
  assert.deepEqual(updates, [`pod-a@${start + 60_000}`, `pod-a@${start + 120_000}`]);
  assert.equal(m.syncedAt, start + 180_000);
  sync.unmount("pod-a");
  assert.throws(() => statSync(d));
});

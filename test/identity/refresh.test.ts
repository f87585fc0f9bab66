// A long run outlives its tokens: access tokens expire and are fetched again, the projected token file is
// rewritten before it expires (at 80 % of its life, as the kubelet does), and nothing fails. Lifetimes are
// short and the assertion skew zero; @azure/identity keeps a read assertion up to five minutes, so the
// program's five requests all present the first projected token: its 15 s lifetime outlives them (about
// 7 s, plus the program's start on a loaded machine) while each 2 s access token does not. The rewrite and
// the first token's expiry are waited for, not timed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findCluster } from "../../src/identity/issuer.js";
import { IdentityServices } from "../../src/identity/services.js";
import { waitFor } from "../edw/helpers.js";
import { deployedEdw, getToken } from "./helpers.js";

/** A JWT's expiry (its `exp` claim) in ms since the epoch. */
function expiresAtMs(jwt: string): number {
  return (JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as { exp: number }).exp * 1000;
}

test("tokens refresh during a run: every request gets a token, the projected file changes, no AADSTS700024", { timeout: 120_000 }, async (t) => {
  const { root, workload } = await deployedEdw(t);
  const services = await IdentityServices.start({ root, serviceAccountTokenTtlSeconds: 15, accessTokenTtlSeconds: 2, assertionSkewSeconds: 0 });
  t.after(() => services.stop());
  const env = await services.workloadEnv(findCluster(root), "aqs-demo", "aqs-app-service-account", workload.clientId);
  const first = readFileSync(env.AZURE_FEDERATED_TOKEN_FILE!, "utf8");
  const staleFile = join(root, "stale-token");
  writeFileSync(staleFile, first, { mode: 0o600 });
  // Five access tokens over ~7 s, each expired before the next is asked for.
  const { results } = await getToken(env, "workload", "https://storage.azure.com/.default", 5, 1500);
  for (const r of results) assert.equal(r.ok, true, r.message);
  assert.ok(services.tokens.issued >= 3, `exchanges: ${services.tokens.issued}`);
  // The file is rewritten before the token in it expires (at 80 % of its life: 12 s).
  await waitFor("the projected file rewritten", () => (readFileSync(env.AZURE_FEDERATED_TOKEN_FILE!, "utf8") !== first ? true : undefined), 30_000, 200);
  // The first projected token, never refreshed, is refused once it has expired; the kept-fresh file is not.
  const expired = expiresAtMs(first) + 1000;
  await new Promise((r) => setTimeout(r, Math.max(0, expired - Date.now())));
  const { results: after } = await getToken({ ...env, AZURE_FEDERATED_TOKEN_FILE: staleFile }, "workload", "https://storage.azure.com/.default");
  assert.equal(after[0]!.ok, false);
  assert.match(after[0]!.message!, /AADSTS700024/);
  const { results: fresh } = await getToken(env, "workload", "https://storage.azure.com/.default");
  assert.equal(fresh[0]!.ok, true, fresh[0]!.message);
});

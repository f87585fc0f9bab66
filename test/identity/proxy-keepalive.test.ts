// Our storage clients through HTTPS_PROXY: tunnels are kept alive and shared, so N requests open far fewer
// than N CONNECTs at the real local proxy (the SDK's own proxy agent opens one per request); a NO_PROXY host
// is reached directly; and the proxy-or-not decision is the SDK's own, checked against its proxy policy.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { createPipelineRequest, getDefaultProxySettings, proxyPolicy, type PipelineRequest } from "@azure/core-rest-pipeline";
import { findCluster } from "../../src/identity/issuer.js";
import type { IdentityRecord } from "../../src/identity/records.js";
import type { IdentityServices } from "../../src/identity/services.js";
import { proxyRuleFromEnv, tunnelsThroughProxy } from "../../src/storage/proxy-keepalive.js";
import { deployedEdw, runFixture as runProgram, sharedSetUp, startStorageFront } from "./helpers.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/storage-clients.js", import.meta.url));

/** The storage-clients fixture as a pod runs it; its figures are its last stdout line. */
async function runFixture(env: Record<string, string>, args: string[]): Promise<Record<string, number>> {
  const { stdout } = await runProgram(FIXTURE, args, env);
  return JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, number>;
}

describe("storage clients keep proxy tunnels alive", () => {
  let root: string;
  let workload: IdentityRecord;
  let services: IdentityServices;
  let account: string;

  sharedSetUp(async (host) => {
    ({ root, workload } = await deployedEdw(host));
    ({ services, account } = await startStorageFront(host, root, { tables: ["aws2azpmts"], services: { proxy: true } }));
  });

  const podEnv = async (): Promise<Record<string, string>> => ({
    ...(await services.workloadEnv(findCluster(root), "aqs-demo", "aqs-app-service-account", workload.clientId)),
    AZURE_STORAGE_ACCOUNT_NAME: account,
  });

  it("N queue and table requests through the proxy open fewer tunnels than requests", async () => {
    const before = services.proxy!.counts.intercepted;
    const { calls } = await runFixture(await podEnv(), ["calls", "aws2azmsgs", "aws2azpmts", "10"]);
    const tunnels = services.proxy!.counts.intercepted - before;
    assert.equal(calls, 20);
    // One request at a time: one tunnel per host (queue, table, and the token service), each reused.
    assert.ok(tunnels < calls, `${tunnels} tunnels for ${calls} requests`);
    assert.ok(tunnels <= 3, `${tunnels} tunnels for ${calls} sequential requests to 3 hosts`);
  });

  it("a NO_PROXY host is reached directly, another host through the proxy", async () => {
    // The front's own loopback endpoint: NO_PROXY (127.0.0.1 in a pod's environment) goes around the proxy.
    const url = `${services.storageEndpoint("queue", account)}/aws2azmsgs/messages`;
    const env = await podEnv();
    assert.match(env.NO_PROXY!, /127\.0\.0\.1/);
    const t0 = services.proxy!.counts.tunnelled;
    const direct = await runFixture(env, ["get", url]);
    assert.equal(direct.status, 401, "the front answered (anonymous request)");
    assert.equal(services.proxy!.counts.tunnelled, t0, "no CONNECT for a NO_PROXY host");
    const proxied = await runFixture({ ...env, NO_PROXY: "", no_proxy: "" }, ["get", url]);
    assert.equal(proxied.status, 401);
    assert.equal(services.proxy!.counts.tunnelled, t0 + 1, "without NO_PROXY the same request is tunnelled");
  });
});

describe("the proxy-or-not decision is the SDK's", () => {
  /** Whether the SDK's proxy policy puts its proxy agent on a request to `url`. */
  async function sdkProxies(url: string, proxy: string, noProxy: string[]): Promise<boolean> {
    const policy = proxyPolicy(getDefaultProxySettings(proxy), { customNoProxyList: noProxy });
    let seen: PipelineRequest | undefined;
    await policy.sendRequest(createPipelineRequest({ url }), async (req) => {
      seen = req;
      return { request: req, status: 200, headers: req.headers };
    });
    return seen?.agent !== undefined;
  }

  it("agrees with the SDK's proxy policy on NO_PROXY patterns for HTTPS URLs", async () => {
    const label = fc.constantFrom("a", "b", "queue", "core", "windows", "net", "x-1");
    const hostname = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join("."));
    const pattern = fc.oneof(
      hostname,
      hostname.map((h) => `.${h}`),
      fc.constant("*"),
      fc.constant(" a.b "),
    );
    await fc.assert(
      fc.asyncProperty(hostname, fc.array(pattern, { maxLength: 4 }), async (h, patterns) => {
        const proxy = "http://127.0.0.1:3128";
        const rule = proxyRuleFromEnv({ HTTPS_PROXY: proxy, NO_PROXY: patterns.join(",") })!;
        const url = `https://${h}/q`;
        assert.equal(tunnelsThroughProxy(url, rule), await sdkProxies(url, proxy, rule.noProxy), `${url} NO_PROXY=${patterns.join(",")}`);
      }),
      { numRuns: 300 },
    );
  });

  it("reads the proxy as the SDK does: HTTPS_PROXY, else ALL_PROXY, else HTTP_PROXY, upper case first; none without", () => {
    assert.equal(proxyRuleFromEnv({}), undefined);
    assert.equal(proxyRuleFromEnv({ https_proxy: "http://p:1" })!.proxyUrl.href, "http://p:1/");
    assert.equal(proxyRuleFromEnv({ HTTPS_PROXY: "http://u:1", https_proxy: "http://l:1" })!.proxyUrl.host, "u:1");
    assert.equal(proxyRuleFromEnv({ ALL_PROXY: "http://a:1", HTTP_PROXY: "http://h:1" })!.proxyUrl.host, "a:1");
    assert.equal(proxyRuleFromEnv({ HTTP_PROXY: "http://h:1" })!.proxyUrl.host, "h:1");
    assert.deepEqual(proxyRuleFromEnv({ HTTPS_PROXY: "http://p:1", no_proxy: " .x.net , ,y " })!.noProxy, [".x.net", "y"]);
    // Plain HTTP is left to the SDK's own agent.
    assert.equal(tunnelsThroughProxy("http://devstoreaccount1.queue.core.windows.net/q", proxyRuleFromEnv({ HTTPS_PROXY: "http://p:1" })!), false);
  });
});

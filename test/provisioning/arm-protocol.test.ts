import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deploy, destroy, plan, type ProvisionOptions } from "../../src/provisioning/engine.js";
import { AzureProvider } from "../../src/provisioning/azure/provider.js";
import { UserError } from "../../src/errors.js";
import { FakeArm, STORAGE_KEY } from "./fake-arm.js";

function setup(blueprint: string, fake = new FakeArm(), extra: Partial<ProvisionOptions> = {}) {
  const root = mkdtempSync(join(tmpdir(), "akspilot-arm-"));
  const lines: string[] = [];
  const opts: ProvisionOptions = {
    blueprint,
    target: "azure",
    root,
    suffix: "t3st01",
    out: (l) => lines.push(l),
    provider: (g) =>
      new AzureProvider({ cloud: g.cloud, subscriptionId: fake.subscriptionId, credential: fake.credentialFor(), httpClient: fake.httpClient, pollMs: 1, replicationDelayMs: 1 }),
    ...extra,
  };
  return { root, lines, opts, fake, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

function allText(root: string, lines: string[]): string {
  const logs = readdirSync(join(root, "logs"))
    .map((f) => readFileSync(join(root, "logs", f), "utf8"))
    .join("\n");
  const state = readdirSync(join(root, ".akspilot", "state"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => readFileSync(join(root, ".akspilot", "state", f), "utf8"))
    .join("\n");
  return `${logs}\n${state}\n${lines.join("\n")}`;
}

describe("protocol: ARM requests of every provisioning step (in-process fake ARM, not Azure)", () => {
  it("protocol: edw deploys in dependency order with api-version, required fields, LRO polling, resource-scoped roles; a re-deploy only reads", async (t) => {
    const { opts, fake, root, lines, cleanup } = setup("edw");
    t.after(cleanup);
    await deploy(opts);
    assert.ok(
      fake.calls.every((c) => c.path.startsWith("/fakeoperations/") || c.apiVersion),
      "every ARM call carries api-version",
    );
    assert.ok(
      fake.calls.every((c) => c.status < 400 || c.status === 404),
      `no rejected request: ${fake.calls
        .filter((c) => c.status >= 400 && c.status !== 404)
        .map((c) => `${c.method} ${c.path} ${c.status}`)
        .join(", ")}`,
    );
    const puts = fake.puts();
    const idx = (re: RegExp) => puts.findIndex((p) => new RegExp(re.source, "i").test(p));
    assert.ok(idx(/resourceGroups\/rg-aksdemo-t3st01$/) === 0, "resource group first");
    assert.ok(idx(/storageAccounts\/storaksdemot3st01$/) < idx(/queues\/aws2azmsgs$/));
    assert.ok(idx(/managedClusters\/aks-aksdemo-t3st01$/) < idx(/federatedIdentityCredentials\/federated-credential-t3st01$/), "federation needs the cluster's OIDC issuer");
    assert.ok(
      fake.calls.some((c) => c.path.startsWith("/fakeoperations/")),
      "long-running operations were polled",
    );
    // Least privilege: every role assignment is scoped to a resource, never the subscription or group.
    const roles = fake.calls.filter((c) => c.method === "PUT" && /roleAssignments/.test(c.path));
    assert.equal(roles.length, 4);
    for (const r of roles) assert.match(r.path, /\/providers\/Microsoft\.(Storage|ContainerRegistry)\/.+\/providers\/Microsoft\.Authorization\/roleAssignments\//);
    assert.ok(
      roles.some((r) => /queues\/aws2azmsgs\/providers/.test(r.path) && JSON.stringify(r.body).includes("974c5e8b-45b9-4653-ba55-5f855dd0fb88")),
      "Queue Data Contributor on the queue",
    );
    assert.ok(
      roles.some((r) => /queues\/aws2azmsgs\/providers/.test(r.path) && JSON.stringify(r.body).includes("c6a89b2d-59bc-44d0-9896-0f6e12d7b80a")),
      "the producer's Queue Data Message Sender on the queue",
    );
    const aks = fake.calls.find((c) => c.method === "PUT" && /managedClusters/.test(c.path))!.body as { properties: Record<string, unknown> };
    const p = aks.properties as {
      agentPoolProfiles: Array<{ name: string; nodeTaints?: string[] }>;
      nodeProvisioningProfile: { mode: string };
      workloadAutoScalerProfile: { keda: { enabled: boolean } };
      oidcIssuerProfile: { enabled: boolean };
      securityProfile: { workloadIdentity: { enabled: boolean } };
    };
    assert.deepEqual(p.agentPoolProfiles.find((x) => x.name === "systempool")?.nodeTaints, ["CriticalAddonsOnly=true:NoSchedule"]);
    assert.equal(p.nodeProvisioningProfile.mode, "Auto");
    assert.equal(p.workloadAutoScalerProfile.keda.enabled, true);
    assert.equal(p.oidcIssuerProfile.enabled, true);
    assert.equal(p.securityProfile.workloadIdentity.enabled, true);

    const putsBefore = fake.puts().length;
    const again = await deploy(opts);
    assert.equal(again.noChanges, true);
    assert.equal(fake.puts().length, putsBefore, "a re-deploy with nothing changed makes no PUT");
    assert.ok(lines.some((l) => /No changes: all 17 resources already match/.test(l)));
    assert.ok(!allText(root, lines).includes(STORAGE_KEY));
  });

  it("protocol: edw with --client-ip denies storage by default and adds the node-subnet rule (service endpoint + VNet rule)", async (t) => {
    const { opts, fake, cleanup } = setup("edw");
    t.after(cleanup);
    await deploy({ ...opts, clientIp: "203.0.113.7" });
    // On the wire the rule set is `properties.networkAcls`.
    const sa = fake.calls.find((c) => c.method === "PUT" && /storageAccounts\/storaksdemot3st01$/.test(c.path))!.body as {
      properties: { networkAcls: { defaultAction: string; ipRules: Array<{ value: string }> } };
    };
    assert.equal(sa.properties.networkAcls.defaultAction, "Deny");
    assert.deepEqual(
      sa.properties.networkAcls.ipRules.map((r) => r.value),
      ["203.0.113.7"],
    );
    const subnetPut = fake.calls.find((c) => c.method === "PUT" && /subnets\/aks-subnet$/.test(c.path))!;
    assert.match(subnetPut.path, /resourceGroups\/MC_rg-aksdemo-t3st01_aks-aksdemo-t3st01_westus3\//);
    assert.deepEqual(
      (subnetPut.body as { properties: { serviceEndpoints: Array<{ service: string }> } }).properties.serviceEndpoints.map((e) => e.service),
      ["Microsoft.Storage"],
    );
    const patch = fake.calls.find((c) => c.method === "PATCH" && /storageAccounts\/storaksdemot3st01$/.test(c.path))!;
    assert.match(JSON.stringify(patch.body), /aks-vnet-1234\/subnets\/aks-subnet/);
    const again = await deploy({ ...opts, clientIp: "203.0.113.7" });
    assert.equal(again.noChanges, true, "rule and endpoint are recognised on the next run");
  });

  it("protocol: airflow-infra imports six images, writes the storage key to Key Vault without showing it, destroys in reverse", async (t) => {
    const { opts, fake, root, lines, cleanup } = setup("airflow-infra");
    t.after(cleanup);
    await deploy(opts);
    const imports = fake.calls.filter((c) => c.method === "POST" && /importImage$/.test(c.path));
    assert.equal(imports.length, 6);
    assert.deepEqual((imports[4]!.body as { targetTags: string[] }).targetTags, ["airflow:2.9.3"]);
    const secretPut = fake.calls.find((c) => c.method === "PUT" && /secrets\/AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY$/.test(c.path))!;
    assert.equal((secretPut.body as { properties: { value: string } }).properties.value, STORAGE_KEY, "the key goes to the vault");
    const vault = fake.calls.find((c) => c.method === "PUT" && /vaults\/airflow-vault-t3st01-kv$/.test(c.path))!.body as {
      properties: { enableRbacAuthorization: boolean; tenantId: string };
    };
    assert.equal(vault.properties.enableRbacAuthorization, false);
    assert.equal(vault.properties.tenantId, "tenant-0000");
    const storage = fake.calls.find((c) => c.method === "PUT" && /storageAccounts\/airflowsasat3st01$/.test(c.path))!.body as { sku: { name: string } };
    assert.equal(storage.sku.name, "Standard_ZRS");
    // Re-deploy: the secret's fingerprint tag matches, so nothing is rewritten.
    const again = await deploy(opts);
    assert.equal(again.noChanges, true);
    await destroy(opts);
    const deletes = fake.calls.filter((c) => c.method === "DELETE").map((c) => c.path);
    assert.match(deletes[deletes.length - 1]!, /resourceGroups\/apache-airflow-rg-t3st01$/i, "the group goes last");
    assert.ok(deletes.findIndex((d) => /roleAssignments/.test(d)) < deletes.findIndex((d) => /managedClusters/.test(d)), "a role goes before the cluster whose identity holds it");
    assert.equal(fake.resources.size, 0, "nothing akspilot created is left");
    assert.ok(!allText(root, lines).includes(STORAGE_KEY), "the storage key is in no log, state or output");
  });

  it("protocol: resilient-web and bluegreen (VNet, public IP, Application Gateway, AGIC switch) deploy and switch", async (t) => {
    const web = setup("resilient-web");
    t.after(web.cleanup);
    await deploy(web.opts);
    assert.ok(web.fake.puts().some((p) => /managedClusters\/aksResilience-t3st01$/.test(p)));
    const fake = new FakeArm();
    const bg = setup("bluegreen", fake);
    t.after(bg.cleanup);
    await deploy(bg.opts);
    const vnet = fake.calls.find((c) => c.method === "PUT" && /virtualNetworks\/AksVnet$/.test(c.path))!.body as {
      properties: { addressSpace: { addressPrefixes: string[] }; subnets: Array<{ name: string; properties: { addressPrefix: string } }> };
    };
    assert.deepEqual(vnet.properties.addressSpace.addressPrefixes, ["10.0.0.0/8"]);
    assert.deepEqual(
      vnet.properties.subnets.map((s) => [s.name, s.properties.addressPrefix]),
      [
        ["AppGwSubnet", "10.1.0.0/16"],
        ["AksSubnet", "10.240.0.0/16"],
        ["AksSubnetGreen", "10.241.0.0/16"],
      ],
    );
    const agic = (name: string) => {
      const c = fake.resources.get(`/subscriptions/${fake.subscriptionId}/resourcegroups/aks_upgrade-t3st01/providers/microsoft.containerservice/managedclusters/${name}`)!;
      return (c.properties as { addonProfiles?: Record<string, { enabled: boolean }> }).addonProfiles?.ingressApplicationGateway?.enabled ?? false;
    };
    assert.equal(agic("aks-blue-t3st01"), true);
    assert.equal(agic("aks-green-t3st01"), false);
    // The switch: AGIC on green first, then off on blue.
    const mark = fake.calls.length;
    const r = await deploy({ ...bg.opts, active: "green" });
    assert.deepEqual(
      r.steps.filter((s) => s.action !== "noop").map((s) => s.id),
      ["switch"],
    );
    const clusterPuts = fake.calls
      .slice(mark)
      .filter((c) => c.method === "PUT" && /managedClusters/.test(c.path))
      .map((c) => c.path.split("/").pop());
    assert.deepEqual(clusterPuts, ["aks-green-t3st01", "aks-blue-t3st01"]);
    assert.equal(agic("aks-green-t3st01"), true);
    assert.equal(agic("aks-blue-t3st01"), false);
    const grants = fake.calls
      .slice(mark)
      .filter((c) => c.method === "PUT" && /roleAssignments/.test(c.path))
      .map((c) => c.path);
    assert.ok(
      grants.some((g) => /applicationGateways\/AppGateway\/providers/.test(g)),
      "the AGIC identity gets Contributor on the gateway only",
    );
  });

  it("protocol: a failed long-running operation stops the deploy with the ARM error made readable, and the next run resumes", async (t) => {
    const { opts, fake, root, cleanup } = setup("edw");
    t.after(cleanup);
    fake.failLro(/managedClusters\/aks-aksdemo-t3st01$/, "QuotaExceeded", "Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota.");
    await assert.rejects(deploy(opts), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(
        e.message,
        /^step cluster \(managedCluster aks-aksdemo-t3st01\) failed: Azure refused to create or update managedCluster aks-aksdemo-t3st01: QuotaExceeded: Operation could not be completed/,
      );
      assert.match(e.message, /accepted, then failed/);
      assert.match(e.message, /request more vCPU quota/);
      assert.match(e.message, /exceeding approved standardDSv5Family Cores quota/);
      assert.doesNotMatch(e.message, /\n|at .*\.js/, "one line, no stack");
      assert.match(e.line(), /re-run `akspilot deploy edw --target azure`/);
      return true;
    });
    const state = JSON.parse(readFileSync(join(root, ".akspilot", "state", "edw.json"), "utf8")) as {
      resources: Record<string, { status: string }>;
      lastRun: { outcome: string; lastStep: string };
    };
    assert.equal(state.resources.storageAccount?.status, "ready");
    assert.equal(state.resources.cluster?.status, "pending");
    assert.equal(state.lastRun.outcome, "failed");
    const putsBefore = fake.puts().length;
    const r = await deploy(opts);
    assert.equal(r.steps.find((s) => s.id === "storageAccount")?.action, "noop", "finished steps are not redone");
    const redone = fake.puts().slice(putsBefore);
    assert.ok(!redone.some((p) => /storageAccounts\/[^/]+$/.test(p)));
    assert.ok(redone.some((p) => /managedClusters/.test(p)));
  });

  it("protocol: 409 Conflict is reported in one line with what to do", async (t) => {
    const { opts, fake, cleanup } = setup("edw");
    t.after(cleanup);
    fake.failWith("PUT", /storageAccounts\/storaksdemot3st01$/, 409, "Conflict", "The storage account storaksdemot3st01 is being provisioned; another operation is in progress.");
    await assert.rejects(deploy(opts), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(
        e.message,
        /Azure refused to create or update storageAccount storaksdemot3st01: Conflict \(HTTP 409\): The storage account storaksdemot3st01 is being provisioned/,
      );
      assert.match(e.message, /another operation on this resource is still running/);
      return true;
    });
  });

  it("protocol: missing resource-provider registration and preview feature stop before any change, with the exact fix", async (t) => {
    const fake = new FakeArm();
    fake.unregistered.add("Microsoft.ContainerService");
    fake.features.set("NodeAutoProvisioningPreview", "NotRegistered");
    const { opts, lines, cleanup } = setup("edw", fake);
    t.after(cleanup);
    await assert.rejects(
      deploy(opts),
      /2 Azure prerequisite\(s\) missing: resource provider Microsoft.ContainerService is NotRegistered; preview feature Microsoft.ContainerService\/NodeAutoProvisioningPreview/,
    );
    assert.equal(fake.puts().length, 0, "nothing was created");
    assert.ok(lines.some((l) => l.includes("fix: az provider register --namespace Microsoft.ContainerService --wait")));
    assert.ok(lines.some((l) => l.includes("fix: az feature register --namespace Microsoft.ContainerService --name NodeAutoProvisioningPreview")));
  });

  it("protocol: destroy never deletes a resource group that existed before, and plan shows creates against it", async (t) => {
    const fake = new FakeArm();
    const rgPath = `/subscriptions/${fake.subscriptionId}/resourceGroups/aksResilience-t3st01`;
    fake.seed(rgPath, { location: "chinaeast2", tags: { app: "helloworld", "managed-by": "akspilot" }, type: "Microsoft.Resources/resourceGroups" });
    fake.seed(`${rgPath}/providers/Microsoft.Web/sites/someone-elses-app`, { type: "Microsoft.Web/sites" });
    const { opts, lines, cleanup } = setup("resilient-web", fake);
    t.after(cleanup);
    const p = await plan(opts);
    assert.equal(p.steps.find((s) => s.id === "resourceGroup")?.action, "adopt");
    assert.equal(fake.puts().length, 0, "plan only reads");
    await deploy(opts);
    await destroy({ ...opts });
    assert.ok(!fake.calls.some((c) => c.method === "DELETE" && /resourceGroups\/aksResilience-t3st01$/.test(c.path)), "the pre-existing group is not deleted");
    assert.ok(fake.resources.has(rgPath.toLowerCase()));
    assert.ok(fake.calls.some((c) => c.method === "DELETE" && /managedClusters\/aksResilience-t3st01$/.test(c.path)));
    assert.ok(lines.some((l) => /resourceGroup aksResilience-t3st01: kept \(it existed before akspilot\)/.test(l)));
  });

  it("protocol: AzureChinaCloud calls management.chinacloudapi.cn with the China token scope", async (t) => {
    const { opts, fake, cleanup } = setup("resilient-web");
    t.after(cleanup);
    await plan({ ...opts, cloud: "AzureChinaCloud", location: "chinaeast2" });
    assert.ok(fake.calls.length > 0);
    assert.ok(
      fake.calls.every((c) => c.host === "management.chinacloudapi.cn"),
      [...new Set(fake.calls.map((c) => c.host))].join(","),
    );
    assert.ok(fake.scopesRequested.every((s) => s === "https://management.chinacloudapi.cn/.default"));
  });
});

// AdminService over gRPC, against a real sidecar and the simulated cluster: what an operator is
// told matches what HostFactory is told and what the cluster holds.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  ServerReflectionClient,
  type ServerReflectionResponse,
} from "../../proto/gen/grpc/reflection/v1/reflection.ts";
import {
  AdminServiceClient,
  type CheckPermissionsResponse,
  type GetRequestResponse,
  type GetStatusResponse,
  ListMachinesRequest,
  type ListMachinesResponse,
  ListRequestsRequest,
  type ListRequestsResponse,
  type ListTemplatesResponse,
  RenderTemplateRequest,
  type RenderTemplateResponse,
  TimelineSource,
} from "../../proto/gen/hostfactory/v1/admin.ts";
import { RequestKind, RequestStatus } from "../../proto/gen/hostfactory/v1/provider.ts";
import { waitForFinal } from "../e2e/_requests.ts";
import { type Harness, INSTANCE, startHarness, TEST_TEMPLATES } from "../e2e/harness.ts";
import { waitFor } from "../tools/wait-for.ts";

let h: Harness;
let admin: AdminServiceClient;
let dir: string;
let templatesFile: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "admin-service-"));
  templatesFile = join(dir, "templates.json");
  copyFileSync(TEST_TEMPLATES, templatesFile);
  h = await startHarness({ templates: templatesFile });
  admin = new AdminServiceClient(h.address, grpc.credentials.createInsecure());
});
after(async () => {
  admin.close();
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

type Method = keyof AdminServiceClient & string;
function call<T>(method: Method, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = admin[method] as unknown as (
      request: object,
      callback: (error: grpc.ServiceError | null, response: T) => void,
    ) => void;
    fn.call(admin, request, (error, response) => (error ? reject(error) : resolve(response)));
  });
}
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => assert.fail("expected the call to fail"),
    (error: grpc.ServiceError) => error,
  );

async function requestMachines(templateId: string, machineCount: number): Promise<string> {
  const result = await h.script("requestMachines", { template: { templateId, machineCount } });
  assert.equal(result.code, 0, result.stdout);
  return String(result.json?.requestId);
}
async function untilFinal(requestId: string): Promise<GetRequestResponse> {
  return waitForFinal(requestId, () => call<GetRequestResponse>("getRequest", { requestId }), {
    statusOf: (answer) => answer.summary?.status,
  });
}

describe("requests and machines", () => {
  let createId = "";
  let returnId = "";
  let machines: string[] = [];

  before(async () => {
    createId = await requestMachines("compute-small", 3);
    const final = await untilFinal(createId);
    machines = final.request?.machines.map((m) => m.name) ?? [];
    const result = await h.script("requestReturnMachines", {
      machines: [{ name: machines[0], machineId: "" }],
    });
    returnId = String(result.json?.requestId);
    await untilFinal(returnId);
  });

  test("ListRequests lists the requests, newest first, with counts by result", async () => {
    const { requests } = await call<ListRequestsResponse>(
      "listRequests",
      ListRequestsRequest.fromPartial({}),
    );
    // Newest first; records keep their creation time to the second, so both may share one.
    const times = requests.map((r) => r.createTimeMs);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );
    const create = requests.find((r) => r.requestId === createId);
    assert.equal(create?.kind, RequestKind.REQUEST_KIND_CREATE);
    assert.equal(create?.templateId, "compute-small");
    assert.equal(create?.status, RequestStatus.REQUEST_STATUS_COMPLETE);
    assert.deepEqual(
      [create?.machineCount, create?.succeededCount, create?.executingCount, create?.failedCount],
      [3, 3, 0, 0],
    );
    assert.ok((create?.completeTimeMs ?? 0) >= (create?.createTimeMs ?? Infinity));
    const ret = requests.find((r) => r.requestId === returnId);
    assert.equal(ret?.kind, RequestKind.REQUEST_KIND_RETURN);
    assert.equal(ret?.machineCount, 1);
  });

  test("ListRequests filters by kind, template and running", async () => {
    const list = async (filter: Partial<ListRequestsRequest>) =>
      (
        await call<ListRequestsResponse>("listRequests", ListRequestsRequest.fromPartial(filter))
      ).requests.map((r) => r.requestId);
    assert.ok(!(await list({ kind: RequestKind.REQUEST_KIND_CREATE })).includes(returnId));
    assert.ok((await list({ kind: RequestKind.REQUEST_KIND_RETURN })).includes(returnId));
    assert.deepEqual(await list({ templateId: "compute-huge" }), []);
    assert.deepEqual(await list({ runningOnly: true }), []);
  });

  test("GetRequest gives the machines as HostFactory sees them, the pods, and a timeline", async () => {
    const answer = await call<GetRequestResponse>("getRequest", { requestId: createId });
    assert.equal(answer.request?.requestId, createId);
    assert.equal(answer.request?.machines.length, 3);
    // The returned machine's pod is gone; the two others are listed with their node and IP.
    assert.deepEqual(
      answer.pods.map((p) => p.name),
      machines.slice(1),
    );
    for (const pod of answer.pods) {
      assert.equal(pod.phase, "Running");
      assert.ok(pod.nodeName && pod.podIp, JSON.stringify(pod));
      assert.equal(pod.requestId, createId);
    }
    const what = answer.timeline.map((e) => `${e.machine || "-"} ${e.what}`);
    assert.equal(what[0], "- requested");
    for (const name of machines.slice(1)) {
      for (const step of ["pod created", "Scheduled", "ready"]) {
        assert.ok(what.includes(`${name} ${step}`), `${name} ${step} in ${what.join(", ")}`);
      }
    }
    assert.ok(what.includes("- complete"), what.join(", "));
    assert.ok(what.includes("- RequestComplete"), "the record's Event");
    assert.ok(answer.timeline.some((e) => e.source === TimelineSource.TIMELINE_SOURCE_EVENT));
    const times = answer.timeline.map((e) => e.timeMs);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );
    assert.equal(answer.timelineWarning, "");
  });

  test("GetRequest of a return request shows the deletion of its machine", async () => {
    const answer = await call<GetRequestResponse>("getRequest", { requestId: returnId });
    assert.equal(answer.summary?.kind, RequestKind.REQUEST_KIND_RETURN);
    assert.deepEqual(answer.pods, []);
    const what = answer.timeline.map((e) => `${e.machine || "-"} ${e.what}`);
    assert.equal(what[0], "- return requested");
    assert.ok(what.includes(`${machines[0]} Killing`), what.join(", "));
  });

  test("without the right to read Events, the timeline says so and the rest stands", async () => {
    const lift = h.simulator.authorization.deny({ verbs: ["list"], resources: ["events"] });
    try {
      const answer = await call<GetRequestResponse>("getRequest", { requestId: createId });
      assert.match(answer.timelineWarning, /Kubernetes Events could not be read .*forbidden/);
      assert.ok(answer.timeline.some((e) => e.what === "pod created"));
    } finally {
      lift();
    }
  });

  test("GetRequest refuses a malformed id and does not know an unrecorded one", async () => {
    const malformed = await failure(call("getRequest", { requestId: "nope" }));
    assert.equal(malformed.code, grpc.status.INVALID_ARGUMENT);
    const unknown = await failure(call("getRequest", { requestId: "req-0000000000" }));
    assert.equal(unknown.code, grpc.status.NOT_FOUND);
    assert.match(unknown.details, /has no record/);
  });

  test("ListMachines lists the pods with phase, node, IP and request, and filters", async () => {
    const { machines: all } = await call<ListMachinesResponse>(
      "listMachines",
      ListMachinesRequest.fromPartial({}),
    );
    const ours = all.filter((m) => m.requestId === createId);
    assert.deepEqual(
      ours.map((m) => m.name),
      machines.slice(1),
    );
    for (const machine of ours) {
      const stored = h.simulator.store.get("pods", "default", machine.name);
      assert.equal(machine.machineId, stored?.metadata.uid);
      assert.equal(machine.templateId, "compute-small");
      assert.equal(machine.orphan, false);
      assert.equal(machine.returning, false);
    }
    const filtered = await call<ListMachinesResponse>(
      "listMachines",
      ListMachinesRequest.fromPartial({ templateId: "compute-huge" }),
    );
    assert.deepEqual(filtered.machines, []);
  });

  test("a pod whose record is gone is listed as an orphan", async () => {
    h.simulator.store.delete("configmaps", "default", `hostfactory-${createId}`);
    const machine = await waitFor("the orphan", async () => {
      const { machines: all } = await call<ListMachinesResponse>(
        "listMachines",
        ListMachinesRequest.fromPartial({ requestId: createId }),
      );
      return all[0]?.orphan && all[0];
    });
    assert.equal(machine.name, machines[1]);
  });
});

describe("templates", () => {
  test("ListTemplates gives each template's settings, availability and use", async () => {
    const answer = await call<ListTemplatesResponse>("listTemplates", {});
    assert.equal(answer.templatesFile, templatesFile);
    assert.equal(answer.templatesError, "");
    const huge = answer.templates.find((t) => t.template?.templateId === "compute-huge");
    assert.equal(huge?.pendingTimeoutSeconds, 2);
    assert.equal(huge?.hostnameStyle, "short");
    assert.equal(huge?.template?.maxNumber, 4);
    assert.equal(huge?.template?.availableNumber, 4);
    assert.equal(huge?.machinesInUse, 0);
    assert.equal(huge?.template?.attributes.ncpus?.value, "64");
    assert.equal(huge?.drainPolicy, "immediate");
    assert.equal(huge?.priorityClassName, "");
  });

  test("RenderTemplate prints the Pod a machine would get, without creating it", async () => {
    const before = h.simulator.store.count("pods", "default");
    const answer = await call<RenderTemplateResponse>(
      "renderTemplate",
      RenderTemplateRequest.fromPartial({
        templateId: "compute-small",
        machineIndex: 2,
        rcAccount: "risk",
        dryRun: true,
      }),
    );
    const pod = JSON.parse(answer.podJson);
    assert.equal(pod.metadata.name, "hf-req-example000-2");
    assert.equal(pod.metadata.labels["hostfactory-k8s/instance"], INSTANCE);
    assert.equal(pod.metadata.annotations["hostfactory-k8s/rc-account"], "risk");
    assert.equal(pod.spec.hostname, "hf-req-example000-2");
    assert.match(answer.podYaml, /^apiVersion: v1\nkind: Pod\n/);
    assert.equal(answer.dryRunAccepted, true);
    assert.equal(answer.dryRunError, "");
    assert.equal(h.simulator.store.count("pods", "default"), before, "nothing created");
  });

  test("RenderTemplate's dry run reports what the API server refuses", async () => {
    const lift = h.simulator.authorization.deny({ verbs: ["create"], resources: ["pods"] });
    try {
      const answer = await call<RenderTemplateResponse>(
        "renderTemplate",
        RenderTemplateRequest.fromPartial({ templateId: "compute-small", dryRun: true }),
      );
      assert.equal(answer.dryRunAccepted, false);
      assert.match(answer.dryRunError, /cannot create resource "pods"/);
    } finally {
      lift();
    }
  });

  test("RenderTemplate refuses an unknown template and a request id that is not a create's", async () => {
    const unknown = await failure(
      call("renderTemplate", RenderTemplateRequest.fromPartial({ templateId: "gpu" })),
    );
    assert.equal(unknown.code, grpc.status.NOT_FOUND);
    assert.match(unknown.details, /available: compute-small, compute-huge/);
    const returnId = await failure(
      call(
        "renderTemplate",
        RenderTemplateRequest.fromPartial({
          templateId: "compute-small",
          requestId: "ret-abcdefghij",
        }),
      ),
    );
    assert.equal(returnId.code, grpc.status.INVALID_ARGUMENT);
  });

  test("DryRunPod: the API server's verdict on a Pod in the sidecar's namespace; bad input is INVALID_ARGUMENT", async () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "dry-run-check", namespace: "elsewhere" },
      spec: { containers: [{ name: "c", image: "i" }] },
    };
    const accepted = await call<{ accepted: boolean; error: string }>("dryRunPod", {
      podJson: JSON.stringify(pod),
    });
    assert.deepEqual(accepted, { accepted: true, error: "" });
    assert.equal(h.simulator.store.get("pods", "default", "dry-run-check"), undefined);
    for (const podJson of ["{", "[]", "x".repeat(1024 * 1024 + 1)]) {
      const refused = await failure(call("dryRunPod", { podJson }));
      assert.equal(refused.code, grpc.status.INVALID_ARGUMENT, refused.details);
    }
  });

  test("a broken templates file is reported by ListTemplates and GetStatus, and the last good set stays", async () => {
    const good = readFileSync(templatesFile, "utf8");
    writeFileSync(templatesFile, '{"templates": [{"templateId": "x"}]}');
    try {
      const status = await waitFor("the reload to fail", async () => {
        const answer = await call<GetStatusResponse>("getStatus", {});
        return answer.templatesError !== "" && answer;
      });
      assert.match(status.templatesError, /template 'x'/);
      assert.equal(status.templateCount, 2);
      const list = await call<ListTemplatesResponse>("listTemplates", {});
      assert.equal(list.templatesError, status.templatesError);
    } finally {
      writeFileSync(templatesFile, good);
      await waitFor("the reload to succeed", async () => {
        const answer = await call<GetStatusResponse>("getStatus", {});
        return answer.templatesError === "";
      });
    }
  });
});

describe("status and permissions", () => {
  test("GetStatus says who this replica is, who leads, and that the caches are synced", async () => {
    const status = await waitFor("a leader", async () => {
      const answer = await call<GetStatusResponse>("getStatus", {});
      return answer.leader !== "" && answer;
    });
    assert.equal(status.identity, h.sidecar?.identity);
    assert.equal(status.leader, status.identity);
    assert.equal(status.isLeader, true);
    assert.equal(status.leaderElection, true);
    assert.equal(status.leaseName, `hostfactory-k8s-${INSTANCE}`);
    assert.equal(status.instance, INSTANCE);
    assert.equal(status.namespace, "default");
    assert.equal(status.cachesSynced, true);
    assert.deepEqual(
      status.caches.map((c) => [c.name, c.synced]),
      [
        ["pods", true],
        ["records", true],
        ["quotas", true],
      ],
    );
  });

  test("CheckPermissions asks about every call the sidecar makes, and finds one taken away", async () => {
    const lift = h.simulator.authorization.deny({ verbs: ["delete"], resources: ["pods"] });
    try {
      const { checks } = await call<CheckPermissionsResponse>("checkPermissions", {});
      assert.equal(
        checks.length,
        23,
        "pods, configmaps, events, the cooperative hosts' PodDisruptionBudget, the Lease, ResourceQuotas and what templates name",
      );
      const denied = checks.filter((c) => !c.allowed);
      assert.deepEqual(
        denied.map((c) => `${c.verb} ${c.resource}`),
        ["delete pods"],
      );
      assert.equal(denied[0]?.required, true);
      assert.match(denied[0]?.purpose ?? "", /deletes returned/);
      const lease = checks.find((c) => c.resource === "leases" && c.verb === "update");
      assert.equal(lease?.name, `hostfactory-k8s-${INSTANCE}`);
    } finally {
      lift();
    }
  });

  test("server reflection lists AdminService beside ProviderService", async () => {
    const reflection = new ServerReflectionClient(h.address, grpc.credentials.createInsecure());
    const stream = reflection.serverReflectionInfo();
    const answer = await new Promise<ServerReflectionResponse>((resolve, reject) => {
      stream.on("data", resolve);
      stream.on("error", reject);
      stream.write({ host: "", listServices: "" });
    });
    stream.end();
    reflection.close();
    const names = answer.listServicesResponse?.service.map((s) => s.name) ?? [];
    assert.ok(names.includes("hostfactory.v1.AdminService"), names.join(", "));
    assert.ok(names.includes("hostfactory.v1.ProviderService"), names.join(", "));
  });
});

// The gRPC API as other services see it: health, reflection, and WatchRequest's pushes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  ServerReflectionClient,
  type ServerReflectionResponse,
} from "../../proto/gen/grpc/reflection/v1/reflection.ts";
import {
  type GetAvailableTemplatesResponse,
  ProviderServiceClient,
  RequestStatus,
  type WatchRequestResponse,
} from "../../proto/gen/hostfactory/v1/provider.ts";
import { type Harness, healthStatus, startHarness } from "./harness.ts";

let h: Harness;
let client: ProviderServiceClient;
before(async () => {
  h = await startHarness();
  client = new ProviderServiceClient(h.address, grpc.credentials.createInsecure());
});
after(async () => {
  client.close();
  await h.close();
});

test("grpc.health.v1 reports the provider service SERVING once the caches are synced", async () => {
  assert.equal(await healthStatus(h.address, "hostfactory.v1.ProviderService"), "SERVING");
});

test("WatchRequest pushes each change and ends after the final status", async () => {
  const { requestId } = await new Promise<{ requestId: string }>((resolve, reject) =>
    client.requestMachines(
      { templateId: "compute-small", machineCount: 3, rcAccount: "risk" },
      (error, response) => (error ? reject(error) : resolve(response)),
    ),
  );
  const updates: WatchRequestResponse[] = [];
  await new Promise<void>((resolve, reject) => {
    const stream = client.watchRequest({ requestId });
    stream.on("data", (update: WatchRequestResponse) => updates.push(update));
    stream.on("end", resolve);
    stream.on("error", reject);
  });
  assert.ok(updates.length >= 2, `${updates.length} updates`);
  assert.equal(updates[0]?.request?.status, RequestStatus.REQUEST_STATUS_RUNNING);
  assert.equal(updates.at(-1)?.request?.status, RequestStatus.REQUEST_STATUS_COMPLETE);
  assert.equal(updates.at(-1)?.request?.machines.length, 3);
  const annotations = h.simulator.store.get("pods", "default", `hf-${requestId}-0`)?.metadata
    .annotations;
  assert.equal(annotations?.["hostfactory-k8s/rc-account"], "risk");
});

test("a RequestMachines over the per-request limit is refused with INVALID_ARGUMENT", async () => {
  const error = await new Promise<grpc.ServiceError>((resolve) =>
    client.requestMachines(
      { templateId: "compute-small", machineCount: 1_000_000, rcAccount: "" },
      (e) => resolve(e as grpc.ServiceError),
    ),
  );
  assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
  assert.match(error.details, /over the limit/);
});

test("server reflection lists the provider service, so grpcurl and friends can call it", async () => {
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
  assert.ok(names.includes("hostfactory.v1.ProviderService"), names.join(", "));
});

test("two requests at once cannot both take a template's last machines", async () => {
  const templates = await new Promise<GetAvailableTemplatesResponse>((resolve, reject) =>
    client.getAvailableTemplates({}, (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );
  const available =
    templates.templates.find((t) => t.templateId === "compute-small")?.availableNumber ?? 0;
  assert.ok(available > 0);
  const ask = () =>
    new Promise<grpc.status>((resolve) =>
      client.requestMachines(
        { templateId: "compute-small", machineCount: available, rcAccount: "" },
        (error) => resolve(error ? (error as grpc.ServiceError).code : grpc.status.OK),
      ),
    );
  const codes = await Promise.all([ask(), ask()]);
  assert.deepEqual(codes.sort(), [grpc.status.OK, grpc.status.RESOURCE_EXHAUSTED].sort());
});

test("a second sidecar on the same socket refuses to start instead of taking it over", async () => {
  const second = h.spawnSidecar();
  const code = await new Promise((resolve) => second.once("exit", resolve));
  assert.notEqual(code, 0);
  assert.equal((await h.script("getAvailableTemplates", {})).code, 0, "the first one still serves");
});

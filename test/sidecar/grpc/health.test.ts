// grpc.health.v1 over real gRPC, as gRPC's health-checking protocol defines it: Check answers a
// known service's status and NOT_FOUND otherwise; Watch sends the status now and every change,
// SERVICE_UNKNOWN for a name not known yet; List gives them all.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  type HealthCheckResponse,
  HealthClient,
  healthCheckResponse_ServingStatusToJSON as named,
} from "../../../proto/gen/grpc/health/v1/health.ts";
import { createHealth } from "../../../sidecar/grpc/health.ts";
import { waitFor } from "../../tools/wait-for.ts";

const health = createHealth({ "": "NOT_SERVING", "hostfactory.v1.ProviderService": "SERVING" });
let server: grpc.Server;
let client: HealthClient;
before(async () => {
  server = new grpc.Server();
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  client = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});
after(() => {
  client.close();
  server.forceShutdown();
});

function check(service: string): Promise<string> {
  return new Promise((resolve) =>
    client.check({ service }, (error, response) =>
      resolve(error ? `${grpc.status[error.code]}: ${error.details}` : named(response.status)),
    ),
  );
}

test("Check answers a known service's status, and NOT_FOUND for any other name", async () => {
  assert.equal(await check("hostfactory.v1.ProviderService"), "SERVING");
  assert.equal(await check(""), "NOT_SERVING");
  assert.equal(
    await check("hostfactory.v1.Nothing"),
    "NOT_FOUND: health status unknown for service 'hostfactory.v1.Nothing'",
  );
});

test("Watch sends the status now and each change after, until the client cancels", async () => {
  const seen: string[] = [];
  const call = client.watch({ service: "" });
  call.on("data", (response: HealthCheckResponse) => seen.push(named(response.status)));
  call.on("error", () => {});
  await waitFor("the status now", () => seen.length === 1);
  health.setStatus("", "SERVING");
  health.setStatus("", "NOT_SERVING");
  await waitFor("both changes", () => seen.length === 3);
  call.cancel();
  assert.deepEqual(seen, ["NOT_SERVING", "SERVING", "NOT_SERVING"]);
});

test("Watch of a name not known yet says SERVICE_UNKNOWN, then its status once it has one", async () => {
  const seen: string[] = [];
  const call = client.watch({ service: "later" });
  call.on("data", (response: HealthCheckResponse) => seen.push(named(response.status)));
  call.on("error", () => {});
  await waitFor("the status now", () => seen.length === 1);
  health.setStatus("later", "SERVING");
  await waitFor("the new status", () => seen.length === 2);
  call.cancel();
  assert.deepEqual(seen, ["SERVICE_UNKNOWN", "SERVING"]);
});

test("List gives every known service's status", async () => {
  const statuses = await new Promise<Record<string, string>>((resolve, reject) =>
    client.list({}, (error, response) =>
      error
        ? reject(error)
        : resolve(
            Object.fromEntries(
              Object.entries(response.statuses).map(([name, s]) => [name, named(s.status)]),
            ),
          ),
    ),
  );
  assert.equal(statuses["hostfactory.v1.ProviderService"], "SERVING");
  assert.ok("" in statuses, Object.keys(statuses).join(", "));
});

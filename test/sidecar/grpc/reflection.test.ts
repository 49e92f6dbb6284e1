// Server reflection over real gRPC, answered from the descriptor set `buf build` makes of proto/:
// protoc's descriptors (map entries named `<Field>Entry`, every field's json_name), each file with
// the files it imports, in both versions of the protocol clients ask (test/api-clients runs
// grpcurl itself against a sidecar).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import {
  ServerReflectionClient,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from "../../../proto/gen/grpc/reflection/v1/reflection.ts";
import { ServerReflectionClient as V1AlphaClient } from "../../../proto/gen/grpc/reflection/v1alpha/reflection.ts";
import {
  addReflection,
  createReflection,
  DESCRIPTOR_SET,
} from "../../../sidecar/grpc/reflection.ts";

const LISTED = ["hostfactory.v1.ProviderService", "hostfactory.v1.AdminService"];

let server: grpc.Server;
let address: string;
before(async () => {
  server = new grpc.Server();
  addReflection(server, LISTED);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  address = `127.0.0.1:${port}`;
});
after(() => server.forceShutdown());

/** Sends `requests` on one reflection stream and resolves with the answers, in order. */
async function ask(
  requests: Partial<ServerReflectionRequest>[],
  Client: typeof ServerReflectionClient | typeof V1AlphaClient = ServerReflectionClient,
): Promise<ServerReflectionResponse[]> {
  const client = new Client(address, grpc.credentials.createInsecure());
  try {
    const stream = client.serverReflectionInfo();
    const answers: ServerReflectionResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on("data", (answer: ServerReflectionResponse) => answers.push(answer));
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    for (const request of requests) stream.write({ host: "", ...request });
    stream.end();
    await done;
    return answers;
  } finally {
    client.close();
  }
}

function files(answer: ServerReflectionResponse | undefined): FileDescriptorProto[] {
  assert.equal(answer?.errorResponse, undefined, answer?.errorResponse?.errorMessage);
  return (answer?.fileDescriptorResponse?.fileDescriptorProto ?? []).map((bytes) =>
    fromBinary(FileDescriptorProtoSchema, bytes),
  );
}

for (const [version, Client] of [
  ["v1", ServerReflectionClient],
  ["v1alpha", V1AlphaClient],
] as const) {
  describe(`grpc.reflection.${version}`, () => {
    test("lists the contract's services", async () => {
      const [answer] = await ask([{ listServices: "*" }], Client);
      assert.deepEqual(
        answer?.listServicesResponse?.service.map((s) => s.name),
        LISTED,
      );
    });

    test("answers a service's file with every file it imports", async () => {
      const [answer] = await ask([{ fileContainingSymbol: "hostfactory.v1.AdminService" }], Client);
      assert.deepEqual(
        files(answer).map((file) => file.name),
        ["hostfactory/v1/admin.proto", "hostfactory/v1/provider.proto"],
      );
    });
  });
}

test("Template.attributes is described as protoc would: AttributesEntry, with JSON names", async () => {
  const [answer] = await ask([{ fileContainingSymbol: "hostfactory.v1.Template" }]);
  const template = files(answer)[0]?.messageType.find((message) => message.name === "Template");
  const attributes = template?.field.find((field) => field.name === "attributes");
  assert.equal(attributes?.typeName, ".hostfactory.v1.Template.AttributesEntry");
  assert.deepEqual(
    template?.nestedType.map((nested) => [nested.name, nested.options?.mapEntry]),
    [["AttributesEntry", true]],
  );
  assert.deepEqual(
    template?.field.map((field) => field.jsonName),
    ["templateId", "maxNumber", "availableNumber", "attributes"],
  );
});

test("methods, fields, enum values and file names are found as well as types", async () => {
  const answers = await ask([
    { fileContainingSymbol: "hostfactory.v1.ProviderService.RequestMachines" },
    { fileContainingSymbol: "hostfactory.v1.Template.template_id" },
    { fileContainingSymbol: "hostfactory.v1.MACHINE_STATE_RUNNING" },
    { fileByFilename: "hostfactory/v1/provider.proto" },
    { fileByFilename: "grpc/health/v1/health.proto" },
  ]);
  assert.deepEqual(
    answers.map((answer) => files(answer)[0]?.name),
    [
      "hostfactory/v1/provider.proto",
      "hostfactory/v1/provider.proto",
      "hostfactory/v1/provider.proto",
      "hostfactory/v1/provider.proto",
      "grpc/health/v1/health.proto",
    ],
  );
});

test("an unknown name is NOT_FOUND in the answer, and the stream goes on", async () => {
  const answers = await ask([
    { fileContainingSymbol: "hostfactory.v1.NoSuchService" },
    { fileByFilename: "nowhere.proto" },
    { fileContainingExtension: { containingType: "hostfactory.v1.Template", extensionNumber: 99 } },
    { listServices: "" },
  ]);
  assert.deepEqual(
    answers.map((answer) => [answer.errorResponse?.errorCode, answer.errorResponse?.errorMessage]),
    [
      [grpc.status.NOT_FOUND, "no symbol hostfactory.v1.NoSuchService"],
      [grpc.status.NOT_FOUND, "no file nowhere.proto"],
      [grpc.status.NOT_FOUND, "no extension 99 of hostfactory.v1.Template"],
      [undefined, undefined],
    ],
  );
  assert.equal(answers[0]?.originalRequest?.fileContainingSymbol, "hostfactory.v1.NoSuchService");
});

test("a descriptor set that does not describe a listed service is refused at start", () => {
  assert.throws(
    () => createReflection(readFileSync(DESCRIPTOR_SET), ["hostfactory.v1.Gone"]),
    /does not describe hostfactory\.v1\.Gone: run `npm run generate`/,
  );
});

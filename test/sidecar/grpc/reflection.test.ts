// The descriptors server reflection serves are protoc's: map entries named `<Field>Entry` and
// every field's json_name set, which Go tools such as grpcurl require (test/api-clients runs
// grpcurl itself against a sidecar).
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { loadSync } from "@grpc/proto-loader";
import { jsonName, mapEntryName, withProtocDescriptors } from "../../../sidecar/grpc/reflection.ts";

const PROTO_ROOT = join(import.meta.dirname, "..", "..", "..", "proto");

test("map entry and JSON names follow protoc's rules", () => {
  const cases: [string, string, string][] = [
    ["attributes", "AttributesEntry", "attributes"],
    ["label_map", "LabelMapEntry", "labelMap"],
    ["template_id", "TemplateIdEntry", "templateId"],
  ];
  for (const [field, entry, json] of cases) {
    assert.equal(mapEntryName(field), entry, field);
    assert.equal(jsonName(field), json, field);
  }
});

test("Template.attributes is described as protoc would: AttributesEntry, with JSON names", () => {
  const definition = withProtocDescriptors(
    loadSync("hostfactory/v1/provider.proto", { includeDirs: [PROTO_ROOT], keepCase: true }),
  );
  const files = (definition["hostfactory.v1.Template"] as { fileDescriptorProtos: Buffer[] })
    .fileDescriptorProtos;
  const template = files
    .flatMap((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).messageType)
    .find((message) => message.name === "Template");
  const attributes = template?.field.find((field) => field.name === "attributes");
  assert.equal(attributes?.typeName, "AttributesEntry");
  assert.deepEqual(
    template?.nestedType.map((nested) => [nested.name, nested.options?.mapEntry]),
    [["AttributesEntry", true]],
  );
  assert.deepEqual(
    template?.field.map((field) => field.jsonName),
    ["templateId", "maxNumber", "availableNumber", "attributes"],
  );
});

// Server reflection, so that grpcurl, Postman and other tools call the API without the .proto
// files. @grpc/proto-loader's descriptors differ from protoc's in two ways that matter to Go
// tools: a map field's entry type is named after the field ("Attributes") where Go's protobuf
// runtime requires "<Field>Entry", so grpcurl refuses the whole service ("invalid map: incorrect
// implicit map entry name", fullstorydev/grpcurl#519); and no field has its json_name, so JSON
// is printed with the .proto names (template_id) instead of proto3's JSON names (templateId).
// The descriptors are corrected to protoc's before @grpc/reflection serves them.
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { type DescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import { loadSync, type PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";

/** protoc's name for a map field's entry type: `label_map` becomes `LabelMapEntry`. */
export function mapEntryName(fieldName: string): string {
  const camel = fieldName
    .split("_")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
  return `${camel}Entry`;
}

/** protoc's json_name of a field: `template_id` becomes `templateId`. */
export function jsonName(fieldName: string): string {
  return fieldName.replace(/_+(.?)/g, (_, next: string) => next.toUpperCase());
}

function correctMessage(message: DescriptorProto): void {
  for (const field of message.field) {
    field.jsonName ||= jsonName(field.name);
    const entry = message.nestedType.find(
      (nested) => nested.options?.mapEntry && nested.name === field.typeName,
    );
    if (!entry) continue;
    entry.name = mapEntryName(field.name);
    field.typeName = entry.name;
  }
  for (const nested of message.nestedType) correctMessage(nested);
}

function correctedFile(encoded: Buffer): Buffer {
  const file = fromBinary(FileDescriptorProtoSchema, encoded);
  for (const message of file.messageType) correctMessage(message);
  return Buffer.from(toBinary(FileDescriptorProtoSchema, file));
}

/** `definition` with every file descriptor corrected as protoc would have written it. */
export function withProtocDescriptors(definition: PackageDefinition): PackageDefinition {
  const corrected = new Map<Buffer[], Buffer[]>();
  return Object.fromEntries(
    Object.entries(definition).map(([name, value]) => {
      const files = (value as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
      if (!Array.isArray(files)) return [name, value];
      if (!corrected.has(files)) corrected.set(files, files.map(correctedFile));
      return [name, { ...value, fileDescriptorProtos: corrected.get(files) }];
    }),
  ) as PackageDefinition;
}

/** Serves grpc.reflection (v1 and v1alpha) for the given .proto files under `protoRoot`. */
export function addReflection(server: grpc.Server, protoRoot: string, files: string[]): void {
  // keepCase: the descriptors name fields as the .proto files do (template_id, not templateId).
  const definition = loadSync(files, { includeDirs: [protoRoot], keepCase: true });
  new ReflectionService(withProtocDescriptors(definition)).addToServer(server);
}

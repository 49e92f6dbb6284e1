// Server reflection, so that grpcurl, Postman and other tools call the API without the .proto
// files. It answers from the FileDescriptorSet `buf build` makes of proto/ (npm run generate), so
// the descriptors are protoc's own: map entries named `<Field>Entry`, every field's json_name,
// and the contract's comments, which `grpcurl describe` prints.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createFileRegistry, type DescFile, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import {
  type ServerReflectionRequest,
  type ServerReflectionResponse,
  type ServerReflectionServer,
  ServerReflectionService as V1,
} from "../../proto/gen/grpc/reflection/v1/reflection.ts";
import { ServerReflectionService as V1Alpha } from "../../proto/gen/grpc/reflection/v1alpha/reflection.ts";

/** Where `npm run generate` writes the descriptors of every file under proto/. */
export const DESCRIPTOR_SET = join(
  import.meta.dirname,
  "..",
  "..",
  "proto",
  "gen",
  "descriptor-set.binpb",
);

class NotFound extends Error {}

/** Answers reflection requests from `descriptorSet`, listing only the services named in `listed`. */
export function createReflection(descriptorSet: Uint8Array, listed: readonly string[]) {
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet));
  // Every fully-qualified name a client may ask about: types, services and their members.
  const symbols = new Map<string, DescFile>();
  const extensions = new Map<string, Map<number, DescFile>>();
  for (const desc of registry) {
    symbols.set(desc.typeName, desc.file);
    switch (desc.kind) {
      case "message":
        for (const member of [...desc.fields, ...desc.oneofs]) {
          symbols.set(`${desc.typeName}.${member.name}`, desc.file);
        }
        break;
      case "enum": {
        // Enum values are scoped beside their enum, as in C++.
        const scope = desc.typeName.slice(0, desc.typeName.length - desc.name.length);
        for (const value of desc.values) symbols.set(`${scope}${value.name}`, desc.file);
        break;
      }
      case "service":
        for (const method of desc.methods)
          symbols.set(`${desc.typeName}.${method.name}`, desc.file);
        break;
      case "extension": {
        const numbers = extensions.get(desc.extendee.typeName) ?? new Map<number, DescFile>();
        extensions.set(desc.extendee.typeName, numbers.set(desc.number, desc.file));
        break;
      }
    }
  }
  for (const name of listed) {
    if (registry.getService(name) === undefined) {
      throw new Error(`${DESCRIPTOR_SET} does not describe ${name}: run \`npm run generate\``);
    }
  }

  const encoded = new Map<DescFile, Uint8Array>();
  /** `file` and every file it imports, transitively, each encoded once. */
  function withImports(file: DescFile | undefined, missing: string) {
    if (!file) throw new NotFound(missing);
    const files = new Set<DescFile>();
    const visit = (f: DescFile) => {
      if (files.has(f)) return;
      files.add(f);
      for (const dependency of f.dependencies) visit(dependency);
    };
    visit(file);
    const fileDescriptorProto = [...files].map((f) => {
      const bytes = encoded.get(f) ?? toBinary(FileDescriptorProtoSchema, f.proto);
      encoded.set(f, bytes);
      return Buffer.from(bytes);
    });
    return { fileDescriptorResponse: { fileDescriptorProto } };
  }

  function answer(request: ServerReflectionRequest): Partial<ServerReflectionResponse> {
    if (request.listServices !== undefined) {
      return { listServicesResponse: { service: listed.map((name) => ({ name })) } };
    }
    if (request.fileByFilename !== undefined) {
      const name = request.fileByFilename;
      return withImports(registry.getFile(name), `no file ${name}`);
    }
    if (request.fileContainingSymbol !== undefined) {
      const symbol = request.fileContainingSymbol;
      return withImports(symbols.get(symbol), `no symbol ${symbol}`);
    }
    if (request.fileContainingExtension !== undefined) {
      const { containingType, extensionNumber } = request.fileContainingExtension;
      return withImports(
        extensions.get(containingType)?.get(extensionNumber),
        `no extension ${extensionNumber} of ${containingType}`,
      );
    }
    if (request.allExtensionNumbersOfType !== undefined) {
      const type = request.allExtensionNumbersOfType;
      if (registry.getMessage(type) === undefined) throw new NotFound(`no message type ${type}`);
      const numbers = [...(extensions.get(type)?.keys() ?? [])];
      return { allExtensionNumbersResponse: { baseTypeName: type, extensionNumber: numbers } };
    }
    return {
      errorResponse: {
        errorCode: grpc.status.INVALID_ARGUMENT,
        errorMessage: "the request asks for nothing (message_request is unset)",
      },
    };
  }

  /** The response to one request, an error included. */
  function respond(request: ServerReflectionRequest): ServerReflectionResponse {
    const base = { validHost: request.host, originalRequest: request };
    try {
      return { ...base, ...answer(request) };
    } catch (error) {
      const errorCode = error instanceof NotFound ? grpc.status.NOT_FOUND : grpc.status.INTERNAL;
      return { ...base, errorResponse: { errorCode, errorMessage: (error as Error).message } };
    }
  }

  const handlers: ServerReflectionServer = {
    serverReflectionInfo(call) {
      call.on("data", (request: ServerReflectionRequest) => call.write(respond(request)));
      call.on("end", () => call.end());
    },
  };

  return {
    /** Serves grpc.reflection.v1 and its predecessor v1alpha, which older clients still ask. */
    addToServer(server: grpc.Server) {
      server.addService(V1, handlers);
      server.addService(V1Alpha, handlers);
    },
  };
}

/** Serves reflection from proto/gen's descriptor set, listing the services named in `listed`. */
export function addReflection(server: grpc.Server, listed: readonly string[]): void {
  createReflection(readFileSync(DESCRIPTOR_SET), listed).addToServer(server);
}

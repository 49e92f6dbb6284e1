import { RESOURCES } from "./resources.ts";

/**
 * A minimal OpenAPI v3 discovery: kubectl reads it (before `apply`, `create`, `edit`) only to
 * learn whether PATCH takes the fieldValidation parameter; when it does, kubectl leaves
 * validation to the server instead of downloading full schemas. The simulator publishes, per
 * group version, just the PATCH operations with their group-version-kind and that parameter.
 */

const OPENAPI_HASH = "hostfactory-simulator-1";

/** Resources that take a PATCH, which is all the OpenAPI documents describe. */
const PATCHABLE = RESOURCES.filter((info) => info.verbs.includes("patch"));

function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `apis/${apiVersion}` : `api/${apiVersion}`;
}

/** The /openapi/v3 index: one entry per served group version. */
export function openApiIndex(): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const info of PATCHABLE) {
    const path = groupVersionPath(info.apiVersion);
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${OPENAPI_HASH}` };
  }
  return { paths };
}

/** The document of /openapi/v3/<path>, or undefined for a group version not served. */
export function openApiDocument(path: string): unknown {
  const resources = PATCHABLE.filter((info) => groupVersionPath(info.apiVersion) === path);
  if (resources.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const info of resources) {
    const scope = info.namespaced ? "/namespaces/{namespace}" : "";
    paths[`/${path}${scope}/${info.name}/{name}`] = {
      patch: {
        operationId: `patch${info.kind}`,
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": {
          group: info.group,
          version: info.version,
          kind: info.kind,
        },
        parameters: [
          { name: "dryRun", in: "query", schema: { type: "string" } },
          { name: "fieldManager", in: "query", schema: { type: "string" } },
          { name: "fieldValidation", in: "query", schema: { type: "string" } },
        ],
        responses: { "200": { description: "OK" } },
      },
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.33.0" },
    paths,
    components: {},
  };
}

// Templates' Pods checked against the Kubernetes OpenAPI schema offline, as the API server's
// strict decoding would judge them; and, on the real control plane, that the committed schema
// extract is what the API server serves and that its dry run refuses what we refuse.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { extractPodSchema, podSchemaText } from "../../templates/generate-pod-schema.ts";
import { parseTemplates, TemplateError } from "../../templates/parse.ts";
import { POD_SCHEMA_FILE } from "../../templates/pod-schema.ts";
import { readTemplatesFile } from "../../templates/read.ts";
import { controlPlaneUnavailable, sharedControlPlane } from "../control-plane/index.ts";
import { rawRequest } from "../simulator/backend.ts";
import { runProcess } from "../tools/run-process.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const FIXTURES = join(ROOT, "test", "fixtures", "templates");
const container = {
  name: "compute",
  image: "registry.example.com/symphony/compute:7.3.2",
  resources: { requests: { cpu: "1", memory: "1Gi" } },
};

/** A pod spec with one mistake, and what we say of it (after `template 't'.podSpec: `). */
interface BadSpec {
  spec: Record<string, unknown>;
  problem: string;
  /** What the API server's refusal says. */
  field: RegExp;
}
const BAD_SPECS: BadSpec[] = [
  {
    spec: { containers: [{ ...container, resourcs: { requests: { cpu: "1" } } }] },
    problem: "containers[0].resourcs: unknown field",
    field: /resourcs/,
  },
  {
    spec: { containers: [container], terminationGracePeriodSecond: 30 },
    problem: "terminationGracePeriodSecond: unknown field",
    field: /terminationGracePeriodSecond/,
  },
  {
    spec: { containers: [{ ...container, ports: [{ containerPort: "8080" }] }] },
    problem: 'containers[0].ports[0].containerPort: expected an integer, found a string "8080"',
    field: /containerPort/,
  },
  {
    spec: { containers: [{ ...container, ports: [{ containerPort: 2 ** 31 }] }] },
    problem:
      "containers[0].ports[0].containerPort: 2147483648 is out of range for a 32-bit integer",
    field: /containerPort/,
  },
  {
    spec: { containers: [container], restartPolicy: 3 },
    problem: "restartPolicy: expected a string, found an integer 3",
    field: /restartPolicy/,
  },
  {
    spec: { containers: [container], terminationGracePeriodSeconds: 1.5 },
    problem: "terminationGracePeriodSeconds: expected an integer, found a number 1.5",
    field: /terminationGracePeriodSeconds/,
  },
  {
    spec: { containers: [container], nodeSelector: { zone: 1 } },
    problem: "nodeSelector.zone: expected a string, found an integer 1",
    field: /nodeSelector/,
  },
  {
    spec: { containers: [container], securityContext: [] },
    problem: "securityContext: expected an object, found a list []",
    field: /securityContext/,
  },
  {
    spec: {
      containers: [{ ...container, livenessProbe: { httpGet: { port: true } } }],
    },
    problem:
      "containers[0].livenessProbe.httpGet.port: expected an integer or a string, found a boolean true",
    field: /port/,
  },
  {
    spec: {
      containers: [container],
      volumes: [{ name: "scratch", emptyDir: { sizeLimit: "lots" } }],
    },
    problem: 'volumes[0].emptyDir.sizeLimit: "lots" is not a quantity (like "500m", "2", "4Gi")',
    field: /quantities must match/,
  },
  {
    spec: { containers: [container], volumes: [{ emptyDir: {} }] },
    problem: "volumes[0].name: required field missing",
    field: /name/,
  },
];

function problemsOf(spec: unknown): string[] {
  try {
    parseTemplates({ templates: [{ templateId: "t", maxNumber: 1, podSpec: spec }] }, () => {
      throw new Error("no files here");
    });
  } catch (error) {
    assert.ok(error instanceof TemplateError, String(error));
    return error.problems;
  }
  return [];
}

test("each bad pod spec is refused with its path, and nothing else is said of it", () => {
  for (const { spec, problem } of BAD_SPECS) {
    assert.deepEqual(problemsOf(spec), [`template 't'.podSpec: ${problem}`]);
  }
});

test("a Pod manifest is checked whole: its metadata and top-level fields too", () => {
  assert.deepEqual(
    problemsOf({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { labelz: { a: "b" } },
      spec: { containers: [container] },
      extra: true,
    }),
    [
      "template 't'.podSpec: metadata.labelz: unknown field",
      "template 't'.podSpec: extra: unknown field",
    ],
  );
});

test("every example templates file is accepted, fields of every kind in their pods", () => {
  const files = readdirSync(join(ROOT, "examples")).filter((f) => /^templates.*\.json$/.test(f));
  assert.ok(files.length >= 3, files.join(", "));
  for (const file of files) {
    const templates = readTemplatesFile(join(ROOT, "examples", file), {
      pendingTimeoutSeconds: 600,
    });
    assert.ok(templates.length > 0, file);
  }
});

test("templates validate lists every schema problem of a file, each with its template and path", async () => {
  const result = await runProcess(process.execPath, [
    join(ROOT, "client", "main.ts"),
    "templates",
    "validate",
    join(FIXTURES, "typos.json"),
    "--json",
  ]);
  assert.equal(result.code, 3, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout).problems, [
    "template 'compute-small'.podSpecFile: metadata.annotation: unknown field",
    "template 'compute-small'.podSpecFile: spec.containers[0].resourcs: unknown field",
    "template 'compute-small'.podSpecFile: spec.containers[0].livenessProbe.httpGet.port: expected an integer or a string, found a boolean true",
    'template \'compute-small\'.podSpecFile: spec.volumes[0].emptyDir.sizeLimit: "lots" is not a quantity (like "500m", "2", "4Gi")',
    "template 'compute-small'.podSpecFile: spec.volumes[0].name: required field missing",
    "template 'compute-small'.attributes.ncpus: not given, and the pod requests no cpu to derive it from",
    "template 'compute-small'.attributes.nram: not given, and the pod requests no memory to derive it from",
    "template 'compute-inline'.podSpec: containers[0].ports[0].containerPort: expected an integer, found a string \"8080\"",
    "template 'compute-inline'.podSpec: terminationGracePeriodSecond: unknown field",
  ]);
});

const skip = controlPlaneUnavailable();
describe("the pod schema against the real control plane", { skip }, () => {
  test("the committed extract is what the API server serves at /openapi/v3/api/v1", async () => {
    const cluster = await sharedControlPlane();
    const served = await rawRequest(cluster.kubeConfig(), "GET", "/openapi/v3/api/v1");
    assert.equal(served.status, 200, served.text);
    assert.equal(
      podSchemaText(extractPodSchema(served.json)),
      readFileSync(POD_SCHEMA_FILE, "utf8"),
      "templates/gen/pod-schema.json is stale: run templates/generate-pod-schema.ts (see its header) on the pinned Kubernetes' OpenAPI document and commit",
    );
  });

  test("the API server's dry run refuses each pod spec we refuse, and accepts the examples' pods", async () => {
    const cluster = await sharedControlPlane();
    const namespace = await cluster.createNamespace();
    await cluster.waitForServiceAccount(namespace);
    const dryRun = (name: string, spec: unknown) =>
      rawRequest(
        cluster.kubeConfig(),
        "POST",
        `/api/v1/namespaces/${namespace}/pods?dryRun=All&fieldValidation=Strict`,
        { apiVersion: "v1", kind: "Pod", metadata: { name }, spec },
      );
    for (const [i, { spec, problem, field }] of BAD_SPECS.entries()) {
      const answer = await dryRun(`bad-${i}`, spec);
      assert.ok(answer.status >= 400 && answer.status < 500, `${problem}: ${answer.status}`);
      assert.match(answer.json.message, field, `${problem}: ${answer.json.message}`);
    }
    const good = readTemplatesFile(join(ROOT, "examples", "templates.json"), {
      pendingTimeoutSeconds: 600,
    });
    for (const template of good) {
      const answer = await dryRun(`good-${template.templateId}`, template.pod.spec);
      assert.equal(answer.status, 201, `${template.templateId}: ${answer.text}`);
    }
  });
});

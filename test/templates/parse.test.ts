import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { extendedResourceAttribute, parseTemplates, TemplateError } from "../../templates/parse.ts";
import { readTemplatesFile } from "../../templates/read.ts";

const container = {
  name: "compute",
  image: "symphony:7.3",
  resources: { requests: { cpu: "1500m", memory: "3Gi" } },
};
const noFiles = (file: string) => {
  throw new Error(`no file ${file}`);
};

function problemsOf(document: unknown, readPodFile = noFiles): string[] {
  try {
    parseTemplates(document, readPodFile);
  } catch (error) {
    assert.ok(error instanceof TemplateError);
    return error.problems;
  }
  assert.fail("expected a TemplateError");
}

test("the example templates are valid and derive ncpus, ncores and nram from resource requests", () => {
  const templates = readTemplatesFile(join(import.meta.dirname, "../../examples/templates.json"), {
    pendingTimeoutSeconds: 600,
  });
  const small = templates.find((t) => t.templateId === "compute-small");
  assert.ok(small);
  assert.deepEqual(small.attributes, {
    type: { type: "String", value: "X86_64" },
    ncpus: { type: "Numeric", value: "1" },
    ncores: { type: "Numeric", value: "1" },
    nram: { type: "Numeric", value: "2048" },
  });
  assert.equal(small.pendingTimeoutSeconds, 600);
  assert.equal(small.pod.labels["app.kubernetes.io/name"], "symphony-compute");
});

test("given attributes win over derived ones; cpu rounds up to whole cpus", () => {
  const [t] = parseTemplates(
    {
      templates: [
        {
          templateId: "t",
          maxNumber: 5,
          podSpec: { containers: [container] },
          attributes: { nram: ["Numeric", "4000"], zone: ["String", "a"] },
        },
      ],
    },
    noFiles,
  );
  assert.equal(t?.attributes.ncpus?.value, "2");
  assert.equal(t?.attributes.nram?.value, "4000");
  assert.deepEqual(t?.attributes.zone, { type: "String", value: "a" });
});

test("the GPU example template derives ngpus from its nvidia.com/gpu limit", () => {
  const [gpu] = readTemplatesFile(join(import.meta.dirname, "../../examples/templates-gpu.json"), {
    pendingTimeoutSeconds: 600,
  });
  assert.deepEqual(gpu?.attributes, {
    type: { type: "String", value: "X86_64" },
    ncpus: { type: "Numeric", value: "8" },
    ncores: { type: "Numeric", value: "8" },
    nram: { type: "Numeric", value: "32768" },
    ngpus: { type: "Numeric", value: "1" },
  });
});

test("the borrowed-capacity example template names its low, non-preempting PriorityClass", () => {
  const [borrowed] = readTemplatesFile(
    join(import.meta.dirname, "../../examples/templates-borrowed.json"),
    { pendingTimeoutSeconds: 600 },
  );
  assert.equal(borrowed?.pod.spec.priorityClassName, "symphony-borrowed");
  const classes = readFileSync(
    join(import.meta.dirname, "../../examples/priority-classes.yaml"),
    "utf8",
  );
  assert.match(classes, /^ {2}name: symphony-borrowed$/m);
  assert.match(classes, /^preemptionPolicy: Never$/m);
});

test("extended resources derive numeric attributes: GPUs are ngpus, others n<name>", () => {
  const cases: [string, string | undefined][] = [
    ["nvidia.com/gpu", "ngpus"],
    ["amd.com/gpu", "ngpus"],
    ["gpu.intel.com/i915", "ngpus"],
    ["gpu.intel.com/xe", "ngpus"],
    ["xilinx.com/fpga", "nfpga"],
    ["example.com/dongle-v2.1", "ndongle_v2_1"],
    ["nvidia.com/mig-1g.5gb", "nmig_1g_5gb"],
    ["cpu", undefined],
    ["memory", undefined],
    ["ephemeral-storage", undefined],
    ["hugepages-2Mi", undefined],
    ["kubernetes.io/batteries", undefined],
    ["node.kubernetes.io/thing", undefined],
    ["requests.nvidia.com/gpu", undefined],
    ["example.com/cpus", undefined],
  ];
  for (const [resource, attribute] of cases) {
    assert.equal(extendedResourceAttribute(resource), attribute, resource);
  }
});

test("extended resource attributes sum over containers, fall back to limits and yield to given attributes", () => {
  const gpuContainer = (name: string, resources: Record<string, unknown>) => ({
    name,
    image: "cuda",
    resources,
  });
  const [t, given] = parseTemplates(
    {
      templates: [
        {
          templateId: "t",
          maxNumber: 1,
          podSpec: {
            containers: [
              container,
              gpuContainer("a", { limits: { "nvidia.com/gpu": 2, "xilinx.com/fpga": "1" } }),
              gpuContainer("b", {
                requests: { "amd.com/gpu": "1", "example.com/none": "0" },
                limits: { "amd.com/gpu": "1" },
              }),
            ],
          },
        },
        {
          templateId: "given",
          maxNumber: 1,
          podSpec: { containers: [gpuContainer("a", { limits: { "nvidia.com/gpu": 4 } })] },
          attributes: { ncpus: ["Numeric", "1"], nram: ["Numeric", "1"], ngpus: ["Numeric", "2"] },
        },
      ],
    },
    noFiles,
  );
  assert.deepEqual(t?.attributes.ngpus, { type: "Numeric", value: "3" });
  assert.deepEqual(t?.attributes.nfpga, { type: "Numeric", value: "1" });
  assert.equal(t?.attributes.nnone, undefined, "a request of 0 derives nothing");
  assert.equal(given?.attributes.ngpus?.value, "2");
});

test("a pod spec file may hold a Pod manifest or a bare PodSpec", () => {
  for (const content of [
    { kind: "Pod", spec: { containers: [container] } },
    { containers: [container] },
  ]) {
    const [t] = parseTemplates(
      { templates: [{ templateId: "t", maxNumber: -1, podSpecFile: "pod.yaml" }] },
      () => content,
    );
    assert.ok(t);
    assert.equal((t.pod.spec.containers as unknown[]).length, 1);
    assert.equal(t.maxNumber, -1);
  }
});

test("every problem in a templates document is reported at once, with where it is", () => {
  const problems = problemsOf({
    templates: [
      { templateId: "a", maxNumber: 0, podSpec: { containers: [] } },
      { templateId: "b", maxNumber: 3, podSpec: { containers: [{ name: "x" }] }, colour: "red" },
      { templateId: "c", maxNumber: 3, podSpecFile: "missing.yaml" },
      {
        templateId: "d",
        maxNumber: 3,
        podSpec: { containers: [container] },
        hostnameStyle: "fqdn",
      },
      { templateId: "d", maxNumber: 3, podSpec: { containers: [container] } },
      {
        templateId: "e",
        maxNumber: 3,
        podSpec: { containers: [container] },
        attributes: { ncpus: ["Number", "2"] },
      },
      { templateId: "f", maxNumber: 3, podSpec: { containers: [{ name: "x", image: "i" }] } },
      { templateId: "bad id!", maxNumber: 3 },
    ],
  });
  const expected = [
    /template 'a'.maxNumber/,
    /template 'a'.podSpec: spec.containers must list at least one container/,
    /template 'b': unknown key 'colour'/,
    /template 'b'.podSpec: container 'x' needs an image/,
    /template 'c'.podSpecFile: no file missing.yaml/,
    /template 'd'.hostnameStyle: "fqdn" needs a subdomain/,
    /template 'd': templateId used more than once/,
    /template 'e'.attributes.ncpus: type must be "String" or "Numeric"/,
    /template 'f'.attributes.ncpus: not given, and the pod requests no cpu/,
    /template 'f'.attributes.nram: not given, and the pod requests no memory/,
    /templates\[7\].templateId/,
  ];
  for (const pattern of expected) {
    assert.ok(
      problems.some((p) => pattern.test(p)),
      `${pattern} not in:\n${problems.join("\n")}`,
    );
  }
});

test("a template's every field is checked, whatever else is wrong with it", () => {
  const problems = problemsOf({
    templates: [
      {
        templateId: "bad id!",
        maxNumber: 0,
        pendingTimeoutSeconds: -5,
        podSpec: {
          kind: "Pod",
          metadata: { labels: { tier: 1 } },
          spec: { containers: [{ image: "", resources: { requests: { cpu: "lots" } } }] },
        },
      },
    ],
  });
  assert.deepEqual(problems, [
    "templates[0].templateId: expected 1-63 letters, digits, '-', '_' or '.' starting and ending with a letter or digit, found \"bad id!\"",
    "templates[0].maxNumber: expected a positive integer or -1 (unlimited)",
    "templates[0].podSpec: metadata.labels: expected a map of strings",
    "templates[0].podSpec: spec.containers[0] needs a name",
    "templates[0].podSpec: spec.containers[0] needs an image",
    'templates[0].podSpec: spec.containers[0]: resources.requests.cpu "lots" is not a quantity (like "500m", "2", "4Gi")',
    "templates[0].pendingTimeoutSeconds: expected a positive integer number of seconds",
  ]);
});

test("an empty or shapeless document is refused: HostFactory needs at least one template", () => {
  assert.match(problemsOf({ templates: [] })[0] ?? "", /at least one/);
  assert.match(problemsOf([])[0] ?? "", /expected \{"templates"/);
});

test("what the API server would refuse of a pod spec is refused here, where it is certain offline", () => {
  const pod = (container: Record<string, unknown>, more: Record<string, unknown>[] = []) => ({
    templates: [
      {
        templateId: "t",
        maxNumber: 1,
        podSpec: { containers: [{ image: "i", ...container }, ...more] },
      },
    ],
  });
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ name: "Bad_Name" }, /container name 'Bad_Name' is not a DNS-1123 label/],
    [{ name: "-leading" }, /container name '-leading' is not a DNS-1123 label/],
    [{ name: "x".repeat(64) }, /is not a DNS-1123 label/],
    [
      { name: "c", resources: { requests: { cpu: "lots" } } },
      /container 'c': resources.requests.cpu "lots" is not a quantity/,
    ],
    [
      { name: "c", resources: { limits: { memory: " 2Gi" } } },
      /resources.limits.memory " 2Gi" is not a quantity/,
    ],
    [
      { name: "c", resources: { requests: { cpu: "-1" } } },
      /resources.requests.cpu must not be negative/,
    ],
    [
      { name: "c", resources: { requests: { memory: "4Gi" }, limits: { memory: "2Gi" } } },
      /resources.requests.memory must be less than or equal to its limit/,
    ],
    [{ name: "c", resources: { requests: ["cpu"] } }, /resources.requests must map/],
  ];
  for (const [container, pattern] of cases) {
    const problems = problemsOf(pod(container));
    assert.ok(
      problems.some((p) => pattern.test(p)),
      `${pattern} not in:\n${problems.join("\n")}`,
    );
  }
  assert.match(
    problemsOf(pod({ name: "twin" }, [{ name: "twin", image: "i" }])).join("\n"),
    /container name 'twin' is used twice/,
  );
  const fine = { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: 1, memory: "1Gi" } };
  assert.equal(parseTemplates(pod({ name: "compute-1", resources: fine }), noFiles).length, 1);
});

test("drainPolicy is immediate by default, cooperative on request, and nothing else", () => {
  const document = (drainPolicy?: unknown) => ({
    templates: [
      {
        templateId: "t",
        maxNumber: 3,
        podSpec: { containers: [container] },
        ...(drainPolicy === undefined ? {} : { drainPolicy }),
      },
    ],
  });
  assert.equal(parseTemplates(document(), noFiles)[0]?.drainPolicy, "immediate");
  assert.equal(parseTemplates(document("cooperative"), noFiles)[0]?.drainPolicy, "cooperative");
  assert.deepEqual(problemsOf(document("graceful")), [
    `template 't'.drainPolicy: expected "immediate" (evictions proceed) or "cooperative" (hosts are protected until HostFactory returns them), found "graceful"`,
  ]);
  // Without the node cache nothing would ever tell HostFactory of the drain it holds up.
  const withoutNodes = { pendingTimeoutSeconds: 600, watchNodes: false };
  assert.throws(
    () => parseTemplates(document("cooperative"), noFiles, withoutNodes),
    /template 't'.drainPolicy: "cooperative" needs the sidecar to watch nodes \(--watch-nodes/,
  );
  assert.equal(parseTemplates(document(), noFiles, withoutNodes)[0]?.drainPolicy, "immediate");
});

// Wrong values are refused before anything is rendered, with a message that names the value and
// says what is expected: values.schema.json for each value, the chart's checks across values.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { helmUnavailable } from "./_helm.ts";
import { template } from "./_render.ts";

interface Refusal {
  name: string;
  set: Record<string, unknown>;
  /** Every fragment must be in helm's message. */
  says: string[];
}

const BESIDE = { topology: "beside-hostfactory" };
/** The chart's default template; helm replaces a list as a whole. */
const TEMPLATE = { templateId: "compute-small", maxNumber: 50, podSpecFile: "compute-small.yaml" };
const HOSTFACTORY = { container: { name: "hostfactory", image: "symphony/master:7.3.2" } };

const REFUSALS: Refusal[] = [
  // values.schema.json
  {
    name: "a topology that does not exist",
    set: { topology: "sidecar" },
    says: ["at '/topology'", "'standalone'", "'beside-hostfactory'"],
  },
  {
    name: "no replica",
    set: { replicaCount: 0 },
    says: ["at '/replicaCount'", "minimum: got 0, want 1"],
  },
  {
    name: "a misspelt top-level value",
    set: { replicas: 3 },
    says: ["additional properties 'replicas' not allowed"],
  },
  {
    name: "a misspelt nested value",
    set: { tls: { clientCa: { enabled: true } } },
    says: ["at '/tls'", "additional properties 'clientCa' not allowed"],
  },
  {
    name: "a pod name prefix that is no DNS label",
    set: { podNamePrefix: "HF_" },
    says: ["at '/podNamePrefix'", "does not match pattern"],
  },
  {
    name: "an instance that is no label value",
    set: { instance: "grid a" },
    says: ["at '/instance'", "does not match pattern"],
  },
  {
    name: "socket permissions given as a number",
    set: { grpc: { socketMode: 660 } },
    says: ["at '/grpc/socketMode'", "got number, want string"],
  },
  {
    name: "a port out of range",
    set: { grpc: { port: 70000 } },
    says: ["at '/grpc/port'", "maximum: got 70,000, want 65,535"],
  },
  {
    name: "an image digest that is a tag",
    set: { image: { digest: "latest" } },
    says: ["at '/image/digest'", "does not match pattern"],
  },
  {
    name: "a writable root filesystem",
    set: { securityContext: { readOnlyRootFilesystem: false } },
    says: ["at '/securityContext/readOnlyRootFilesystem'", "value must be true"],
  },
  {
    name: "running as root",
    set: { securityContext: { runAsNonRoot: false, runAsUser: 0 } },
    says: [
      "at '/securityContext/runAsNonRoot'",
      "value must be true",
      "at '/securityContext/runAsUser'",
      "minimum: got 0, want 1",
    ],
  },
  {
    name: "a template with maxNumber 0",
    set: { templates: [{ ...TEMPLATE, maxNumber: 0 }] },
    says: ["at '/templates/0/maxNumber'", "value must be -1", "minimum: got 0, want 1"],
  },
  {
    name: "an attribute of an unknown type",
    set: { templates: [{ ...TEMPLATE, attributes: { ncpus: ["Integer", "4"] } }] },
    says: ["at '/templates/0/attributes/ncpus/0'", "'String'", "'Numeric'"],
  },
  {
    name: "a pod spec file that is not YAML",
    set: { podSpecs: { "compute.json": { spec: {} } } },
    says: ["invalid propertyName 'compute.json'", "does not match pattern"],
  },
  {
    name: "a bind address that is a host:port",
    set: { bindAddress: "0.0.0.0:7070" },
    says: ["at '/bindAddress'", "does not match pattern"],
  },
  {
    name: "an IPv6 bind address without brackets",
    set: { bindAddress: "::" },
    says: ["at '/bindAddress'", "does not match pattern"],
  },
  {
    name: "the bind address where it was before it bound every listener",
    set: { grpc: { bindAddress: "0.0.0.0" } },
    says: ["at '/grpc'", "additional properties 'bindAddress' not allowed"],
  },
  {
    name: "a TLS reload interval of zero",
    set: { tls: { reloadIntervalSeconds: 0 } },
    says: ["at '/tls/reloadIntervalSeconds'", "minimum: got 0, want 1"],
  },
  {
    name: "a health port out of range",
    set: { probes: { port: 70000 } },
    says: ["at '/probes/port'", "maximum: got 70,000, want 65,535"],
  },
  {
    name: "a metrics port of zero",
    set: { metrics: { port: 0 } },
    says: ["at '/metrics/port'", "minimum: got 0, want 1"],
  },
  {
    name: "a metrics port given as a string",
    set: { metrics: { port: "9090" } },
    says: ["at '/metrics/port'", "got string, want integer"],
  },
  {
    name: "a misspelt metrics value",
    set: { metrics: { enable: false } },
    says: ["at '/metrics'", "additional properties 'enable' not allowed"],
  },
  {
    name: "a scrape interval without a unit",
    set: { metrics: { serviceMonitor: { interval: "30" } } },
    says: ["at '/metrics/serviceMonitor/interval'", "does not match pattern"],
  },
  {
    name: "a ServiceMonitor label that is not a string",
    set: { metrics: { serviceMonitor: { labels: { release: 1 } } } },
    says: ["at '/metrics/serviceMonitor/labels/release'", "got number, want string"],
  },
  {
    name: "Prometheus's peers given as one peer instead of a list",
    set: { networkPolicy: { metricsIngressFrom: { podSelector: {} } } },
    says: ["at '/networkPolicy/metricsIngressFrom'", "got object, want array"],
  },
  {
    name: "a probe timing of zero",
    set: { probes: { liveness: { periodSeconds: 0 } } },
    says: ["at '/probes/liveness/periodSeconds'", "minimum: got 0, want 1"],
  },
  // The chart's checks across values
  {
    name: "several replicas without leader election",
    set: { replicaCount: 2, leaderElection: { enabled: false } },
    says: ["replicaCount is 2 but leaderElection.enabled is false", "Turn leader election on"],
  },
  {
    name: "leader election timings in the wrong order",
    set: { leaderElection: { renewDeadlineSeconds: 20 } },
    says: ["retryPeriodSeconds < renewDeadlineSeconds < leaseDurationSeconds", "2, 20, 15"],
  },
  {
    name: "beside-hostfactory without HostFactory's container",
    set: BESIDE,
    says: ["hostfactory.container needs at least a name and an image"],
  },
  {
    name: "beside-hostfactory with two replicas",
    set: { ...BESIDE, hostfactory: HOSTFACTORY, replicaCount: 2 },
    says: ["beside-hostfactory runs one HostFactory Pod: set replicaCount to 1"],
  },
  {
    name: "beside-hostfactory with a network policy",
    set: { ...BESIDE, hostfactory: HOSTFACTORY, networkPolicy: { enabled: true } },
    says: ["networkPolicy", "cut off HostFactory's own traffic"],
  },
  {
    name: "the metrics port on the gRPC port",
    set: { metrics: { port: 7070 } },
    says: ["metrics.port 7070 is also grpc.port: each port in the Pod needs a number of its own"],
  },
  {
    name: "the health port on the metrics port",
    set: { probes: { port: 9090 } },
    says: ["metrics.port 9090 is also probes.port"],
  },
  {
    name: "beside-hostfactory with the metrics port taken by HostFactory's container",
    set: {
      ...BESIDE,
      hostfactory: {
        container: { ...HOSTFACTORY.container, ports: [{ name: "ui", containerPort: 9090 }] },
      },
    },
    says: ["metrics.port 9090 is also a port of hostfactory.container"],
  },
  {
    name: "a ServiceMonitor without metrics",
    set: { metrics: { enabled: false, serviceMonitor: { enabled: true } } },
    says: ["metrics.serviceMonitor.enabled needs metrics.enabled"],
  },
  {
    name: "cert-manager without an issuer",
    set: { tls: { certManager: { enabled: true } } },
    says: ["tls.certManager.issuerRef.name"],
  },
  {
    name: "no templates",
    set: { templates: [] },
    says: ["give at least one HostFactory template (or existingTemplatesConfigMap)"],
  },
  {
    name: "a template naming a pod spec file that is not there",
    set: { templates: [{ ...TEMPLATE, podSpecFile: "compute-big.yaml" }] },
    says: [
      'templates[0] (compute-small): podSpecFile "compute-big.yaml" is not a key of podSpecs',
      "(have: compute-small.yaml)",
    ],
  },
  {
    name: "a template with both an inline pod spec and a file",
    set: { templates: [{ ...TEMPLATE, podSpec: { containers: [{ name: "c", image: "i" }] } }] },
    says: ["templates[0] (compute-small): give exactly one of podSpec"],
  },
  {
    name: "an existing ServiceAccount without its name",
    set: { serviceAccount: { create: false } },
    says: ["serviceAccount.name: give the existing ServiceAccount"],
  },
];

describe("refused values", { skip: helmUnavailable() }, () => {
  for (const { name, set, says } of REFUSALS) {
    test(`${name} is refused, and the message says so`, () => {
      const result = template({ set });
      assert.notEqual(result.status, 0, `rendered although ${name}`);
      for (const fragment of says) {
        assert.ok(result.stderr.includes(fragment), `expected "${fragment}" in:\n${result.stderr}`);
      }
    });
  }
});

test("null lifts a default, as the OpenShift value set does", { skip: helmUnavailable() }, () => {
  const result = template({ set: { securityContext: { runAsUser: null } } });
  assert.equal(result.status, 0, result.stderr);
});

// The Helm chart over every value set CI covers: it lints, renders objects the Kubernetes API
// knows, configures the sidecar only through options it has, and keeps its security promises.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { OPTIONS } from "../../sidecar/config.ts";
import { POD_NAME_ENV } from "../../sidecar/kube/replica-identity.ts";
import { controlPlaneUnavailable } from "../control-plane/index.ts";
import { chartControlPlane } from "./_cluster.ts";
import { CHART, helmUnavailable, runHelm } from "./_helm.ts";
import {
  type Container,
  envOf,
  FULLNAME,
  type KubeObject,
  NAMESPACE,
  type NetworkPolicy,
  type Probe,
  RELEASE,
  type Rendered,
  render,
  type ServiceObject,
  unknownFields,
  VALUE_SETS,
  type ValueSet,
  valueArgs,
} from "./_render.ts";

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const HEALTH_SERVICE = "hostfactory.v1.ProviderService";
const METRICS_SERVICE = `${FULLNAME}-metrics`;
/** The fields a probe may have: the grpc check and its timings, no exec, httpGet or tcpSocket. */
const PROBE_FIELDS = ["grpc", "periodSeconds", "timeoutSeconds", "failureThreshold"];
/** Who the chart lets scrape metrics by default: Prometheus's Pods, in any namespace. */
const PROMETHEUS_PEERS = [
  {
    namespaceSelector: {},
    podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
  },
];

/** Why these suites skip, when they do. */
const SKIP = helmUnavailable();

const rendered = new Map<ValueSet, Rendered>();
function renderedSet(valueSet: ValueSet): Rendered {
  let result = rendered.get(valueSet);
  if (!result) {
    result = render({ valueSet });
    rendered.set(valueSet, result);
  }
  return result;
}

/** The probes as [kind, probe, health service it must ask about]. */
function probes(container: Container): [string, Probe | undefined, string][] {
  return [
    ["startupProbe", container.startupProbe, ""],
    ["readinessProbe", container.readinessProbe, HEALTH_SERVICE],
    ["livenessProbe", container.livenessProbe, ""],
  ];
}

/** The ports a container opens, as name → number. */
function portsOf(container: Container): Record<string, number> {
  return Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]));
}

describe("helm lint", { skip: SKIP }, () => {
  for (const valueSet of VALUE_SETS) {
    test(`${valueSet}: passes --strict`, () => {
      const result = runHelm(["lint", "--strict", CHART, ...valueArgs({ valueSet })]);
      assert.equal(result.status, 0, result.stdout + result.stderr);
    });
  }
});

describe("every value set", { skip: SKIP }, () => {
  for (const valueSet of VALUE_SETS) {
    describe(valueSet, () => {
      const { objects, one, all, deployment, sidecar } = renderedSet(valueSet);
      const pod = deployment.spec.template.spec;

      test("renders only fields the Kubernetes API knows", () => {
        assert.deepEqual(objects.flatMap(unknownFields), []);
      });

      test("puts every namespaced object in the release's namespace", () => {
        for (const object of objects) {
          const clusterScoped = ["ClusterRole", "ClusterRoleBinding"].includes(object.kind);
          assert.equal(object.metadata.namespace, clusterScoped ? undefined : NAMESPACE);
        }
      });

      test("runs the sidecar as non-root on a read-only root filesystem, without capabilities", () => {
        const context = sidecar.securityContext ?? {};
        assert.equal(context.runAsNonRoot, true);
        assert.equal(context.readOnlyRootFilesystem, true);
        assert.equal(context.allowPrivilegeEscalation, false);
        assert.deepEqual(context.capabilities, { drop: ["ALL"] });
        assert.deepEqual(context.seccompProfile, { type: "RuntimeDefault" });
        assert.deepEqual(pod.securityContext?.seccompProfile, { type: "RuntimeDefault" });
        if (context.runAsUser !== undefined) assert.ok(Number(context.runAsUser) > 0);
      });

      test("gives the sidecar resource requests and limits", () => {
        for (const resource of ["cpu", "memory"]) {
          assert.ok(sidecar.resources?.requests?.[resource], `requests.${resource}`);
          assert.ok(sidecar.resources?.limits?.[resource], `limits.${resource}`);
        }
      });

      test("mounts the API token into the sidecar's container alone", () => {
        assert.equal(pod.automountServiceAccountToken, false);
        const mounting = pod.containers.filter((c) =>
          c.volumeMounts?.some((m) => m.mountPath === SERVICE_ACCOUNT_DIR),
        );
        assert.deepEqual(
          mounting.map((c) => c.name),
          ["sidecar"],
        );
        const mount = sidecar.volumeMounts?.find((m) => m.mountPath === SERVICE_ACCOUNT_DIR);
        assert.equal(mount?.readOnly, true);
        const volume = pod.volumes.find((v) => v.name === mount?.name);
        assert.deepEqual(
          volume?.projected?.sources.map((source) => Object.keys(source)[0]),
          ["serviceAccountToken", "configMap", "downwardAPI"],
        );
      });

      test("configures the sidecar only through environment variables it reads", () => {
        // POD_NAME is not an option: it is the Lease identity (sidecar/kube/replica-identity.ts).
        const known = new Set([
          ...Object.values(OPTIONS).map((option) => option.env),
          POD_NAME_ENV,
        ]);
        for (const name of envOf(sidecar).keys()) {
          assert.ok(known.has(name), `${name} is not an option of sidecar/config.ts`);
        }
      });

      test("probes health with the kubelet's native grpc probe on the plain health port", () => {
        assert.equal(envOf(sidecar).get("HOSTFACTORY_HEALTH_LISTEN"), "0.0.0.0:7071");
        assert.equal(portsOf(sidecar).health, 7071);
        for (const [kind, probe, service] of probes(sidecar)) {
          assert.deepEqual(probe?.grpc, { port: 7071, service }, kind);
          for (const field of Object.keys(probe ?? {})) {
            assert.ok(PROBE_FIELDS.includes(field), `${kind} has ${field}`);
          }
        }
      });

      test("serves metrics on their port, listed by a headless Service that keeps unready Pods", () => {
        assert.equal(envOf(sidecar).get("HOSTFACTORY_METRICS_LISTEN"), "0.0.0.0:9090");
        assert.equal(portsOf(sidecar).metrics, 9090);
        const service = one<ServiceObject>("Service", METRICS_SERVICE);
        assert.deepEqual(service.spec, {
          clusterIP: "None",
          publishNotReadyAddresses: true,
          selector: deployment.spec.selector.matchLabels,
          ports: [{ name: "metrics", port: 9090, targetPort: "metrics", protocol: "TCP" }],
        });
        assert.equal(service.metadata.labels?.["app.kubernetes.io/component"], "metrics");
        assert.deepEqual(all("ServiceMonitor"), []);
      });

      test("points the sidecar at the templates ConfigMap's mount", () => {
        const templates = envOf(sidecar).get("HOSTFACTORY_TEMPLATES") ?? "";
        const mount = sidecar.volumeMounts?.find((m) => templates.startsWith(`${m.mountPath}/`));
        const volume = pod.volumes.find((v) => v.name === mount?.name);
        assert.equal(volume?.configMap?.name, `${FULLNAME}-templates`);
        assert.ok(templates.endsWith("/templates.json"));
      });

      test("names the sidecar's own Lease and instance, and holds the Lease under the Pod's name", () => {
        const env = envOf(sidecar);
        assert.equal(env.get("HF_PROVIDER_NAME"), "grid");
        assert.equal(env.get("HOSTFACTORY_LEADER_ELECT"), "true");
        assert.equal(env.get("HOSTFACTORY_LEASE_NAME"), "hostfactory-k8s-grid");
        assert.equal(env.get("HOSTFACTORY_NAMESPACE"), "fieldRef:metadata.namespace");
        assert.equal(env.get("POD_NAME"), "fieldRef:metadata.name");
      });
    });
  }
});

describe("standalone over TLS (the default)", { skip: SKIP }, () => {
  const { one, sidecar, deployment } = renderedSet("default");
  const env = envOf(sidecar);

  test("listens on TCP with the certificate from the TLS Secret", () => {
    assert.equal(env.get("HOSTFACTORY_LISTEN"), "0.0.0.0:7070");
    assert.equal(env.has("HOSTFACTORY_INSECURE"), false);
    const mount = sidecar.volumeMounts?.find((m) => m.name === "tls");
    assert.equal(env.get("HOSTFACTORY_TLS_CERT"), `${mount?.mountPath}/tls.crt`);
    assert.equal(env.get("HOSTFACTORY_TLS_KEY"), `${mount?.mountPath}/tls.key`);
    const volume = deployment.spec.template.spec.volumes.find((v) => v.name === "tls");
    assert.equal(volume?.secret?.secretName, `${FULLNAME}-tls`);
  });

  test("re-reads the mounted certificate every minute, so renewals need no restart", () => {
    assert.equal(env.get("HOSTFACTORY_TLS_RELOAD_INTERVAL"), "60");
  });

  test("takes the probe timings from the values", () => {
    assert.deepEqual(
      probes(sidecar).map(([, probe]) => [
        probe?.periodSeconds,
        probe?.timeoutSeconds,
        probe?.failureThreshold,
      ]),
      [
        [2, 5, 60],
        [10, 5, 3],
        [20, 5, 3],
      ],
    );
  });

  test("exposes the gRPC port alone through a Service that selects the sidecar's Pods", () => {
    const service = one<ServiceObject>("Service", FULLNAME);
    assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
    assert.deepEqual(
      service.spec.ports.map((p) => [p.port, p.targetPort]),
      [[7070, "grpc"]],
    );
    assert.deepEqual(sidecar.ports, [
      { name: "grpc", containerPort: 7070, protocol: "TCP" },
      { name: "health", containerPort: 7071, protocol: "TCP" },
      { name: "metrics", containerPort: 9090, protocol: "TCP" },
    ]);
  });

  test("rolls one Pod at a time with a surge, the Lease keeping reconciling single", () => {
    assert.deepEqual(deployment.spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
  });
});

describe("plain TCP (grpc.insecure)", { skip: SKIP }, () => {
  const { sidecar } = render({ set: { grpc: { insecure: true } } });

  test("serves without TLS only when told, and says so to the sidecar", () => {
    const env = envOf(sidecar);
    assert.equal(env.get("HOSTFACTORY_INSECURE"), "true");
    assert.equal(env.has("HOSTFACTORY_TLS_CERT"), false);
    assert.equal(env.has("HOSTFACTORY_TLS_RELOAD_INTERVAL"), false);
  });
});

describe("ha", { skip: SKIP }, () => {
  const { one, deployment } = renderedSet("ha");

  test("runs three replicas with a disruption budget", () => {
    assert.equal(deployment.spec.replicas, 3);
    const budget = one("PodDisruptionBudget") as KubeObject & {
      spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
    };
    assert.equal(budget.spec.maxUnavailable, 1);
    assert.deepEqual(budget.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
  });

  test("admits gRPC from HostFactory's hosts and metrics scrapes from Prometheus only", () => {
    const policy = one<NetworkPolicy>("NetworkPolicy");
    assert.deepEqual(policy.spec.podSelector.matchLabels, deployment.spec.selector.matchLabels);
    assert.deepEqual(policy.spec.policyTypes, ["Ingress"]);
    assert.deepEqual(policy.spec.ingress, [
      { from: [{ ipBlock: { cidr: "10.20.0.0/24" } }], ports: [{ port: "grpc", protocol: "TCP" }] },
      { from: PROMETHEUS_PEERS, ports: [{ port: "metrics", protocol: "TCP" }] },
    ]);
  });
});

describe("tls (mutual TLS, cert-manager)", { skip: SKIP }, () => {
  const { one, sidecar, deployment } = renderedSet("tls");

  test("asks clients for certificates that chain to the CA of the TLS Secret", () => {
    const caFile = envOf(sidecar).get("HOSTFACTORY_TLS_CLIENT_CA") ?? "";
    const mount = sidecar.volumeMounts?.find((m) => caFile.startsWith(`${m.mountPath}/`));
    const volume = deployment.spec.template.spec.volumes.find((v) => v.name === mount?.name);
    assert.deepEqual(volume?.secret, {
      secretName: `${FULLNAME}-tls`,
      items: [{ key: "ca.crt", path: caFile.slice((mount?.mountPath.length ?? 0) + 1) }],
    });
  });

  test("has cert-manager issue a server certificate for the Service's names", () => {
    const certificate = one("Certificate") as KubeObject & {
      spec: { secretName: string; dnsNames: string[]; usages: string[]; issuerRef: unknown };
    };
    assert.equal(certificate.spec.secretName, `${FULLNAME}-tls`);
    assert.deepEqual(certificate.spec.dnsNames, [
      FULLNAME,
      `${FULLNAME}.${NAMESPACE}`,
      `${FULLNAME}.${NAMESPACE}.svc`,
      `${FULLNAME}.${NAMESPACE}.svc.cluster.local`,
      "hostfactory-k8s.grid.example.com",
    ]);
    // Mutual TLS or not, nothing presents the sidecar's certificate as a client's.
    assert.deepEqual(certificate.spec.usages, ["digital signature", "server auth"]);
    assert.deepEqual(certificate.spec.issuerRef, {
      name: "symphony-ca",
      kind: "Issuer",
      group: "cert-manager.io",
    });
  });
});

describe("beside-hostfactory", { skip: SKIP }, () => {
  const { one, all, deployment, sidecar } = renderedSet("beside-hostfactory");
  const pod = deployment.spec.template.spec;
  const hostfactory = pod.containers.find((c) => c.name === "hostfactory");

  test("runs HostFactory's container and the sidecar in one Pod that is never doubled", () => {
    assert.deepEqual(
      pod.containers.map((c) => c.name),
      ["hostfactory", "sidecar"],
    );
    assert.equal(deployment.spec.replicas, 1);
    assert.deepEqual(deployment.spec.strategy, { type: "Recreate" });
  });

  test("shares the Unix socket through an emptyDir that both containers mount", () => {
    const listen = envOf(sidecar).get("HOSTFACTORY_LISTEN") ?? "";
    assert.match(listen, /^unix:\/\/\//);
    assert.equal(hostfactory && envOf(hostfactory).get("HOSTFACTORY_ADDRESS"), listen);
    const socketDir = listen.slice("unix://".length).replace(/\/[^/]+$/, "");
    const mountOf = (c: Container | undefined) =>
      c?.volumeMounts?.find((m) => m.mountPath === socketDir)?.name;
    assert.ok(mountOf(sidecar));
    assert.equal(mountOf(hostfactory), mountOf(sidecar));
    const volume = pod.volumes.find((v) => v.name === mountOf(sidecar));
    assert.deepEqual(volume?.emptyDir, { medium: "Memory", sizeLimit: "1Mi" });
    // HostFactory runs as another user: the socket is the fsGroup's, and group-writable.
    assert.equal(envOf(sidecar).get("HOSTFACTORY_SOCKET_MODE"), "0660");
    assert.ok(deployment.spec.template.spec.securityContext?.fsGroup);
  });

  test("keeps HostFactory's own settings and volumes", () => {
    assert.equal(hostfactory?.image, "registry.example.com/symphony/master:7.3.2");
    assert.equal(
      hostfactory && envOf(hostfactory).get("HF_CONFDIR"),
      "/opt/ibm/spectrumcomputing/hostfactory/conf",
    );
    assert.ok(pod.volumes.some((v) => v.name === "hostfactory-work"));
  });

  test("serves gRPC on no network port, only health and metrics, and no gRPC Service", () => {
    assert.deepEqual(portsOf(sidecar), { health: 7071, metrics: 9090 });
    assert.deepEqual(
      all("Service")
        .map((s) => s.metadata.name)
        .sort(),
      [METRICS_SERVICE, "symphony-compute"],
    );
  });

  test("creates the headless Service a template names as its subdomain", () => {
    const service = one("Service", "symphony-compute") as KubeObject & {
      spec: Record<string, unknown>;
    };
    assert.deepEqual(service.spec, {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: { "hostfactory-k8s/instance": envOf(sidecar).get("HF_PROVIDER_NAME") },
    });
  });

  test("writes every template and pod spec file into the templates ConfigMap", () => {
    const configMap = one("ConfigMap") as KubeObject & { data: Record<string, string> };
    const { templates } = JSON.parse(configMap.data["templates.json"] ?? "") as {
      templates: { templateId: string; podSpecFile: string }[];
    };
    assert.deepEqual(
      templates.map((t) => t.templateId),
      ["compute-small", "compute-large"],
    );
    for (const { podSpecFile } of templates) assert.ok(configMap.data[podSpecFile], podSpecFile);
  });
});

describe("openshift", { skip: SKIP }, () => {
  const { deployment, sidecar } = renderedSet("openshift");

  test("leaves user, group and fsGroup to the SCC", () => {
    const podContext = deployment.spec.template.spec.securityContext ?? {};
    const context = sidecar.securityContext ?? {};
    for (const field of ["runAsUser", "runAsGroup", "fsGroup"]) {
      assert.equal(podContext[field], undefined, `pod ${field}`);
      assert.equal(context[field], undefined, `container ${field}`);
    }
  });
});

describe("values that change the shape", { skip: SKIP }, () => {
  test("one replica without leader election is replaced, never overlapped", () => {
    const { deployment, sidecar } = render({ set: { leaderElection: { enabled: false } } });
    assert.deepEqual(deployment.spec.strategy, { type: "Recreate" });
    assert.equal(envOf(sidecar).get("HOSTFACTORY_LEADER_ELECT"), "false");
    assert.equal(envOf(sidecar).has("HOSTFACTORY_LEASE_NAME"), false);
  });

  test("an existing templates ConfigMap replaces the chart's", () => {
    const { all, deployment } = render({ set: { existingTemplatesConfigMap: "my-templates" } });
    assert.deepEqual(all("ConfigMap"), []);
    const volume = deployment.spec.template.spec.volumes.find((v) => v.name === "templates");
    assert.equal(volume?.configMap?.name, "my-templates");
  });

  test("an image digest pins the image", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    const { sidecar } = render({ set: { image: { repository: "r.example.com/hf", digest } } });
    assert.equal(sidecar.image, `r.example.com/hf:0.1.0@${digest}`);
  });
});

describe("metrics", { skip: SKIP }, () => {
  test("turned off: no listener, port, Service or NetworkPolicy rule", () => {
    const { all, one, sidecar } = render({
      set: { metrics: { enabled: false }, networkPolicy: { enabled: true } },
    });
    assert.equal(envOf(sidecar).has("HOSTFACTORY_METRICS_LISTEN"), false);
    assert.equal(portsOf(sidecar).metrics, undefined);
    assert.ok(!all("Service").some((s) => s.metadata.name === METRICS_SERVICE));
    // No peers of any kind: the policy shuts every port.
    assert.deepEqual(one<NetworkPolicy>("NetworkPolicy").spec.ingress, []);
  });

  test("a ServiceMonitor scrapes the metrics Service alone, with the interval and labels given", () => {
    const { one } = render({
      set: {
        metrics: {
          serviceMonitor: { enabled: true, interval: "15s", labels: { release: "prometheus" } },
        },
      },
    });
    const monitor = one("ServiceMonitor") as KubeObject & {
      spec: {
        namespaceSelector: unknown;
        selector: { matchLabels: Record<string, string> };
        endpoints: unknown[];
      };
    };
    assert.equal(monitor.apiVersion, "monitoring.coreos.com/v1");
    assert.equal(monitor.metadata.labels?.release, "prometheus");
    assert.deepEqual(monitor.spec.namespaceSelector, { matchNames: [NAMESPACE] });
    assert.deepEqual(monitor.spec.endpoints, [
      { port: "metrics", path: "/metrics", interval: "15s" },
    ]);
    const selected = (object: KubeObject) =>
      Object.entries(monitor.spec.selector.matchLabels).every(
        ([key, value]) => object.metadata.labels?.[key] === value,
      );
    assert.ok(selected(one("Service", METRICS_SERVICE)));
    assert.ok(!selected(one("Service", FULLNAME)));
  });

  test("the NetworkPolicy admits scrapes from the peers given", () => {
    const peers = [{ namespaceSelector: { matchLabels: { name: "monitoring" } } }];
    const { one } = render({
      set: { networkPolicy: { enabled: true, metricsIngressFrom: peers } },
    });
    assert.deepEqual(one<NetworkPolicy>("NetworkPolicy").spec.ingress, [
      { from: peers, ports: [{ port: "metrics", protocol: "TCP" }] },
    ]);
  });

  test("ports of one's own choosing move the listeners, ports and probes together", () => {
    const { one, sidecar } = render({ set: { probes: { port: 8081 }, metrics: { port: 8080 } } });
    const env = envOf(sidecar);
    assert.equal(env.get("HOSTFACTORY_HEALTH_LISTEN"), "0.0.0.0:8081");
    assert.equal(env.get("HOSTFACTORY_METRICS_LISTEN"), "0.0.0.0:8080");
    assert.deepEqual(portsOf(sidecar), { grpc: 7070, health: 8081, metrics: 8080 });
    for (const [kind, probe] of probes(sidecar)) assert.equal(probe?.grpc?.port, 8081, kind);
    assert.equal(one<ServiceObject>("Service", METRICS_SERVICE).spec.ports[0]?.port, 8080);
  });
});

describe("bindAddress", { skip: SKIP }, () => {
  test("an IPv6 address binds every listener; the metrics server takes it without brackets", () => {
    const env = envOf(render({ set: { bindAddress: "[::]" } }).sidecar);
    assert.equal(env.get("HOSTFACTORY_LISTEN"), "[::]:7070");
    assert.equal(env.get("HOSTFACTORY_HEALTH_LISTEN"), "[::]:7071");
    assert.equal(env.get("HOSTFACTORY_METRICS_LISTEN"), ":::9090");
  });
});

describe("failFast", { skip: SKIP }, () => {
  test("the reasons reach the sidecar comma-separated, and an empty list as none (an empty variable would mean the default)", () => {
    const defaults = envOf(render().sidecar);
    assert.equal(
      defaults.get("HOSTFACTORY_FAIL_FAST_REASONS"),
      "ErrImagePull,ImagePullBackOff,InvalidImageName,ErrImageNeverPull,CreateContainerConfigError,CrashLoopBackOff",
    );
    assert.equal(defaults.get("HOSTFACTORY_FAIL_FAST_AFTER"), "15");
    const off = envOf(render({ set: { failFast: { reasons: [], afterSeconds: 0 } } }).sidecar);
    assert.equal(off.get("HOSTFACTORY_FAIL_FAST_REASONS"), "none");
    assert.equal(off.get("HOSTFACTORY_FAIL_FAST_AFTER"), "0");
  });
});

// Helm 3.15 and later reach for a cluster even for `install --dry-run=client` (helm/helm#13144),
// and map every object to a served kind: the notes are rendered against the shared control plane.
describe("NOTES.txt", { skip: SKIP ?? controlPlaneUnavailable() }, () => {
  let kubeconfig: string;
  before(async () => {
    kubeconfig = (await chartControlPlane()).kubeconfigPath;
  });
  const notes = (valueSet: ValueSet): string => {
    const result = runHelm([
      "install",
      "--dry-run=client",
      "--kubeconfig",
      kubeconfig,
      RELEASE,
      CHART,
      ...valueArgs({ valueSet }),
    ]);
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.slice(result.stdout.indexOf("NOTES:"));
  };

  test("standalone: tells the operator the address, the TLS setup and the install command", () => {
    const text = notes("tls");
    const address = `${FULLNAME}.${NAMESPACE}.svc:7070`;
    assert.ok(text.includes(`--address ${address}`), text);
    assert.ok(text.includes("hostfactory install --hf-confdir"), text);
    assert.ok(text.includes('"cert": "client.crt"'), text);
    assert.ok(text.includes("Mutual TLS is on"), text);
  });

  test("beside-hostfactory: tells the operator the socket and the install command", () => {
    const text = notes("beside-hostfactory");
    assert.ok(text.includes("--address unix:///run/hostfactory/provider.sock"), text);
    assert.ok(!text.includes("TLS"), text);
  });
});

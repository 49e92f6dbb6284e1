// The chart on a real API server: `helm install` puts every object it renders into the control
// plane, and the sidecar, run as the container would be (the chart's environment, its templates
// ConfigMap) with the chart's ServiceAccount's credentials, serves HostFactory through the real
// RBAC authorizer: the Role is enough for a request to run to complete and its machines to be
// returned, the cooperative hosts' PodDisruptionBudget can be made and kept, and a Role missing
// one verb makes the provider fail with the API server's reason.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  PolicyV1Api,
  RbacAuthorizationV1Api,
} from "@kubernetes/client-node";
import { createDisruptionBudget } from "../../sidecar/kube/disruption-budget.ts";
import { createRateLimiter } from "../../sidecar/kube/rate-limiter.ts";
import { controlPlaneUnavailable, type SharedControlPlane } from "../control-plane/index.ts";
import { waitForFinal } from "../e2e/_requests.ts";
import { runScript } from "../e2e/harness.ts";
import { waitFor } from "../tools/wait-for.ts";
import { chartControlPlane } from "./_cluster.ts";
import { CHART, helmUnavailable, ROOT, runHelm } from "./_helm.ts";
import { type Container, envOf, type KubeObject } from "./_render.ts";

const RELEASE = "grid";
/** Boots and installs on a loaded 2-core machine; only stops a hung suite. */
const SUITE_TIMEOUT_MS = 600_000;
/** How long a request may take to reach a final answer on the real control plane. */
const REQUEST_TIMEOUT_MS = 120_000;
/** The chart's listeners and TLS files are the Pod's; here the sidecar serves a Unix socket. */
const POD_ONLY_ENV = [
  "HOSTFACTORY_LISTEN",
  "HOSTFACTORY_TLS_CERT",
  "HOSTFACTORY_TLS_KEY",
  "HOSTFACTORY_TLS_CLIENT_CA",
  "HOSTFACTORY_TLS_RELOAD_INTERVAL",
  "HOSTFACTORY_HEALTH_LISTEN",
  "HOSTFACTORY_METRICS_LISTEN",
];

type Machine = { name: string; result: string; status: string; privateIpAddress: string };
type RequestAnswer = { requestId: string; status: string; message: string; machines: Machine[] };

describe("the chart installed into a real API server", {
  skip: helmUnavailable() ?? controlPlaneUnavailable(),
  timeout: SUITE_TIMEOUT_MS,
}, () => {
  let controlPlane: SharedControlPlane;
  let namespace: string;
  let manifest: KubeObject[];
  let sidecar: ChildProcess | undefined;
  let sidecarOutput = "";
  const scratch = mkdtempSync(join(tmpdir(), "chart-install-"));
  const socket = join(scratch, "sidecar.sock");
  let inputs = 0;

  const one = (kind: string) => {
    const found = manifest.filter((object) => object.kind === kind);
    assert.equal(found.length, 1, `the release has ${found.length} ${kind} objects`);
    return found[0] as KubeObject;
  };

  const script = async (operation: string, input: unknown) => {
    const file = join(scratch, `input-${inputs++}.json`);
    writeFileSync(file, JSON.stringify(input));
    const result = await runScript(operation, ["-f", file], {
      HOSTFACTORY_ADDRESS: `unix://${socket}`,
    });
    assert.equal(result.code, 0, `${operation}: ${result.stdout}${result.stderr}`);
    assert.ok(result.json, `${operation} printed no JSON: ${result.stdout}`);
    return result.json;
  };

  const untilFinal = (requestId: string) =>
    waitForFinal(
      requestId,
      async () => {
        const answer = await script("getRequestStatus", { requests: [{ requestId }] });
        return (answer.requests as RequestAnswer[])[0];
      },
      {
        timeoutMs: REQUEST_TIMEOUT_MS,
        intervalMs: 250,
        what: () => `request ${requestId} to finish; the sidecar said:\n${sidecarOutput}`,
      },
    );

  const requestMachines = async (count: number) => {
    const answer = await script("requestMachines", {
      template: { templateId: "compute-small", machineCount: count },
    });
    return String(answer.requestId);
  };

  before(async () => {
    controlPlane = await chartControlPlane();
    namespace = await controlPlane.createNamespace();
    const kubeconfig = ["--kubeconfig", controlPlane.kubeconfigPath, "--namespace", namespace];
    const install = runHelm(["install", RELEASE, CHART, ...kubeconfig]);
    assert.equal(install.status, 0, `helm install failed:\n${install.stderr}`);
    const got = runHelm(["get", "manifest", RELEASE, ...kubeconfig]);
    assert.equal(got.status, 0, got.stderr);
    manifest = (loadAllYaml(got.stdout) as (KubeObject | null)[]).filter(
      (object): object is KubeObject => object !== null,
    );
  });

  after(async () => {
    if (sidecar && sidecar.exitCode === null) {
      const exited = new Promise((resolve) => sidecar?.once("exit", resolve));
      sidecar.kill("SIGTERM");
      await exited;
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  test("the API server holds every object the chart rendered", async () => {
    const objects = KubernetesObjectApi.makeApiClient(controlPlane.kubeConfig());
    const kinds = manifest.map((object) => object.kind).sort();
    for (const kind of ["ConfigMap", "Deployment", "Role", "RoleBinding", "ServiceAccount"]) {
      assert.ok(kinds.includes(kind), `the release has no ${kind}: ${kinds.join(", ")}`);
    }
    for (const object of manifest) {
      const stored = await objects.read({
        apiVersion: object.apiVersion,
        kind: object.kind,
        metadata: { name: object.metadata.name, namespace: namespace },
      });
      assert.equal(stored.metadata?.name, object.metadata.name);
      assert.equal(stored.metadata?.labels?.["app.kubernetes.io/instance"], RELEASE);
    }
  });

  test("the sidecar, as the chart's ServiceAccount, serves a request to completion and a return", async () => {
    const core = controlPlane.kubeConfig().makeApiClient(CoreV1Api);
    const deployment = one("Deployment") as KubeObject & {
      spec: { template: { spec: { serviceAccountName: string; containers: Container[] } } };
    };
    const podSpec = deployment.spec.template.spec;
    const container = podSpec.containers.find((c) => c.name === "sidecar");
    assert.ok(container, "the Deployment has no sidecar container");

    // The templates as the kubelet would mount them: the chart's ConfigMap, read back.
    const configMap = await core.readNamespacedConfigMap({
      name: one("ConfigMap").metadata.name,
      namespace,
    });
    const templates = join(scratch, "templates");
    mkdirSync(templates);
    for (const [file, text] of Object.entries(configMap.data ?? {})) {
      writeFileSync(join(templates, file), text);
    }

    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    for (const [name, value] of envOf(container)) {
      if (!POD_ONLY_ENV.includes(name)) env[name] = value;
    }
    const templatesFile = env.HOSTFACTORY_TEMPLATES ?? "";
    env.HOSTFACTORY_TEMPLATES = join(templates, templatesFile.split("/").pop() ?? "");
    env.HOSTFACTORY_NAMESPACE = namespace;
    env.HOSTFACTORY_LISTEN = `unix://${socket}`;
    env.HOSTFACTORY_LOG_LEVEL = "warn";
    env.KUBECONFIG = await controlPlane.kubeconfigFor(
      namespace,
      podSpec.serviceAccountName,
      join(scratch, "service-account.kubeconfig"),
    );
    sidecar = spawn(process.execPath, ["sidecar/main.ts"], { cwd: ROOT, env, stdio: "pipe" });
    const collect = (chunk: Buffer) => {
      sidecarOutput += chunk;
    };
    sidecar.stdout?.on("data", collect);
    sidecar.stderr?.on("data", collect);

    const requestId = await waitFor(
      "the sidecar to take a request",
      async () => {
        assert.equal(sidecar?.exitCode, null, `the sidecar exited:\n${sidecarOutput}`);
        try {
          return await requestMachines(2);
        } catch {
          return undefined;
        }
      },
      { timeoutMs: REQUEST_TIMEOUT_MS, intervalMs: 250 },
    );
    const created = await untilFinal(requestId);
    assert.equal(created.status, "complete", JSON.stringify(created));
    assert.equal(created.machines.length, 2);
    for (const machine of created.machines) {
      assert.equal(machine.result, "succeed");
      assert.match(machine.privateIpAddress, /^10\.244\.\d+\.\d+$/);
    }

    const returned = await script("requestReturnMachines", {
      machines: created.machines.map((machine) => ({ name: machine.name })),
    });
    const returnAnswer = await untilFinal(String(returned.requestId));
    assert.equal(returnAnswer.status, "complete", JSON.stringify(returnAnswer));
  });

  test("as the chart's ServiceAccount, the PodDisruptionBudget of cooperative hosts is made, checked and put back", async () => {
    const deployment = one("Deployment") as KubeObject & {
      spec: { template: { spec: { serviceAccountName: string; containers: Container[] } } };
    };
    const podSpec = deployment.spec.template.spec;
    const container = podSpec.containers.find((c) => c.name === "sidecar");
    const instance = (container && envOf(container).get("HF_PROVIDER_NAME")) ?? "";
    const asServiceAccount = new KubeConfig();
    asServiceAccount.loadFromFile(
      await controlPlane.kubeconfigFor(
        namespace,
        podSpec.serviceAccountName,
        join(scratch, "budget.kubeconfig"),
      ),
    );
    const budget = createDisruptionBudget(
      asServiceAccount.makeApiClient(PolicyV1Api),
      createRateLimiter(),
      namespace,
      instance,
    );
    assert.equal(await budget.ensure(), "created");
    assert.equal(await budget.ensure(), "unchanged");
    const admin = controlPlane.kubeConfig().makeApiClient(PolicyV1Api);
    const found = await admin.readNamespacedPodDisruptionBudget({ name: budget.name, namespace });
    await admin.replaceNamespacedPodDisruptionBudget({
      name: budget.name,
      namespace,
      body: { ...found, spec: { ...found.spec, maxUnavailable: 2 } },
    });
    assert.equal(await budget.ensure(), "updated");
  });

  test("a Role without create on pods makes the request fail with the API server's reason", async () => {
    assert.ok(sidecar && sidecar.exitCode === null, "the previous test left no sidecar running");
    const rbac = controlPlane.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    const name = one("Role").metadata.name;
    const role = await rbac.readNamespacedRole({ name, namespace });
    role.rules = role.rules?.map((rule) =>
      rule.resources?.includes("pods")
        ? { ...rule, verbs: rule.verbs.filter((verb) => verb !== "create") }
        : rule,
    );
    await rbac.replaceNamespacedRole({ name, namespace, body: role });

    const requestId = await requestMachines(1);
    const failed = await untilFinal(requestId);
    assert.equal(failed.status, "complete_with_error", JSON.stringify(failed));
    const serviceAccount = `system:serviceaccount:${namespace}:${one("ServiceAccount").metadata.name}`;
    const reason = `${failed.message} ${failed.machines.map((m) => JSON.stringify(m)).join(" ")}`;
    assert.match(reason, /forbidden/);
    assert.ok(reason.includes(serviceAccount), reason);
    assert.match(reason, /cannot create resource \\?"pods\\?"/);
  });
});

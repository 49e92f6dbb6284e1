// A control plane of one's own: components can be killed and started again with their state
// kept in etcd, and none of its processes outlives the process that started it, even killed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AdmissionregistrationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { type WaitOptions, waitFor } from "../tools/wait-for.ts";
import { type ControlPlane, controlPlaneUnavailable, startControlPlane } from "./index.ts";

/** Boots on a loaded 2-core machine; only stops a hung suite. */
const SUITE_TIMEOUT_MS = 600_000;
const POLL_MS = 100;
/** Waits that the suite's own timeout bounds. */
const WAIT: WaitOptions = { timeoutMs: SUITE_TIMEOUT_MS, intervalMs: POLL_MS };

/** Pids of the processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) pids.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return pids;
}

describe("a control plane of one's own", {
  skip: controlPlaneUnavailable(),
  timeout: SUITE_TIMEOUT_MS,
}, () => {
  let controlPlane: ControlPlane;
  let core: CoreV1Api;
  before(async () => {
    controlPlane = await startControlPlane({ nodes: [{ name: "only" }] });
    core = controlPlane.kubeConfig().makeApiClient(CoreV1Api);
  });
  after(() => controlPlane?.stop());

  test("kube-apiserver restarts on the same address and serves what etcd kept", async () => {
    const namespace = await controlPlane.createNamespace();
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: "kept" }, data: { a: "1" } },
    });
    await controlPlane.restart("kube-apiserver");
    const read = await core.readNamespacedConfigMap({ namespace, name: "kept" });
    assert.deepEqual(read.data, { a: "1" });
  });

  test("etcd killed and started again keeps its data and takes writes", async () => {
    const namespace = await controlPlane.createNamespace();
    await controlPlane.kill("etcd");
    await controlPlane.start("etcd");
    // The API server's etcd client reconnects on its own.
    await waitFor(
      "a write after etcd's restart",
      async () => {
        try {
          return await core.createNamespacedConfigMap({
            namespace,
            body: { metadata: { name: "after-etcd" } },
          });
        } catch {
          return undefined;
        }
      },
      WAIT,
    );
    const read = await core.readNamespace({ name: namespace });
    assert.equal(read.metadata?.name, namespace);
  });

  test("a pod whose start KWOK dropped starts once the kubelets resync", async () => {
    const namespace = await controlPlane.createNamespace();
    const admission = controlPlane.kubeConfig().makeApiClient(AdmissionregistrationV1Api);
    const phase = async (name: string) =>
      (await core.readNamespacedPod({ namespace, name })).status?.phase;
    // A pod no scheduler and no kubelet touches, to see whether the policy is in force.
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "probe" },
        spec: { schedulerName: "nobody", containers: [{ name: "main", image: "busybox" }] },
      },
    });
    const probeMayRun = async () => {
      try {
        await core.patchNamespacedPodStatus({
          namespace,
          name: "probe",
          body: [{ op: "replace", path: "/status/phase", value: "Running" }],
        });
        return true;
      } catch {
        return false;
      }
    };
    // A refusal that is neither a refused connection nor a timeout, like the error of an API
    // server whose etcd died under it: KWOK does not retry it.
    const policy = `hold-${namespace}`;
    await admission.createValidatingAdmissionPolicy({
      body: {
        metadata: { name: policy },
        spec: {
          failurePolicy: "Fail",
          matchConstraints: {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
            resourceRules: [
              {
                apiGroups: [""],
                apiVersions: ["v1"],
                operations: ["UPDATE"],
                resources: ["pods/status"],
              },
            ],
          },
          validations: [{ expression: "object.status.phase != 'Running'", message: "held" }],
        },
      },
    });
    await admission.createValidatingAdmissionPolicyBinding({
      body: {
        metadata: { name: policy },
        spec: { policyName: policy, validationActions: ["Deny"] },
      },
    });
    await waitFor("the policy to refuse a Running pod", async () => !(await probeMayRun()), WAIT);

    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "held" },
        spec: { nodeName: "only", containers: [{ name: "main", image: "busybox" }] },
      },
    });
    const kwokLog = join(controlPlane.dir, "logs", "kwok.log");
    const gaveUp = new RegExp(`"failed to apply stage".*"pod":"${namespace}/held"`);
    await waitFor(
      "KWOK to give up on the held pod",
      () => gaveUp.test(readFileSync(kwokLog, "utf8")) || undefined,
      WAIT,
    );
    await admission.deleteValidatingAdmissionPolicyBinding({ name: policy });
    await admission.deleteValidatingAdmissionPolicy({ name: policy });
    await waitFor("the policy to be gone", probeMayRun, WAIT);
    assert.equal(await phase("held"), "Pending", "KWOK, unlike a kubelet, does not try again");

    await controlPlane.resyncKubelets();
    await waitFor("the held pod to run", async () => (await phase("held")) === "Running", WAIT);
  });

  test("a component that is running cannot be started twice", async () => {
    await assert.rejects(controlPlane.start("kube-scheduler"), {
      message: "kube-scheduler is already running",
    });
  });
});

describe("nothing outlives the process that started the control plane", {
  skip: controlPlaneUnavailable(),
  timeout: SUITE_TIMEOUT_MS,
}, () => {
  test("SIGKILL to the owner takes every component down", async () => {
    const owner = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { startControlPlane } = await import(${JSON.stringify(join(import.meta.dirname, "index.ts"))});
           const controlPlane = await startControlPlane({ nodes: [] });
           console.log(controlPlane.dir);
           setInterval(() => {}, 1 << 30);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const dir = await new Promise<string>((resolve, reject) => {
      let out = "";
      owner.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
        if (out.includes("\n")) resolve(out.trim());
      });
      owner.on("exit", (code) => reject(new Error(`the owner exited ${code} before booting`)));
    });
    try {
      const components = processesMentioning(dir);
      // Five components and the guard of each.
      assert.equal(components.length, 10, `processes of ${dir}: ${components.join(", ")}`);
      owner.kill("SIGKILL");
      const alive = await waitFor(
        "the components to exit with their owner",
        () => {
          const left = processesMentioning(dir);
          return left.length === 0 ? left : undefined;
        },
        WAIT,
      );
      assert.deepEqual(alive, []);
    } finally {
      owner.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

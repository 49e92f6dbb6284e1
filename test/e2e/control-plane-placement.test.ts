// The placement examples (examples/templates-placement.json) as operators would use them: the
// client accepts the file, and on the real control plane kube-scheduler puts the hosts where the
// pod specs say: the zoned template one per zone, the spot template on the tainted spot node.
// The preStop hook that closes the host in EGO runs here with an egosh that records its calls.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CoreV1Api, loadYaml, type V1Pod } from "@kubernetes/client-node";
import { admin } from "../admin/_run-admin.ts";
import {
  controlPlaneUnavailable,
  type SharedControlPlane,
  sharedControlPlane,
} from "../control-plane/index.ts";
import { runProcess } from "../tools/run-process.ts";
import { waitFor } from "../tools/wait-for.ts";
import { accepted } from "./_requests.ts";
import { type ControlPlaneHarness, startControlPlaneHarness } from "./control-plane-harness.ts";

const EXAMPLES = join(import.meta.dirname, "..", "..", "examples");
const TEMPLATES = join(EXAMPLES, "templates-placement.json");
const ZONE = "topology.kubernetes.io/zone";
const SPOT = "cloud.google.com/gke-spot";
const ZONES = ["hf-test-zone-a", "hf-test-zone-b", "hf-test-zone-c"];

test("the client accepts the placement examples", async () => {
  const result = await admin(["templates", "validate", TEMPLATES]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /valid, 3 templates: compute-zoned, compute-spot, compute-ego-close/);
});

test("the preStop hook logs on to EGO, closes its own host with -reclaim, and fails when egosh does", async () => {
  const pod = loadYaml<V1Pod>(
    readFileSync(join(EXAMPLES, "pod-specs", "compute-ego-close.yaml"), "utf8"),
  );
  const [shell, flag, script] = pod.spec?.containers[0]?.lifecycle?.preStop?.exec?.command ?? [];
  const dir = mkdtempSync(join(tmpdir(), "ego-close-"));
  try {
    const calls = join(dir, "calls");
    // An egosh that records its arguments, and fails `resource close` when told to.
    writeFileSync(
      join(dir, "egosh"),
      `#!/bin/sh\necho "$*" >> "${calls}"\n[ "$1 $2" = "resource close" ] && [ -n "\${FAIL_CLOSE:-}" ] && exit 1\nexit 0\n`,
    );
    chmodSync(join(dir, "egosh"), 0o755);
    const env = {
      PATH: `${dir}:${process.env.PATH}`,
      EGO_TOP: dir,
      EGO_ADMIN_USER: "Admin",
      EGO_ADMIN_PASSWORD: "secret",
    };
    const host = (await runProcess("hostname", [])).stdout.trim();
    const run = await runProcess(shell ?? "", [flag ?? "", script ?? ""], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(readFileSync(calls, "utf8").trim().split("\n"), [
      "user logon -u Admin -x secret",
      `resource close -reclaim ${host}`,
      "user logoff",
    ]);
    const failed = await runProcess(shell ?? "", [flag ?? "", script ?? ""], {
      env: { ...env, FAIL_CLOSE: "1" },
    });
    assert.notEqual(failed.code, 0, "a failed close fails the hook, so the kubelet reports it");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const skip = controlPlaneUnavailable();
if (skip) console.log(`# skipping placement on the real control plane: ${skip}`);

describe("placement examples on the real control plane", { skip }, () => {
  let controlPlane: SharedControlPlane;
  let h: ControlPlaneHarness;
  let core: CoreV1Api;
  const nodes: string[] = [];
  before(async () => {
    controlPlane = await sharedControlPlane();
    core = controlPlane.kubeConfig().makeApiClient(CoreV1Api);
    for (const zone of ZONES) nodes.push(await controlPlane.addNode({ labels: { [ZONE]: zone } }));
    nodes.push(
      await controlPlane.addNode({
        labels: { [SPOT]: "true" },
        taints: [{ key: SPOT, value: "true", effect: "NoSchedule" }],
      }),
    );
    h = await startControlPlaneHarness(controlPlane, { templates: TEMPLATES });
  });
  after(async () => {
    await h?.close();
    for (const name of nodes) await core.deleteNode({ name }).catch(() => {});
  });

  /** The nodes the request's pods are bound to, once all `count` are. */
  async function placed(requestId: string, count: number): Promise<string[]> {
    return waitFor(`the ${count} pods of ${requestId} to be scheduled`, async () => {
      const { items } = await core.listNamespacedPod({
        namespace: h.namespace,
        labelSelector: `hostfactory-k8s/request-id=${requestId}`,
      });
      const bound = items.map((pod) => pod.spec?.nodeName ?? "").filter(Boolean);
      return bound.length === count && bound;
    });
  }

  test("the zoned template puts one host in each zone", async () => {
    const requestId = await accepted(h, "requestMachines", {
      template: { templateId: "compute-zoned", machineCount: 3 },
    });
    const zones = await Promise.all(
      (await placed(requestId, 3)).map(
        async (name) => (await core.readNode({ name })).metadata?.labels?.[ZONE],
      ),
    );
    assert.deepEqual(zones.sort(), ZONES);
  });

  test("the spot template lands on the spot node, its taint tolerated", async () => {
    const requestId = await accepted(h, "requestMachines", {
      template: { templateId: "compute-spot", machineCount: 2 },
    });
    assert.deepEqual(await placed(requestId, 2), [nodes[3], nodes[3]]);
  });
});

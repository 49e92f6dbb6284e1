// `hostfactory doctor` on the real control plane: a template naming a PriorityClass, a
// RuntimeClass and a ServiceAccount that do not exist gets one failure for each, with the fix;
// once they exist, the check passes and names them.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CoreV1Api, NodeV1Api, SchedulingV1Api } from "@kubernetes/client-node";
import {
  controlPlaneUnavailable,
  type SharedControlPlane,
  sharedControlPlane,
} from "../control-plane/index.ts";
import {
  type ControlPlaneHarness,
  startControlPlaneHarness,
} from "../e2e/control-plane-harness.ts";
import { admin } from "./_run-admin.ts";

const TEMPLATES = join(import.meta.dirname, "..", "fixtures", "templates", "references.json");
const CLASS = "hostfactory-test-doctor-class";
const RUNTIME = "hostfactory-test-doctor-runtime";
const ACCOUNT = "hostfactory-test-doctor-account";

type Check = { check: string; status: string; message: string; fix?: string };

const skip = controlPlaneUnavailable();
if (skip) console.log(`# skipping doctor on the real control plane: ${skip}`);

describe("doctor: the objects templates name, on the real control plane", { skip }, () => {
  let controlPlane: SharedControlPlane;
  let h: ControlPlaneHarness;
  let scheduling: SchedulingV1Api;
  let node: NodeV1Api;
  before(async () => {
    controlPlane = await sharedControlPlane();
    scheduling = controlPlane.kubeConfig().makeApiClient(SchedulingV1Api);
    node = controlPlane.kubeConfig().makeApiClient(NodeV1Api);
    h = await startControlPlaneHarness(controlPlane, { templates: TEMPLATES });
  });
  after(async () => {
    await h?.close();
    await scheduling?.deletePriorityClass({ name: CLASS }).catch(() => {});
    await node?.deleteRuntimeClass({ name: RUNTIME }).catch(() => {});
  });

  async function referenceChecks(): Promise<Check[]> {
    const result = await admin(["doctor", "--json"], { address: h.address });
    assert.ok(result.json, result.stdout + result.stderr);
    return (result.json.checks as Check[]).filter((c) =>
      /^template (references|named-objects: )/.test(c.check),
    );
  }

  test("each missing object fails with what to do about it", async () => {
    const checks = await referenceChecks();
    assert.deepEqual(
      checks.map((c) => `${c.status} ${c.check}`),
      [
        "fail template named-objects: PriorityClass",
        "fail template named-objects: RuntimeClass",
        "fail template named-objects: ServiceAccount",
      ],
    );
    assert.match(
      checks[0]?.message ?? "",
      new RegExp(`names PriorityClass ${CLASS}, which does not exist`),
    );
    assert.match(checks[0]?.fix ?? "", /examples\/priority-classes\.yaml/);
    assert.match(checks[1]?.fix ?? "", new RegExp(`create RuntimeClass ${RUNTIME}`));
    assert.match(
      checks[2]?.message ?? "",
      new RegExp(`ServiceAccount ${ACCOUNT}, which does not exist in namespace ${h.namespace}`),
    );
    assert.equal(
      checks[2]?.fix,
      `kubectl -n ${h.namespace} create serviceaccount ${ACCOUNT}, or correct the template's serviceAccountName`,
    );
  });

  test("once they exist, the check passes and names them", async () => {
    await scheduling.createPriorityClass({ body: { metadata: { name: CLASS }, value: 0 } });
    await node.createRuntimeClass({ body: { metadata: { name: RUNTIME }, handler: "runc" } });
    await controlPlane
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespacedServiceAccount({
        namespace: h.namespace,
        body: { metadata: { name: ACCOUNT } },
      });
    const checks = await referenceChecks();
    assert.deepEqual(
      checks.map((c) => `${c.status} ${c.check}: ${c.message}`),
      [
        `ok template references: they exist: PriorityClass ${CLASS}, RuntimeClass ${RUNTIME}, ServiceAccount ${ACCOUNT}`,
      ],
    );
  });
});

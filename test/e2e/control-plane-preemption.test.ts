// Preemption on the real control plane: hosts of a low, non-preempting PriorityClass fill a small
// node; a higher-priority pod of another namespace that needs the room makes kube-scheduler
// preempt one. HostFactory hears of it through the scripts: getReturnRequests reports the victim
// at once with the time it has left, and the create request still running fails that machine
// with "preempted by pod <uid> on node <node>" (the scheduler's Event names it so). A template
// naming a PriorityClass that does not exist is refused before a request is taken.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ApiException, CoreV1Api, SchedulingV1Api } from "@kubernetes/client-node";
import {
  controlPlaneUnavailable,
  type SharedControlPlane,
  sharedControlPlane,
} from "../control-plane/index.ts";
import { waitFor } from "../tools/wait-for.ts";
import { accepted, type RequestAnswer } from "./_requests.ts";
import { type ControlPlaneHarness, startControlPlaneHarness } from "./control-plane-harness.ts";

const TEMPLATES = join(import.meta.dirname, "..", "fixtures", "templates", "preemption.json");
/** The node the borrowed hosts fill, kept from every other suite's pods by its taint. */
const POOL = { key: "hostfactory-k8s.test/pool", value: "preemption" };
/** The templates' class, like examples/priority-classes.yaml: lowest, never preempting. */
const BORROWED_CLASS = "hostfactory-test-borrowed";
const URGENT_CLASS = "hostfactory-test-urgent";
/** The templates' terminationGracePeriodSeconds. */
const GRACE_SECONDS = 30;

const skip = controlPlaneUnavailable();
if (skip) console.log(`# skipping preemption on the real control plane: ${skip}`);

async function ensurePriorityClass(
  scheduling: SchedulingV1Api,
  name: string,
  value: number,
  preemptionPolicy: "Never" | "PreemptLowerPriority",
): Promise<void> {
  try {
    await scheduling.createPriorityClass({
      body: { metadata: { name }, value, preemptionPolicy, globalDefault: false },
    });
  } catch (error) {
    if (!(error instanceof ApiException && error.code === 409)) throw error;
  }
}

describe("preemption on the real control plane", { skip }, () => {
  let controlPlane: SharedControlPlane;
  let h: ControlPlaneHarness;
  let core: CoreV1Api;
  let node = "";
  before(async () => {
    controlPlane = await sharedControlPlane();
    const kubeConfig = controlPlane.kubeConfig();
    core = kubeConfig.makeApiClient(CoreV1Api);
    const scheduling = kubeConfig.makeApiClient(SchedulingV1Api);
    await ensurePriorityClass(scheduling, BORROWED_CLASS, -10, "Never");
    await ensurePriorityClass(scheduling, URGENT_CLASS, 1000, "PreemptLowerPriority");
    node = await controlPlane.addNode({
      cpu: "1",
      labels: { [POOL.key]: POOL.value },
      taints: [{ key: POOL.key, value: POOL.value, effect: "NoSchedule" }],
    });
    h = await startControlPlaneHarness(controlPlane, { templates: TEMPLATES });
  });
  after(async () => {
    await h?.close();
    if (node) await core.deleteNode({ name: node }).catch(() => {});
  });

  const status = async (requestId: string): Promise<RequestAnswer | undefined> => {
    const result = await h.script("getRequestStatus", { requests: [{ requestId }] });
    return (result.json?.requests as RequestAnswer[] | undefined)?.[0];
  };

  test("a preempted host is reported at once with its grace, and fails its running request naming the preemptor", async () => {
    // Three hosts of 400m on a 1-CPU node: two run, the third waits (it never preempts). Their
    // pods are annotated so that KWOK, as a kubelet, removes them only once their grace period
    // is over (test/control-plane/kwok-stages.yaml).
    const requestId = await accepted(h, "requestMachines", {
      template: { templateId: "borrowed", machineCount: 3 },
    });
    const running = await waitFor("two hosts to run", async () => {
      const answer = await status(requestId);
      const up = answer?.machines.filter((m) => m.result === "succeed") ?? [];
      return up.length === 2 && answer?.status === "running" ? up : undefined;
    });
    const bank = await controlPlane.createNamespace();
    const preemptor = await core.createNamespacedPod({
      namespace: bank,
      body: {
        metadata: { name: "risk-eod" },
        spec: {
          priorityClassName: URGENT_CLASS,
          nodeSelector: { [POOL.key]: POOL.value },
          tolerations: [{ key: POOL.key, value: POOL.value, effect: "NoSchedule" }],
          containers: [
            {
              name: "risk",
              image: "registry.example.com/bank/risk:1",
              resources: { requests: { cpu: "500m" } },
            },
          ],
        },
      },
    });

    const held = running.map((m) => ({ name: m.name, machineId: m.machineId }));
    const reported = await waitFor("getReturnRequests to report the victim", async () => {
      const result = await h.script("getReturnRequests", { machines: held });
      const requests = (result.json?.requests ?? []) as { machine: string; gracePeriod: number }[];
      return requests.length > 0 ? requests : undefined;
    });
    assert.equal(reported.length, 1, "one host makes room enough");
    const [victim] = reported;
    assert.ok(
      victim && victim.gracePeriod > GRACE_SECONDS / 2 && victim.gracePeriod <= GRACE_SECONDS,
      `the victim has its grace period left: ${JSON.stringify(victim)}`,
    );

    const failed = await waitFor("the victim's machine to fail", async () => {
      const answer = await status(requestId);
      return answer?.machines.find((m) => m.name === victim?.machine && m.result === "fail");
    });
    // kube-scheduler's Preempted Event names the preemptor by UID (it relates no object).
    assert.equal(failed.message, `preempted by pod ${preemptor.metadata?.uid} on node ${node}`);
    const survivor = running.find((m) => m.name !== victim?.machine);
    const answer = await status(requestId);
    assert.equal(answer?.machines.find((m) => m.name === survivor?.name)?.result, "succeed");
  });

  test("a template naming a PriorityClass that does not exist is refused up front, naming it, and nothing is written", async () => {
    const records = await h.truth.configMapCount();
    const refused = await h.script("requestMachines", {
      template: { templateId: "unknown-class", machineCount: 1 },
    });
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(
      String(refused.json?.message),
      /template 'unknown-class' names PriorityClass 'hostfactory-test-no-such-class', which does not exist in the cluster.*nothing was requested/,
    );
    assert.equal(await h.truth.configMapCount(), records, "no record was written");
  });
});

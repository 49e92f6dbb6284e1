// The provider end to end, as HostFactory drives it: the real five scripts, the real client,
// gRPC over a Unix socket, the sidecar, and the cluster's API as ground truth. The same suite
// runs on the simulator (provider.test.ts) and on the real control plane (control-plane.test.ts).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../tools/wait-for.ts";
import { waitForFinal } from "./_requests.ts";
import { type E2eHarness, INSTANCE, runScript } from "./harness.ts";

type Json = Record<string, unknown>;
type Machine = {
  machineId: string;
  name: string;
  result: string;
  status: string;
  privateIpAddress: string;
  publicIpAddress: string;
  launchtime: number;
  message: string;
};
type RequestAnswer = { requestId: string; status: string; message: string; machines: Machine[] };

/**
 * Registers the suite against the harness `open` gives, whose cluster has no node big enough for
 * compute-huge (test/fixtures/templates/templates.json).
 */
export function providerSuite(
  title: string,
  open: () => Promise<E2eHarness>,
  options: {
    /**
     * Pods take longer to start than a script call takes (the simulator's 400 ms), so the first
     * poll must find the request running. KWOK's kubelets start them in less: there a first
     * poll may find it complete already.
     */
    slowStart?: boolean;
  } = {},
): void {
  describe(title, () => {
    let h: E2eHarness;
    before(async () => {
      h = await open();
    });
    after(async () => {
      await h?.close();
    });

    async function ok(operation: string, input: unknown): Promise<Json> {
      const result = await h.script(operation, input);
      assert.equal(
        result.code,
        0,
        `${operation} exited ${result.code}: ${result.stdout}${result.stderr}`,
      );
      assert.ok(result.json, `${operation} printed no JSON: ${result.stdout}`);
      return result.json;
    }

    async function status(requestId: string): Promise<RequestAnswer> {
      const answer = await ok("getRequestStatus", { requests: [{ requestId }] });
      const [request] = answer.requests as RequestAnswer[];
      assert.ok(request);
      return request;
    }

    async function untilFinal(requestId: string, timeoutMs = 15_000): Promise<RequestAnswer> {
      return waitForFinal(requestId, () => status(requestId), { timeoutMs, intervalMs: 200 });
    }

    async function requestMachines(templateId: string, machineCount: number): Promise<string> {
      const answer = await ok("requestMachines", { template: { templateId, machineCount } });
      assert.match(String(answer.requestId), /^req-[a-z0-9]{10}$/);
      return String(answer.requestId);
    }

    describe("a burst and its return", () => {
      let machines: Machine[] = [];

      test("requestMachines for 5 runs, then completes with 5 machines that succeed", async () => {
        const requestId = await requestMachines("compute-small", 5);
        const first = await status(requestId);
        if (options.slowStart) assert.equal(first.status, "running");
        else assert.match(first.status, /^(running|complete)$/);
        const final = await untilFinal(requestId);
        assert.equal(final.status, "complete", final.message);
        machines = final.machines;
        assert.equal(machines.length, 5);
        const pods = (await h.truth.pods()).filter(
          (p) => p.labels["hostfactory-k8s/request-id"] === requestId,
        );
        assert.equal(pods.length, 5);
        for (const machine of machines) {
          const stored = await h.truth.pod(machine.name);
          assert.ok(stored, `pod ${machine.name} exists`);
          assert.equal(machine.result, "succeed");
          assert.equal(machine.status, "running");
          assert.equal(stored.phase, "Running");
          assert.equal(machine.machineId, stored.uid);
          assert.equal(machine.privateIpAddress, stored.podIP);
          assert.match(machine.privateIpAddress, /^\d+\.\d+\.\d+\.\d+$/);
          assert.equal(machine.publicIpAddress, "");
          assert.equal(machine.launchtime, Math.floor(stored.createdAt / 1000));
          assert.equal(stored.labels["hostfactory-k8s/instance"], INSTANCE);
          assert.equal(stored.labels["hostfactory-k8s/template-id"], "compute-small");
        }
      });

      test("requestReturnMachines for 3 runs, then completes with each machine gone; 2 pods remain", async () => {
        const returned = machines.slice(0, 3).map(({ name, machineId }) => ({ name, machineId }));
        const answer = await ok("requestReturnMachines", { machines: returned });
        const returnId = String(answer.requestId);
        assert.match(returnId, /^ret-[a-z0-9]{10}$/);
        const final = await untilFinal(returnId);
        assert.equal(final.status, "complete", final.message);
        assert.deepEqual(
          final.machines.map((m) => [m.name, m.result]),
          returned.map((m) => [m.name, "succeed"]),
        );
        const left = (await h.truth.pods()).map((p) => p.name);
        for (const machine of returned)
          assert.ok(!left.includes(machine.name), `${machine.name} is gone`);
        for (const machine of machines.slice(3))
          assert.ok(left.includes(machine.name), `${machine.name} stays`);
      });

      test("a pod deleted behind our back shows up in getReturnRequests with gracePeriod 0", async () => {
        const [kept, victim] = machines.slice(3);
        assert.ok(kept && victim);
        await h.truth.deletePod(victim.name, 0);
        const answer = await waitFor("the deletion to be reported", async () => {
          const result = await ok("getReturnRequests", {
            machines: [kept, victim].map(({ name, machineId }) => ({ name, machineId })),
          });
          return (result.requests as unknown[]).length > 0 && result;
        });
        assert.equal(answer.status, "complete");
        assert.deepEqual(answer.requests, [{ machine: victim.name, gracePeriod: 0 }]);
      });
    });

    test("an unschedulable template ends complete_with_error after its Pending timeout, no pod left", async () => {
      const requestId = await requestMachines("compute-huge", 2);
      const final = await untilFinal(requestId, 20_000);
      assert.equal(final.status, "complete_with_error");
      assert.equal(final.machines.length, 2);
      for (const machine of final.machines) {
        assert.equal(machine.result, "fail");
        assert.match(
          machine.message,
          /^Pod stayed Pending for 2s: 0\/\d+ nodes are available: (.*, )?\d+ Insufficient cpu[.,]/,
        );
      }
      await waitFor("the pods to be deleted", async () =>
        (await h.truth.pods()).every((p) => p.labels["hostfactory-k8s/request-id"] !== requestId),
      );
    });

    test("an unknown request id answers complete_with_error while the other ids are still answered", async () => {
      const known = await requestMachines("compute-small", 1);
      const answer = await ok("getRequestStatus", {
        requests: [{ requestId: "req-0000000000" }, { requestId: known }, { requestId: "bogus" }],
      });
      const [unknown, real, bogus] = answer.requests as RequestAnswer[];
      assert.equal(unknown?.status, "complete_with_error");
      assert.match(unknown?.message ?? "", /not known/);
      assert.equal(real?.requestId, known);
      assert.notEqual(real?.status, "complete_with_error");
      assert.equal(bogus?.status, "complete_with_error");
      await untilFinal(known);
    });

    describe("bad input gets a clear answer and changes nothing in the cluster", () => {
      const cases: [string, string, unknown, number, RegExp][] = [
        [
          "unknown template",
          "requestMachines",
          { template: { templateId: "gpu-large", machineCount: 1 } },
          2,
          /template 'gpu-large' not found; available: compute-small, compute-huge/,
        ],
        [
          "count over maxNumber",
          "requestMachines",
          { template: { templateId: "compute-small", machineCount: 11 } },
          2,
          /compute-small' has \d+ of 10 machines available; 11 requested/,
        ],
        [
          "zero machines",
          "requestMachines",
          { template: { templateId: "compute-small", machineCount: 0 } },
          2,
          /machineCount/,
        ],
        ["malformed JSON", "requestMachines", '{"template": {"templateId": ', 2, /JSON/],
        [
          "a machine name no host can have",
          "requestReturnMachines",
          { machines: [{ name: "DB_Server_1", machineId: "x" }] },
          2,
          /not machine names of provider instance 'e2e': DB_Server_1/,
        ],
      ];
      for (const [label, operation, input, code, message] of cases) {
        test(label, async () => {
          const counts = async () => ({
            pods: (await h.truth.pods()).length,
            configMaps: await h.truth.configMapCount(),
          });
          const before = await counts();
          const result = await h.script(operation, input);
          assert.equal(result.code, code, result.stdout + result.stderr);
          assert.match(String(result.json?.message), message);
          assert.deepEqual(await counts(), before);
        });
      }

      test("missing -f", async () => {
        const before = await h.truth.configMapCount();
        const result = await runScript("requestMachines", [], { HOSTFACTORY_ADDRESS: h.address });
        assert.equal(result.code, 2);
        assert.match(String(result.json?.message), /-f/);
        assert.equal(await h.truth.configMapCount(), before);
      });
    });

    test("getAvailableTemplates lists every template with typed attributes and what is left", async () => {
      const answer = await ok("getAvailableTemplates", {});
      const templates = answer.templates as Json[];
      assert.deepEqual(
        templates.map((t) => t.templateId),
        ["compute-small", "compute-huge"],
      );
      const small = templates[0] as {
        maxNumber: number;
        availableNumber: number;
        attributes: Json;
      };
      assert.equal(small.maxNumber, 10);
      assert.equal(
        small.availableNumber,
        10 -
          (await h.truth.pods()).filter(
            (p) => p.labels["hostfactory-k8s/template-id"] === "compute-small",
          ).length,
      );
      assert.deepEqual(small.attributes, {
        type: ["String", "X86_64"],
        ncpus: ["Numeric", "1"],
        ncores: ["Numeric", "1"],
        nram: ["Numeric", "256"],
      });
    });
  });
}

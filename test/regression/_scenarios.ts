// The regression scenarios, as HostFactory plays them: only the five real scripts talk to the
// provider; the cluster is read directly for the ground truth (which pods exist) and for the
// timings (when each pod was first seen, and when it was first seen Running and Ready).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, describe, type TestContext, test } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { waitForFinal } from "../e2e/_requests.ts";
import { waitFor } from "../tools/wait-for.ts";
import { PENDING_TIMEOUT_SECONDS, type Target, TEMPLATE, UNSCHEDULABLE } from "./_targets.ts";

/** How often HostFactory's side polls getRequestStatus. */
const POLL_MS = 250;
/** How long a scenario step may take on the simulator; a real cluster gets `slowness` times it. */
const STEP_TIMEOUT_MS = 20_000;

type Json = Record<string, unknown>;
interface Machine {
  machineId: string;
  name: string;
  result: string;
  status: string;
  privateIpAddress: string;
  message: string;
}
interface RequestAnswer {
  requestId: string;
  status: string;
  message: string;
  machines: Machine[];
}

/** One scenario's numbers, as the report gives them. */
export interface ScenarioTiming {
  scenario: string;
  target: string;
  machines: number;
  /** Seconds from requestMachines to the first of its pods seen. */
  requestToFirstPod: number | null;
  /** Seconds from each pod first seen to it first seen Running and Ready. */
  createdToRunning: { p50: number; p95: number; max: number } | null;
  /** Seconds from requestMachines until getRequestStatus first answered a final status. */
  requestToFinal: number;
  /** Seconds from requestReturnMachines until getRequestStatus said every machine is gone. */
  returnToGone: number | null;
}

/** When each pod was first seen, and first seen Running and Ready (epoch ms, this clock). */
function createPodClock() {
  const created = new Map<string, number>();
  const running = new Map<string, number>();
  return {
    observe(_type: string, pod: V1Pod) {
      const name = pod.metadata?.name ?? "";
      const now = Date.now();
      if (!created.has(name)) created.set(name, now);
      const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      if (pod.status?.phase === "Running" && ready && !running.has(name)) running.set(name, now);
    },
    created: (name: string) => created.get(name),
    running: (name: string) => running.get(name),
  };
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}
const seconds = (ms: number) => Math.round(ms) / 1000;

function describeTiming(timing: ScenarioTiming): string {
  const parts = [`${timing.machines} machines`];
  if (timing.requestToFirstPod !== null)
    parts.push(`request→first pod ${timing.requestToFirstPod}s`);
  if (timing.createdToRunning) {
    const { p50, p95, max } = timing.createdToRunning;
    parts.push(`created→running p50 ${p50}s, p95 ${p95}s, max ${max}s`);
  }
  parts.push(`request→final (as HostFactory saw it) ${timing.requestToFinal}s`);
  if (timing.returnToGone !== null) parts.push(`return→gone ${timing.returnToGone}s`);
  return `${timing.scenario}: ${parts.join("; ")}`;
}

/** Registers the scenarios against the target `open` gives (closed after the last one). */
export function regressionScenarios(
  title: string,
  open: () => Promise<Target>,
  options: { skip?: string | false } = {},
): void {
  describe(title, { skip: options.skip ?? false }, () => {
    let target: Target;
    let limit = STEP_TIMEOUT_MS;
    const clock = createPodClock();
    const timings: ScenarioTiming[] = [];

    before(async () => {
      target = await open();
      limit = STEP_TIMEOUT_MS * target.slowness;
      await target.watchPods(clock.observe);
    });
    after(async () => {
      await target?.close();
      const file = process.env.HOSTFACTORY_REGRESSION_REPORT;
      if (file && timings.length > 0) {
        writeFileSync(file, `${JSON.stringify({ scenarios: timings }, null, 2)}\n`);
      }
    });

    const ok = async (operation: string, input: unknown): Promise<Json> => {
      const result = await target.script(operation, input);
      assert.equal(
        result.code,
        0,
        `${operation} exited ${result.code}: ${result.stdout}${result.stderr}`,
      );
      assert.ok(result.json, `${operation} printed no JSON: ${result.stdout}`);
      return result.json;
    };
    const status = async (requestId: string): Promise<RequestAnswer> => {
      const answer = await ok("getRequestStatus", { requests: [{ requestId }] });
      const [request] = answer.requests as RequestAnswer[];
      assert.ok(request, `no status for ${requestId}`);
      return request;
    };
    /** Polls getRequestStatus as HostFactory does; `onStatus` sees every answer. */
    const untilFinal = (requestId: string, onStatus: (request: RequestAnswer) => void = () => {}) =>
      waitForFinal(
        requestId,
        async () => {
          const request = await status(requestId);
          onStatus(request);
          return request;
        },
        { timeoutMs: limit, intervalMs: POLL_MS },
      );
    const refs = (machines: Machine[]) =>
      machines.map(({ name, machineId }) => ({ name, machineId }));
    const livePods = async () =>
      (await target.pods()).filter((pod) => pod.metadata?.deletionTimestamp === undefined);

    /** requestMachines, then getRequestStatus until final; the pods' timings recorded. */
    const deploy = async (count: number, templateId = TEMPLATE) => {
      const started = Date.now();
      const { requestId } = await ok("requestMachines", {
        template: { templateId, machineCount: count },
      });
      assert.match(String(requestId), /^req-[a-z0-9]{10}$/);
      const request = await untilFinal(String(requestId));
      const requestToFinal = seconds(Date.now() - started);
      const names = request.machines.map((m) => m.name);
      const createdAt = names.flatMap((name) => clock.created(name) ?? []);
      const spans = names
        .flatMap((name) => {
          const from = clock.created(name);
          const to = clock.running(name);
          return from !== undefined && to !== undefined ? [to - from] : [];
        })
        .sort((a, b) => a - b);
      return {
        request,
        timing: {
          requestToFirstPod:
            createdAt.length > 0 ? seconds(Math.min(...createdAt) - started) : null,
          createdToRunning:
            spans.length > 0
              ? {
                  p50: seconds(percentile(spans, 0.5)),
                  p95: seconds(percentile(spans, 0.95)),
                  max: seconds(spans.at(-1) ?? 0),
                }
              : null,
          requestToFinal,
        },
      };
    };
    /** All machines succeeded, each with a pod Running at its IP. */
    const checkRunning = async (request: RequestAnswer, count: number) => {
      assert.equal(request.status, "complete", request.message);
      assert.equal(request.machines.length, count);
      const pods = new Map((await target.pods()).map((p) => [p.metadata?.name, p]));
      for (const machine of request.machines) {
        assert.equal(machine.result, "succeed", `${machine.name}: ${machine.message}`);
        const pod = pods.get(machine.name);
        assert.equal(pod?.status?.phase, "Running", machine.name);
        assert.equal(machine.machineId, pod?.metadata?.uid);
        assert.equal(machine.privateIpAddress, pod?.status?.podIP);
      }
    };
    /** requestReturnMachines, then getRequestStatus until every machine is gone. */
    const giveBack = async (machines: Machine[]) => {
      const started = Date.now();
      const { requestId } = await ok("requestReturnMachines", { machines: refs(machines) });
      assert.match(String(requestId), /^ret-[a-z0-9]{10}$/);
      const request = await untilFinal(String(requestId));
      assert.equal(request.status, "complete", request.message);
      assert.deepEqual(
        request.machines.map((m) => [m.name, m.result]),
        machines.map((m) => [m.name, "succeed"]),
      );
      const left = new Set((await target.pods()).map((p) => p.metadata?.name));
      for (const machine of machines) assert.ok(!left.has(machine.name), `${machine.name} is gone`);
      return seconds(Date.now() - started);
    };
    const report = (t: TestContext, timing: ScenarioTiming) => {
      timings.push(timing);
      t.diagnostic(describeTiming(timing));
    };
    const scenario = (name: string) => ({ scenario: name, target: target.name });

    test("deploy 5, return them", async (t) => {
      const { request, timing } = await deploy(5);
      await checkRunning(request, 5);
      const returnToGone = await giveBack(request.machines);
      report(t, { ...scenario(t.name), machines: 5, ...timing, returnToGone });
    });

    test("deploy 5, return 3, return the rest", async (t) => {
      const { request, timing } = await deploy(5);
      await checkRunning(request, 5);
      const first = await giveBack(request.machines.slice(0, 3));
      const rest = (await livePods()).map((p) => p.metadata?.name);
      for (const machine of request.machines.slice(3)) {
        assert.ok(rest.includes(machine.name), `${machine.name} stays until it is returned`);
      }
      const second = await giveBack(request.machines.slice(3));
      report(t, {
        ...scenario(t.name),
        machines: 5,
        ...timing,
        returnToGone: Math.max(first, second),
      });
    });

    test("deploy 5, drain a node, return the rest", async (t) => {
      const { request, timing } = await deploy(5);
      await checkRunning(request, 5);
      const nodeOf = new Map(
        (await target.pods()).map((p) => [p.metadata?.name, p.spec?.nodeName]),
      );
      const byNode = new Map<string, Machine[]>();
      for (const machine of request.machines) {
        const node = nodeOf.get(machine.name) ?? "";
        byNode.set(node, [...(byNode.get(node) ?? []), machine]);
      }
      const [node, drained] = [...byNode].sort((a, b) => b[1].length - a[1].length)[0] ?? [];
      assert.ok(node && drained, "the machines run on some node");
      await target.drain(node);
      // HostFactory's reconciliation learns which machines the cluster takes away.
      const candidates = await waitFor(
        "getReturnRequests to report the drained machines",
        async () => {
          const answer = await ok("getReturnRequests", { machines: refs(request.machines) });
          const listed = answer.requests as { machine: string; gracePeriod: number }[];
          return listed.length === drained.length && listed;
        },
        { timeoutMs: limit, intervalMs: POLL_MS },
      );
      assert.deepEqual(candidates.map((c) => c.machine).sort(), drained.map((m) => m.name).sort());
      assert.ok(candidates.every((c) => c.gracePeriod >= 0));
      const kept = request.machines.filter((m) => !drained.includes(m));
      await giveBack(drained);
      const returnToGone = kept.length > 0 ? await giveBack(kept) : null;
      report(t, {
        ...scenario(`${t.name} (${drained.length} on ${node})`),
        machines: 5,
        ...timing,
        returnToGone,
      });
    });

    test("a burst of 100, returned at once", async (t) => {
      const { request, timing } = await deploy(100);
      await checkRunning(request, 100);
      const returnToGone = await giveBack(request.machines);
      report(t, { ...scenario(t.name), machines: 100, ...timing, returnToGone });
    });

    test("an unschedulable template: the scheduler's reason, then failure after the timeout", async (t) => {
      const started = Date.now();
      const answer = await ok("requestMachines", {
        template: { templateId: UNSCHEDULABLE, machineCount: 2 },
      });
      const requestId = String(answer.requestId);
      // While its pods are Pending, HostFactory is told why, in the scheduler's words.
      const told = new Set<string>();
      const request = await untilFinal(requestId, (current) => {
        for (const m of current.machines) {
          if (m.result === "executing" && /nodes are available/.test(m.message)) told.add(m.name);
        }
      });
      const requestToFinal = seconds(Date.now() - started);
      assert.equal(told.size, 2, "each machine's message gave the scheduler's reason");
      assert.equal(request.status, "complete_with_error");
      assert.ok(request.machines.every((m) => m.result === "fail" && m.message !== ""));
      assert.ok(requestToFinal >= PENDING_TIMEOUT_SECONDS - 1, "not before the Pending timeout");
      await waitFor(
        "the pods to be deleted",
        async () => {
          const names = new Set(request.machines.map((m) => m.name));
          return (await livePods()).every((p) => !names.has(p.metadata?.name ?? ""));
        },
        { timeoutMs: limit, intervalMs: POLL_MS },
      );
      report(t, {
        ...scenario(t.name),
        machines: 2,
        requestToFirstPod: null,
        createdToRunning: null,
        requestToFinal,
        returnToGone: null,
      });
    });

    test("a pod deleted behind the provider's back is reported, then returned", async (t) => {
      const { request, timing } = await deploy(3);
      await checkRunning(request, 3);
      const [victim] = request.machines;
      assert.ok(victim);
      await target.deletePod(victim.name);
      const candidates = await waitFor(
        "getReturnRequests to report the deleted pod",
        async () => {
          const answer = await ok("getReturnRequests", { machines: refs(request.machines) });
          const listed = answer.requests as {
            machine: string;
            gracePeriod: number;
            reason?: string;
          }[];
          return listed.length > 0 && listed;
        },
        { timeoutMs: limit, intervalMs: POLL_MS },
      );
      assert.deepEqual(
        candidates.map((c) => c.machine),
        [victim.name],
      );
      const returnToGone = await giveBack(request.machines);
      report(t, { ...scenario(t.name), machines: 3, ...timing, returnToGone });
    });
  });
}

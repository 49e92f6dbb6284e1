// The leader's PodDisruptionBudget of cooperative hosts, kept through client-node over HTTP
// against the simulator: made once a template is cooperative, put back when edited, and retried
// while the API server refuses.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { PolicyV1Api } from "@kubernetes/client-node";
import pino from "pino";
import { createDisruptionBudgetKeeper } from "../../../sidecar/controller/disruption-budget-keeper.ts";
import { createDisruptionBudget } from "../../../sidecar/kube/disruption-budget.ts";
import { createRateLimiter } from "../../../sidecar/kube/rate-limiter.ts";
import type { Template } from "../../../templates/parse.ts";
import { waitFor } from "../../tools/wait-for.ts";
import { type Harness, NAMESPACE, startSimulator } from "../kube/_simulator.ts";
import { template } from "../provider/fixtures.ts";

const BUDGET = "hostfactory-k8s-grid-a-hosts";
let harness: Harness | undefined;
let stop = () => {};
afterEach(async () => {
  stop();
  await harness?.sim.close();
});

async function keeper(templates: { templates: Template[] }, logs: Record<string, unknown>[] = []) {
  harness = await startSimulator();
  const policy = harness.kubeConfig.makeApiClient(PolicyV1Api);
  const budget = createDisruptionBudget(policy, createRateLimiter(), NAMESPACE, "Grid_A");
  const logger = pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const kept = createDisruptionBudgetKeeper({ budget, templates, logger, recheckMs: 50 });
  stop = kept.stop;
  const read = () =>
    policy
      .readNamespacedPodDisruptionBudget({ name: BUDGET, namespace: NAMESPACE })
      .catch(() => undefined);
  return { kept, policy, read };
}

test("no budget while no template is cooperative; one over the instance's cooperative pods once one is", async () => {
  const templates = { templates: [template()] };
  const { kept, read } = await keeper(templates);
  kept.start();
  await kept.idle();
  assert.equal(await read(), undefined);
  templates.templates = [template({ drainPolicy: "cooperative" })];
  kept.templatesChanged();
  await kept.idle();
  const budget = await read();
  assert.deepEqual(JSON.parse(JSON.stringify(budget?.spec)), {
    maxUnavailable: 0,
    selector: {
      matchLabels: {
        "hostfactory-k8s/instance": "Grid_A",
        "hostfactory-k8s/drain-policy": "cooperative",
      },
    },
  });
  const version = budget?.metadata?.resourceVersion;
  kept.templatesChanged();
  await kept.idle();
  assert.equal((await read())?.metadata?.resourceVersion, version, "a check writes nothing");
});

test("an edited budget is put back at the next check", async () => {
  const { kept, policy, read } = await keeper({
    templates: [template({ drainPolicy: "cooperative" })],
  });
  kept.start();
  await waitFor("the budget", read);
  const found = await read();
  await policy.replaceNamespacedPodDisruptionBudget({
    name: BUDGET,
    namespace: NAMESPACE,
    body: { ...found, spec: { ...found?.spec, maxUnavailable: 3 } },
  });
  await waitFor("the budget put back", async () => (await read())?.spec?.maxUnavailable === 0);
});

test("a refused create is logged and tried again until it is allowed", async () => {
  const logs: Record<string, unknown>[] = [];
  const { kept, read } = await keeper(
    { templates: [template({ drainPolicy: "cooperative" })] },
    logs,
  );
  const lift = harness?.sim.authorization.deny({
    verbs: ["create"],
    resources: ["poddisruptionbudgets"],
  });
  kept.start();
  await waitFor("the refusal logged", () =>
    logs.some((l) => String(l.msg).startsWith("cannot keep the PodDisruptionBudget")),
  );
  assert.equal(await read(), undefined);
  lift?.();
  await waitFor("the budget made once allowed", read);
});

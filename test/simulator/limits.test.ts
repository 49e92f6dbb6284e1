// What the API server refuses or reports before a request reaches its resource, on the
// simulator and on the real API server: API priority and fairness (429) and field validation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { waitFor } from "../tools/wait-for.ts";
import { type Backend, rawRequest } from "./backend.ts";
import { describeOnBackends } from "./backends.ts";
import { found } from "./helpers.ts";

/** Concurrent lists per round: far beyond the seats of a priority level with one share. */
const FLOOD_WIDTH = 40;
/** Rounds of FLOOD_WIDTH lists before the test gives up on seeing a 429. */
const FLOOD_ROUNDS = 20;
const FLOWCONTROL = "/apis/flowcontrol.apiserver.k8s.io/v1";

/**
 * Squeezes the ServiceAccount's requests into little concurrency: on the real server a
 * PriorityLevelConfiguration with one share that rejects what does not fit, and a FlowSchema
 * that puts the account there; on the simulator, its rate limit (the only 429 it has). Answers
 * how to lift it.
 */
async function squeeze(api: Backend, namespace: string, serviceAccount: string) {
  if (api.sim) {
    api.sim.faults.setRateLimit({ qps: 1, burst: 1 });
    return async () => api.sim?.faults.setRateLimit(null);
  }
  const name = `conformance-${namespace}`;
  const level = await api.raw("POST", `${FLOWCONTROL}/prioritylevelconfigurations`, {
    apiVersion: "flowcontrol.apiserver.k8s.io/v1",
    kind: "PriorityLevelConfiguration",
    metadata: { name },
    spec: {
      type: "Limited",
      limited: {
        nominalConcurrencyShares: 1,
        lendablePercent: 0,
        limitResponse: { type: "Reject" },
      },
    },
  });
  assert.equal(level.status, 201, level.text);
  const schema = await api.raw("POST", `${FLOWCONTROL}/flowschemas`, {
    apiVersion: "flowcontrol.apiserver.k8s.io/v1",
    kind: "FlowSchema",
    metadata: { name },
    spec: {
      priorityLevelConfiguration: { name },
      matchingPrecedence: 500,
      rules: [
        {
          subjects: [
            { kind: "ServiceAccount", serviceAccount: { name: serviceAccount, namespace } },
          ],
          resourceRules: [
            {
              verbs: ["*"],
              apiGroups: ["*"],
              resources: ["*"],
              namespaces: ["*"],
              clusterScope: true,
            },
          ],
        },
      ],
    },
  });
  assert.equal(schema.status, 201, schema.text);
  return async () => {
    await api.raw("DELETE", `${FLOWCONTROL}/flowschemas/${name}`);
    await api.raw("DELETE", `${FLOWCONTROL}/prioritylevelconfigurations/${name}`);
  };
}

/** A ServiceAccount that may list the namespace's ConfigMaps (real server only). */
async function permitListing(api: Backend, namespace: string, name: string) {
  await api.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}`;
  const role = await api.raw("POST", `${rbac}/roles`, {
    metadata: { name },
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["list"] }],
  });
  assert.equal(role.status, 201, role.text);
  const binding = await api.raw("POST", `${rbac}/rolebindings`, {
    metadata: { name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: [{ kind: "ServiceAccount", name, namespace }],
  });
  assert.equal(binding.status, 201, binding.text);
}

describeOnBackends("limits", {}, (backend) => {
  test("a flow beyond its priority level's seats gets 429 with Retry-After and a plain-text body", async () => {
    const api = backend();
    const namespace = await api.namespace("flood");
    // The simulator has neither ServiceAccounts nor RBAC objects: it takes any token.
    if (!api.sim) await permitListing(api, namespace, "flood");
    const kc = await api.kubeConfigFor(namespace, "flood");
    const lift = await squeeze(api, namespace, "flood");
    try {
      const rejected = await waitFor(
        "a 429 (the FlowSchema takes a moment to apply)",
        async () => {
          for (let round = 0; round < FLOOD_ROUNDS; round++) {
            const answers = await Promise.all(
              Array.from({ length: FLOOD_WIDTH }, () =>
                rawRequest(kc, "GET", `/api/v1/namespaces/${namespace}/configmaps`),
              ),
            );
            const limited = answers.find((answer) => answer.status === 429);
            if (limited) return limited;
            assert.deepEqual(new Set(answers.map((answer) => answer.status)), new Set([200]));
          }
          return undefined;
        },
        { timeoutMs: 60_000 },
      );
      assert.equal(rejected.headers.get("retry-after"), "1");
      assert.equal(rejected.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(rejected.text, "Too many requests, please try again later.\n");
    } finally {
      await lift();
    }
  });

  test("field validation: the real server refuses (Strict) or warns of (Warn) an unknown field and drops it; the simulator keeps it (known difference)", async () => {
    const api = backend();
    const namespace = await api.namespace();
    const create = (name: string, validation: string) =>
      api.raw("POST", `/api/v1/namespaces/${namespace}/configmaps?fieldValidation=${validation}`, {
        metadata: { name },
        notAField: 1,
      });
    const strict = await create("strict", "Strict");
    const warned = await create("warned", "Warn");
    const stored = await found(api.core.readNamespacedConfigMap({ namespace, name: "warned" }));
    if (api.sim) {
      assert.equal(strict.status, 201);
      assert.equal(warned.headers.get("warning"), null);
      assert.equal((stored as unknown as { notAField?: number })?.notAField, undefined);
      assert.equal(warned.json.notAField, 1, "kept");
      return;
    }
    assert.equal(strict.status, 400);
    assert.equal(strict.json.reason, "BadRequest");
    assert.equal(
      strict.json.message,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "notAField"',
    );
    assert.equal(warned.status, 201);
    assert.equal(warned.headers.get("warning"), '299 - "unknown field \\"notAField\\""');
    assert.equal(warned.json.notAField, undefined, "dropped");
  });
});

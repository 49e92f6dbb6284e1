import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CoreV1Api, HttpMethod, KubeConfig, RequestContext } from "@kubernetes/client-node";
import { shareConnections } from "../../../sidecar/kube/shared-dispatcher.ts";
import { type Harness, NAMESPACE, podBody, startSimulator } from "./_simulator.ts";

describe("shareConnections", () => {
  let harness: Harness;
  before(async () => {
    harness = await startSimulator();
  });
  after(() => harness.sim.close());

  const fresh = () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(harness.sim.kubeconfigYaml);
    return kubeConfig;
  };
  const dispatcherOf = async (kubeConfig: KubeConfig) => {
    const context = new RequestContext(`${harness.sim.url}/api/v1/pods`, HttpMethod.GET);
    await kubeConfig.applySecurityAuthentication(context);
    return context.getDispatcher();
  };

  test("client-node alone makes a new agent, so a new connection, for every call", async () => {
    const kubeConfig = fresh();
    assert.notEqual(await dispatcherOf(kubeConfig), await dispatcherOf(kubeConfig));
  });

  test("shared, every call of a KubeConfig goes through one agent", async () => {
    const kubeConfig = shareConnections(fresh());
    const first = await dispatcherOf(kubeConfig);
    assert.ok(first);
    assert.equal(await dispatcherOf(kubeConfig), first);
  });

  test("new TLS material gets a new agent, and the old one is closed", async () => {
    const kubeConfig = shareConnections(fresh());
    const create = (kubeConfig as unknown as { createDispatcher: (...args: unknown[]) => unknown })
      .createDispatcher;
    const cluster = { server: harness.sim.url, skipTLSVerify: true };
    const old = create(cluster, { rejectUnauthorized: false }) as { closed: boolean };
    assert.equal(create(cluster, { rejectUnauthorized: false }), old);
    const rotated = create(cluster, { rejectUnauthorized: false, ca: Buffer.from("new CA") });
    assert.notEqual(rotated, old);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(old.closed, true);
  });

  test("API calls work through the shared agent, many at once", async () => {
    const core = shareConnections(fresh()).makeApiClient(CoreV1Api);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        core.createNamespacedPod({ namespace: NAMESPACE, body: podBody(`shared-${i}`) }),
      ),
    );
    const list = await core.listNamespacedPod({ namespace: NAMESPACE });
    assert.equal(list.items.filter((pod) => pod.metadata?.name?.startsWith("shared-")).length, 40);
  });
});

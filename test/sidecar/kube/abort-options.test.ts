import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, describe, it } from "node:test";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { abortOptions } from "../../../sidecar/kube/abort-options.ts";
import { toKubeApiError } from "../../../sidecar/kube/api-errors.ts";

describe("abortOptions", () => {
  // An API server that accepts requests and never answers them.
  const hung = createServer(() => {});
  after(() => {
    hung.closeAllConnections();
    hung.close();
  });

  it("gives up a request the server never answers when the signal aborts", async () => {
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    const { port } = hung.address() as { port: number };
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromClusterAndUser(
      { name: "hung", server: `http://127.0.0.1:${port}`, skipTLSVerify: true },
      { name: "nobody" },
    );
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const error = await core
      .listNamespacedPod({ namespace: "default" }, abortOptions(AbortSignal.timeout(100)))
      .then(
        () => assert.fail("a request to a server that never answers succeeded"),
        (e: unknown) => toKubeApiError(e),
      );
    assert.equal(error.kind, "transient");
    assert.equal(error.message, "request timed out");
  });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { replicaIdentity } from "../../../sidecar/kube/replica-identity.ts";

test("the Lease identity is the pod name when POD_NAME is set, else host name and process id", () => {
  const cases: [NodeJS.ProcessEnv, string][] = [
    [{ POD_NAME: "hostfactory-k8s-7d9f-abcde" }, "hostfactory-k8s-7d9f-abcde"],
    [{ POD_NAME: " padded " }, "padded"],
    [{ POD_NAME: "" }, "node-1-4242"],
    [{ POD_NAME: "   " }, "node-1-4242"],
    [{}, "node-1-4242"],
  ];
  for (const [env, expected] of cases) {
    assert.equal(replicaIdentity(env, "node-1", 4242), expected, JSON.stringify(env));
  }
});

// kubectl against the simulator, where kubectl is installed (CI may not have it).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Env, startEnv, waitFor } from "./helpers.ts";

const found = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
const skip =
  found.error || found.status !== 0
    ? "kubectl is not installed; the kubectl tests need it on PATH"
    : false;
if (skip) console.log(`# skipping kubectl tests: ${skip}`);

let env: Env;
let dir: string;
let kubeconfig: string;

function kubectl(
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("kubectl", [
      "--kubeconfig",
      kubeconfig,
      "--cache-dir",
      join(dir, "cache"),
      ...args,
    ]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const manifest = (image: string) => `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
    - name: nginx
      image: ${image}
      resources:
        requests:
          cpu: 250m
`;

describe("kubectl", { skip }, () => {
  before(async () => {
    env = await startEnv();
    dir = mkdtempSync(join(tmpdir(), "simulator-kubectl-"));
    kubeconfig = await env.sim.writeKubeconfig(join(dir, "kubeconfig"));
  });
  after(async () => {
    await env.sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("apply -f creates a pod, and applying a change configures it", async () => {
    const file = join(dir, "pod.yaml");
    writeFileSync(file, manifest("nginx:1.27"));
    const created = await kubectl("apply", "-f", file);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /pod\/web created/);
    writeFileSync(file, manifest("nginx:1.28"));
    const configured = await kubectl("apply", "-f", file);
    assert.equal(configured.code, 0, configured.stderr);
    assert.match(configured.stdout, /pod\/web configured/);
    const image = await kubectl("get", "pod", "web", "-o", "jsonpath={.spec.containers[0].image}");
    assert.equal(image.stdout, "nginx:1.28");
  });

  test("create namespace (protobuf) is refused with what the simulator accepts, and the way it offers works", async () => {
    const refused = await kubectl("create", "namespace", "team-a");
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /supported types: \[application\/json\]/);
    assert.doesNotMatch(
      refused.stderr,
      /supported types: \[[^\]]*protobuf/,
      "protobuf is not listed",
    );
    const match = /use `kubectl create -f` or `kubectl apply -f`/.exec(refused.stderr);
    assert.ok(match, refused.stderr);
    const file = join(dir, "namespace.yaml");
    writeFileSync(file, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n");
    const created = await kubectl("create", "-f", file);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /namespace\/team-a created/);
  });

  test("get pods -A prints the namespace and the pod's status", async () => {
    await waitFor(
      () =>
        (env.sim.store.get("pods", "default", "web")?.status as { phase?: string })?.phase ===
        "Running",
      "web Running",
    );
    const result = await kubectl("get", "pods", "-A");
    assert.equal(result.code, 0, result.stderr);
    const [header, ...rows] = result.stdout.trim().split("\n");
    assert.match(header ?? "", /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    assert.ok(
      rows.some((row) => /^default\s+web\s+1\/1\s+Running\s+0\s+/.test(row)),
      result.stdout,
    );
  });

  test("get -w streams changes", async () => {
    const child = spawn("kubectl", [
      "--kubeconfig",
      kubeconfig,
      "--cache-dir",
      join(dir, "cache"),
      "get",
      "pods",
      "-w",
      "--request-timeout=10s",
    ]);
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    try {
      await waitFor(() => output.includes("web"), "the initial listing");
      await env.core.createNamespacedPod({
        namespace: "default",
        body: {
          metadata: { name: "watched" },
          spec: { containers: [{ name: "c", image: "i:1" }] },
        },
      });
      await waitFor(
        () => /watched\s+1\/1\s+Running/.test(output),
        "the new pod running in the stream",
      );
    } finally {
      child.kill();
    }
  });

  test("delete waits for a graceful deletion to finish", async () => {
    const started = Date.now();
    const result = await kubectl("delete", "pod", "web", "--grace-period=1");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /pod "web" deleted/);
    assert.ok(Date.now() - started >= 900, "waited for the grace period");
    assert.equal(env.sim.store.get("pods", "default", "web"), undefined);
  });

  test("api-resources lists what the simulator serves", async () => {
    const result = await kubectl("api-resources", "--no-headers", "-o", "name");
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split("\n").sort(), [
      "configmaps",
      "events",
      "leases.coordination.k8s.io",
      "namespaces",
      "nodes",
      "pods",
      "selfsubjectaccessreviews.authorization.k8s.io",
    ]);
  });
});

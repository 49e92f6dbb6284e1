// kubectl against the simulator and against the real API server, where kubectl is installed (CI
// may not have it). What kubectl does that the simulator does not serve (protobuf, strict field
// validation) is pinned here as the known difference it is, on both backends.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type ProcessResult, runProcess } from "../tools/run-process.ts";
import { waitFor } from "../tools/wait-for.ts";
import { describeOnBackends } from "./backends.ts";
import { POD_RUNNING_TIMEOUT_MS, REMOVAL_TIMEOUT_MS } from "./helpers.ts";

const found = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
const missing =
  found.error || found.status !== 0
    ? "kubectl is not installed; the kubectl tests need it on PATH"
    : undefined;
if (missing) console.log(`# skipping kubectl tests: ${missing}`);

/** How long `kubectl get -w` may stream before the test stops it. */
const WATCH_REQUEST_TIMEOUT = "60s";

const manifest = (name: string, image: string, extraSpec = "") => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
    app: web
spec:
  containers:
    - name: nginx
      image: ${image}
      resources:
        requests:
          cpu: 250m
${extraSpec}`;

if (!missing) {
  describeOnBackends("kubectl", {}, (backend) => {
    let dir: string;
    let namespace: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "conformance-kubectl-"));
      namespace = await backend().namespace("kubectl");
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const args = () => [
      "--kubeconfig",
      backend().kubeconfigPath,
      "--cache-dir",
      join(dir, "cache"),
      "--namespace",
      namespace,
    ];

    function kubectl(...rest: string[]): Promise<ProcessResult> {
      return runProcess("kubectl", [...args(), ...rest]);
    }

    const write = (name: string, text: string) => {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    };

    test("apply -f creates a pod, and applying a change configures it", async () => {
      const file = write("web.yaml", manifest("web", "nginx:1.27"));
      const created = await kubectl("apply", "-f", file);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /pod\/web created/);
      write("web.yaml", manifest("web", "nginx:1.28"));
      const configured = await kubectl("apply", "-f", file);
      assert.equal(configured.code, 0, configured.stderr);
      assert.match(configured.stdout, /pod\/web configured/);
      const image = await kubectl(
        "get",
        "pod",
        "web",
        "-o",
        "jsonpath={.spec.containers[0].image}",
      );
      assert.equal(image.stdout, "nginx:1.28");
    });

    test("create -f creates once, then answers AlreadyExists", async () => {
      const file = write("created.yaml", manifest("created", "nginx:1.27"));
      const first = await kubectl("create", "-f", file);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /pod\/created created/);
      const again = await kubectl("create", "-f", file);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /pods "created" already exists/);
    });

    test("get pods -A prints the namespace and the pod's status", async () => {
      await waitFor(
        "web Running",
        async () =>
          (await kubectl("get", "pod", "web", "-o", "jsonpath={.status.phase}")).stdout ===
          "Running",
        { timeoutMs: POD_RUNNING_TIMEOUT_MS },
      );
      const result = await kubectl("get", "pods", "-A");
      assert.equal(result.code, 0, result.stderr);
      const [header, ...rows] = result.stdout.trim().split("\n");
      assert.match(header ?? "", /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
      assert.ok(
        rows.some((row) => new RegExp(`^${namespace}\\s+web\\s+1/1\\s+Running\\s+0\\s+`).test(row)),
        result.stdout,
      );
    });

    test("get -w streams changes", async () => {
      const child = spawn("kubectl", [
        ...args(),
        "get",
        "pods",
        "-w",
        `--request-timeout=${WATCH_REQUEST_TIMEOUT}`,
      ]);
      let output = "";
      child.stdout.on("data", (chunk) => {
        output += chunk;
      });
      try {
        await waitFor("the initial listing", () => output.includes("web"), {
          timeoutMs: POD_RUNNING_TIMEOUT_MS,
        });
        const created = await kubectl(
          "create",
          "-f",
          write("watched.yaml", manifest("watched", "i:1")),
        );
        assert.equal(created.code, 0, created.stderr);
        await waitFor(
          "the new pod running in the stream",
          () => /watched\s+1\/1\s+Running/.test(output),
          { timeoutMs: POD_RUNNING_TIMEOUT_MS },
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
      // The simulator's kubelet lets the grace period run out; KWOK's lets the pod go at once.
      if (backend().sim) assert.ok(Date.now() - started >= 900, "waited for the grace period");
      const gone = await kubectl("get", "pod", "web", "--ignore-not-found", "-o", "name");
      assert.equal(gone.stdout, "");
    });

    test("api-resources lists what the simulator serves (and much more on a real server)", async () => {
      const result = await kubectl("api-resources", "--no-headers", "-o", "name");
      assert.equal(result.code, 0, result.stderr);
      const served = result.stdout.trim().split("\n").sort();
      const simulated = [
        "configmaps",
        "events",
        "leases.coordination.k8s.io",
        "namespaces",
        "nodes",
        "pods",
        "resourcequotas",
        "selfsubjectaccessreviews.authorization.k8s.io",
      ];
      if (backend().sim) assert.deepEqual(served, simulated);
      else for (const name of simulated) assert.ok(served.includes(name), name);
    });

    test("apply --server-side: the real server applies; the simulator answers 415 (known difference)", async () => {
      const file = write("ssa.yaml", manifest("ssa", "nginx:1.27"));
      const result = await kubectl("apply", "--server-side", "-f", file);
      if (backend().sim) {
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /Server-side apply not available on the server/);
      } else {
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /pod\/ssa serverside-applied/);
      }
    });

    test("create namespace (a typed generator, sent as protobuf): the real server creates it; the simulator refuses with what works instead (known difference)", async () => {
      const name = `${namespace}-made`;
      const generated = await kubectl("create", "namespace", name);
      if (!backend().sim) {
        assert.equal(generated.code, 0, generated.stderr);
        assert.match(generated.stdout, new RegExp(`namespace/${name} created`));
        await kubectl("delete", "namespace", name, "--wait=false");
        return;
      }
      assert.notEqual(generated.code, 0);
      assert.match(generated.stderr, /supported types: \[application\/json\]/);
      assert.match(generated.stderr, /use `kubectl create -f` or `kubectl apply -f`/);
      const file = write(
        "namespace.yaml",
        `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`,
      );
      const created = await kubectl("create", "-f", file);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, new RegExp(`namespace/${name} created`));
    });

    test("auth can-i (a protobuf request): the real server answers; the simulator 415 (known difference)", async () => {
      const result = await kubectl("auth", "can-i", "create", "pods");
      if (backend().sim) {
        assert.notEqual(result.code, 0);
        assert.match(
          result.stderr,
          /\(UnsupportedMediaType\): application\/vnd\.kubernetes\.protobuf is unsupported media type, supported types: \[application\/json\]/,
        );
      } else {
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout.trim(), "yes");
      }
    });

    test("an unknown field: the real server refuses it (strict field validation); the simulator keeps it (known difference)", async () => {
      const file = write("unknown.yaml", manifest("unknown", "nginx:1.27", "  notAField: true\n"));
      const result = await kubectl("create", "-f", file);
      if (backend().sim) {
        assert.equal(result.code, 0, result.stderr);
      } else {
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /unknown field "spec.notAField"/);
      }
      await waitFor(
        "cleanup",
        async () =>
          (await kubectl("delete", "pod", "unknown", "--ignore-not-found", "--wait=false")).code ===
          0,
        { timeoutMs: REMOVAL_TIMEOUT_MS },
      );
    });
  });
}

// A control plane of one's own: components can be killed and started again with their state
// kept in etcd, and none of its processes outlives the process that started it, even killed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { type WaitOptions, waitFor } from "../tools/wait-for.ts";
import { type ControlPlane, controlPlaneUnavailable, startControlPlane } from "./index.ts";

/** Boots on a loaded 2-core machine; only stops a hung suite. */
const SUITE_TIMEOUT_MS = 600_000;
const POLL_MS = 100;
/** Waits that the suite's own timeout bounds. */
const WAIT: WaitOptions = { timeoutMs: SUITE_TIMEOUT_MS, intervalMs: POLL_MS };

/** Pids of the processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) pids.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return pids;
}

describe("a control plane of one's own", {
  skip: controlPlaneUnavailable(),
  timeout: SUITE_TIMEOUT_MS,
}, () => {
  let controlPlane: ControlPlane;
  let core: CoreV1Api;
  before(async () => {
    controlPlane = await startControlPlane({ nodes: [{ name: "only" }] });
    core = controlPlane.kubeConfig().makeApiClient(CoreV1Api);
  });
  after(() => controlPlane?.stop());

  test("kube-apiserver restarts on the same address and serves what etcd kept", async () => {
    const namespace = await controlPlane.createNamespace();
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: "kept" }, data: { a: "1" } },
    });
    await controlPlane.restart("kube-apiserver");
    const read = await core.readNamespacedConfigMap({ namespace, name: "kept" });
    assert.deepEqual(read.data, { a: "1" });
  });

  test("etcd killed and started again keeps its data and takes writes", async () => {
    const namespace = await controlPlane.createNamespace();
    await controlPlane.kill("etcd");
    await controlPlane.start("etcd");
    // The API server's etcd client reconnects on its own.
    await waitFor(
      "a write after etcd's restart",
      async () => {
        try {
          return await core.createNamespacedConfigMap({
            namespace,
            body: { metadata: { name: "after-etcd" } },
          });
        } catch {
          return undefined;
        }
      },
      WAIT,
    );
    const read = await core.readNamespace({ name: namespace });
    assert.equal(read.metadata?.name, namespace);
  });

  test("a component that is running cannot be started twice", async () => {
    await assert.rejects(controlPlane.start("kube-scheduler"), {
      message: "kube-scheduler is already running",
    });
  });
});

describe("nothing outlives the process that started the control plane", {
  skip: controlPlaneUnavailable(),
  timeout: SUITE_TIMEOUT_MS,
}, () => {
  test("SIGKILL to the owner takes every component down", async () => {
    const owner = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { startControlPlane } = await import(${JSON.stringify(join(import.meta.dirname, "index.ts"))});
           const controlPlane = await startControlPlane({ nodes: [] });
           console.log(controlPlane.dir);
           setInterval(() => {}, 1 << 30);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const dir = await new Promise<string>((resolve, reject) => {
      let out = "";
      owner.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
        if (out.includes("\n")) resolve(out.trim());
      });
      owner.on("exit", (code) => reject(new Error(`the owner exited ${code} before booting`)));
    });
    try {
      const components = processesMentioning(dir);
      // Five components and the guard of each.
      assert.equal(components.length, 10, `processes of ${dir}: ${components.join(", ")}`);
      owner.kill("SIGKILL");
      const alive = await waitFor(
        "the components to exit with their owner",
        () => {
          const left = processesMentioning(dir);
          return left.length === 0 ? left : undefined;
        },
        WAIT,
      );
      assert.deepEqual(alive, []);
    } finally {
      owner.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

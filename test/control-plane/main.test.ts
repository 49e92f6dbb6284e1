// `npm run control-plane`: prints a kubeconfig that works, runs until SIGTERM, then leaves nothing;
// a bad --nodes is refused before anything starts.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { runProcess } from "../tools/run-process.ts";
import { controlPlaneUnavailable } from "./index.ts";

const MAIN = join(import.meta.dirname, "main.ts");
/** Boots on a loaded 2-core machine; only stops a hung test. */
const TEST_TIMEOUT_MS = 600_000;

describe("npm run control-plane", () => {
  test("--nodes that is not a whole number is refused, and nothing starts", async () => {
    const result = await runProcess(process.execPath, [MAIN, "--nodes", "two"]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr.trim(), "--nodes must be a whole number of nodes, not two");
  });

  test("prints an admin kubeconfig for a control plane with the nodes asked for; SIGTERM stops it", {
    skip: controlPlaneUnavailable(),
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const child = spawn(process.execPath, [MAIN, "--nodes", "1"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
        if (out.includes("\n")) resolve(out.trim());
      });
      child.on("exit", (code) => reject(new Error(`exited ${code} before printing`)));
    });
    const kubeconfig = line.match(/^export KUBECONFIG=(\S+)$/)?.[1];
    assert.ok(kubeconfig, line);
    try {
      const config = new KubeConfig();
      config.loadFromFile(kubeconfig);
      const nodes = await config.makeApiClient(CoreV1Api).listNode();
      assert.deepEqual(
        nodes.items.map((node) => node.metadata?.name),
        ["kwok-node-0"],
      );
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0);
    assert.ok(!existsSync(dirname(kubeconfig)), "the control plane's folder is left behind");
  });
});

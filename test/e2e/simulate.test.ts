// What a newcomer does: start the simulated provider (the sidecar with --simulate, as `npm start`
// runs it on Node.js, and `deno task start` itself on Deno), play HostFactory with the real
// scripts (templates, a request until it is complete, its machines returned until they are
// gone), then Ctrl-C. The scripts run the client on Node.js in both cases: on Deno it starts too
// slowly for a process HostFactory starts on every call (see the README). The client run from
// its sources on Deno answers too.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runProcess } from "../tools/run-process.ts";
import { waitFor } from "../tools/wait-for.ts";
import { waitForFinal } from "./_requests.ts";
import { runScript, type ScriptResult } from "./harness.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const DENO = join(ROOT, "node_modules", ".bin", "deno");
/** Pods start in seconds and stop in their 30 s grace period; this only stops a hung test. */
const FINAL_TIMEOUT_MS = 120_000;

type Machine = { name: string; machineId: string; result: string; status: string };
type RequestAnswer = { requestId: string; status: string; message: string; machines: Machine[] };

const runtimes: { name: string; command: string; args: string[] }[] = [
  {
    name: "Node.js",
    command: process.execPath,
    args: [join(ROOT, "sidecar", "main.ts"), "--simulate"],
  },
  // As the README says to start it, with the permissions deno.jsonc gives it. It holds because
  // the client ends its calls without a GOAWAY, which Deno's node:http2 server can abort on
  // (README, "On Deno"); a client that sends one can still abort it.
  {
    name: "Deno",
    command: DENO,
    args: ["task", "--quiet", "start"],
  },
];

for (const runtime of runtimes) {
  test(`on ${runtime.name}, the simulated provider starts, says how to use it, serves a request and its return through the scripts, and stops cleanly`, async () => {
    assert.ok(existsSync(DENO), `${DENO} is installed (npm ci)`);
    const dir = mkdtempSync(join(tmpdir(), "hostfactory-simulate-"));
    const address = `unix://${join(dir, "provider.sock")}`;
    const sidecar = spawn(
      runtime.command,
      [...runtime.args, "--listen", address, "--log-level", "warn"],
      // Its own process group, as in a terminal: deno task runs the sidecar as its child.
      { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    let banner = "";
    sidecar.stderr.on("data", (chunk) => {
      banner += chunk;
    });
    const exited = new Promise<number | null>((resolve) => sidecar.on("exit", resolve));
    const script = async (operation: string, input: unknown): Promise<ScriptResult> => {
      const file = join(dir, `${operation}.json`);
      writeFileSync(file, JSON.stringify(input));
      return runScript(operation, ["-f", file], { HOSTFACTORY_ADDRESS: address });
    };
    const untilFinal = (requestId: string) =>
      waitForFinal(
        requestId,
        async () => {
          const result = await script("getRequestStatus", { requests: [{ requestId }] });
          assert.equal(result.code, 0, result.stdout + result.stderr);
          return ((result.json?.requests ?? []) as RequestAnswer[])[0];
        },
        { timeoutMs: FINAL_TIMEOUT_MS },
      );
    try {
      await waitFor(
        "the banner",
        () => {
          assert.equal(sidecar.exitCode, null, `the sidecar exited early:\n${banner}`);
          return banner.includes("Ctrl-C stops it");
        },
        { timeoutMs: 30_000 },
      );
      assert.match(banner, new RegExp(`serving on ${address}, against a simulated cluster`));
      const kubeconfig = /kubectl --kubeconfig (\S+) get pods/.exec(banner)?.[1] ?? "";
      assert.ok(existsSync(kubeconfig), `the kubeconfig the banner names exists: ${kubeconfig}`);

      const templates = await runScript(
        "getAvailableTemplates",
        ["-f", join(ROOT, "examples/requests/getAvailableTemplates.json")],
        { HOSTFACTORY_ADDRESS: address },
      );
      assert.equal(templates.code, 0, templates.stdout + templates.stderr);
      assert.ok(((templates.json?.templates ?? []) as unknown[]).length > 0);

      const request = await runScript(
        "requestMachines",
        ["-f", join(ROOT, "examples/requests/requestMachines.json")],
        { HOSTFACTORY_ADDRESS: address },
      );
      assert.equal(request.code, 0, request.stdout + request.stderr);
      const requestId = String(request.json?.requestId);
      assert.match(requestId, /^req-/);
      const created = await untilFinal(requestId);
      assert.equal(created.status, "complete", created.message);
      assert.deepEqual(
        created.machines.map((m) => [m.result, m.status]),
        [
          ["succeed", "running"],
          ["succeed", "running"],
        ],
      );

      if (runtime.name === "Deno") {
        const client = await runProcess(
          DENO,
          ["run", "--allow-all", join(ROOT, "client", "main.ts"), "getRequestStatus", "-f", "-"],
          {
            env: { ...process.env, HOSTFACTORY_ADDRESS: address },
            input: JSON.stringify({ requests: [{ requestId }] }),
          },
        );
        assert.equal(client.code, 0, client.stdout + client.stderr);
        assert.equal(JSON.parse(client.stdout).requests[0].status, "complete");
      }

      const machines = created.machines.map(({ name, machineId }) => ({ name, machineId }));
      const returned = await script("requestReturnMachines", { machines });
      assert.equal(returned.code, 0, returned.stdout + returned.stderr);
      const returnId = String(returned.json?.requestId);
      assert.match(returnId, /^ret-/);
      const gone = await untilFinal(returnId);
      assert.equal(gone.status, "complete", gone.message);
      assert.deepEqual(
        gone.machines.map((m) => [m.name, m.result]),
        machines.map((m) => [m.name, "succeed"]),
      );

      // Ctrl-C: the terminal signals the whole process group (deno task and its sidecar).
      process.kill(-(sidecar.pid as number), "SIGINT");
      assert.equal(await exited, 0);
      assert.ok(!existsSync(join(dir, "provider.sock")), "the socket is removed at shutdown");
      assert.ok(!existsSync(kubeconfig), "the simulated cluster's kubeconfig is removed");
    } finally {
      if (sidecar.exitCode === null) process.kill(-(sidecar.pid as number), "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

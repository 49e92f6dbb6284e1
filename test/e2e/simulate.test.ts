// What a newcomer does: `npm start` (the sidecar with --simulate), then the scripts against it.
// The same on Deno 2, which must run the sidecar and the client from source too.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runScript, waitFor } from "./harness.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const DENO = join(ROOT, "node_modules", ".bin", "deno");

const runtimes: { name: string; command: string; args: string[] }[] = [
  { name: "Node.js", command: process.execPath, args: [] },
  { name: "Deno", command: DENO, args: ["run", "--allow-all"] },
];

for (const runtime of runtimes) {
  test(`on ${runtime.name}, the simulated provider starts, says how to use it, serves the scripts and stops cleanly`, async () => {
    assert.ok(existsSync(runtime.command), `${runtime.command} is installed (npm ci)`);
    const dir = mkdtempSync(join(tmpdir(), "hostfactory-simulate-"));
    const address = `unix://${join(dir, "provider.sock")}`;
    const sidecar = spawn(
      runtime.command,
      [
        ...runtime.args,
        join(ROOT, "sidecar", "main.ts"),
        "--simulate",
        "--listen",
        address,
        "--log-level",
        "warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let banner = "";
    sidecar.stderr.on("data", (chunk) => {
      banner += chunk;
    });
    const exited = new Promise<number | null>((resolve) => sidecar.on("exit", resolve));
    try {
      await waitFor("the banner", () => banner.includes("Ctrl-C stops it"), 30_000);
      assert.match(banner, new RegExp(`serving on ${address}, against a simulated cluster`));
      assert.match(banner, /kubectl --kubeconfig \S+ get pods/);
      const env = { HOSTFACTORY_ADDRESS: address };
      const templates = await runScript(
        "getAvailableTemplates",
        ["-f", join(ROOT, "examples/requests/getAvailableTemplates.json")],
        env,
      );
      assert.equal(templates.code, 0, templates.stdout + templates.stderr);
      assert.ok(((templates.json?.templates ?? []) as unknown[]).length > 0);
      const request = await runScript(
        "requestMachines",
        ["-f", join(ROOT, "examples/requests/requestMachines.json")],
        env,
      );
      assert.equal(request.code, 0, request.stdout + request.stderr);
      assert.match(String(request.json?.requestId), /^req-/);
      if (runtime.name === "Deno") {
        const client = spawn(
          runtime.command,
          [
            ...runtime.args,
            join(ROOT, "client", "main.ts"),
            "getRequestStatus",
            "-f",
            "-",
            "--address",
            address,
          ],
          { stdio: ["pipe", "pipe", "inherit"] },
        );
        let out = "";
        client.stdout.on("data", (chunk) => {
          out += chunk;
        });
        client.stdin.end(JSON.stringify({ requests: [{ requestId: request.json?.requestId }] }));
        const code = await new Promise((resolve) => client.on("exit", resolve));
        assert.equal(code, 0, out);
        assert.equal(JSON.parse(out).requests[0].requestId, request.json?.requestId);
      }
      sidecar.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.ok(!existsSync(join(dir, "provider.sock")), "the socket is removed at shutdown");
    } finally {
      sidecar.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

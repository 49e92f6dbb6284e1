// The README's quick start, run as written: `npm start`, then each command of its shell blocks
// in a second "terminal", each output sample compared with what the command really printed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { runScript } from "../e2e/harness.ts";
import { runProcess } from "../tools/run-process.ts";
import { waitFor } from "../tools/wait-for.ts";
import { codeBlocks, ROOT, SHELL_LANGS, shellCommands } from "./_markdown.ts";

/** How long the simulated pods may take to start; only stops a hung test. */
const SETTLE_TIMEOUT_MS = 60_000;
/** Fields whose values differ on every run; samples are compared without them. */
const VARYING_FIELDS = ["machineId", "privateIpAddress", "launchtime"];

const PATH = `${dirname(process.execPath)}:${process.env.PATH}`;

function masked(json: string): string {
  let text = json;
  for (const field of VARYING_FIELDS) {
    text = text.replace(new RegExp(`("${field}": )("[^"]*"|\\d+)`, "g"), "$1…");
  }
  return text.trim();
}

/** Starts `npm start` in its own process group, listening in `dir`; resolves to its banner. */
async function npmStart(dir: string, args: string[] = []) {
  const address = `unix://${join(dir, "provider.sock")}`;
  const child = spawn("npm", ["start", ...(args.length ? ["--", ...args] : [])], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, PATH, HOSTFACTORY_LISTEN: address, HOSTFACTORY_LOG_LEVEL: "warn" },
  });
  let banner = "";
  child.stderr.on("data", (chunk) => {
    banner += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  await waitFor("npm start's banner", () => banner.includes("Ctrl-C stops it"), {
    timeoutMs: SETTLE_TIMEOUT_MS,
  });
  const stop = async () => {
    if (child.exitCode === null) process.kill(-(child.pid as number), "SIGTERM");
    return exited;
  };
  return { address, banner: () => banner, stop };
}

test("the README's quick start works as written, and its output samples are what it prints", async () => {
  const blocks = codeBlocks("README.md").filter((block) =>
    block.section.startsWith("## Quick start"),
  );
  const [setup, ...steps] = blocks;
  assert.ok(setup && /^npm start\b/m.test(setup.text), "the quick start begins with npm start");
  const sampleId = /"requestId": "(req-[a-z0-9]+)"/.exec(
    steps.map((block) => block.text).join("\n"),
  )?.[1];
  assert.ok(sampleId, "the quick start shows a request id");

  const dir = mkdtempSync(join(tmpdir(), "hostfactory-quick-start-"));
  const sidecar = await npmStart(dir);
  try {
    const kubeconfig = /--kubeconfig (\S+)/.exec(sidecar.banner())?.[1] ?? "";
    assert.ok(existsSync(kubeconfig), `the kubeconfig npm start names exists: ${kubeconfig}`);
    const env = { ...process.env, PATH, HOSTFACTORY_ADDRESS: sidecar.address };
    let realId: string | undefined;
    let last = { command: "", stdout: "" };
    const run = async (command: string) => {
      const line = command.replaceAll(sampleId, realId ?? sampleId).replaceAll("/tmp/", `${dir}/`);
      const result = await runProcess("sh", ["-c", line], { cwd: ROOT, env });
      assert.equal(result.code, 0, `${line}\n${result.stdout}${result.stderr}`);
      realId ??= /"requestId": "(req-[a-z0-9]+)"/.exec(result.stdout)?.[1];
      last = { command, stdout: result.stdout };
    };
    for (const block of steps) {
      if (SHELL_LANGS.has(block.lang)) {
        for (const command of shellCommands(block)) await run(command);
      } else if (block.lang === "json") {
        const expected = masked(block.text);
        // A status sample shows the request settled: ask again until it is.
        await waitFor(
          `the output of ${last.command} to match README.md line ${block.line}`,
          async () => {
            if (masked(last.stdout.replaceAll(realId ?? sampleId, sampleId)) === expected)
              return true;
            await run(last.command);
            return false;
          },
          { timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 500 },
        );
      }
    }
    assert.ok(realId, "requestMachines printed a request id");
    // npm itself dies of the signal; the sidecar under it shuts down and cleans up.
    await sidecar.stop();
    await waitFor(
      "the simulated cluster's kubeconfig to be removed at exit",
      () => !existsSync(kubeconfig),
    );
  } finally {
    await sidecar.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("npm start's simulated cluster runs every example template at its maxNumber at once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hostfactory-quick-start-"));
  const sidecar = await npmStart(dir);
  try {
    assert.match(sidecar.banner(), /simulated cluster of 16 nodes/);
    const env = { PATH, HOSTFACTORY_ADDRESS: sidecar.address };
    const ids: string[] = [];
    for (const [templateId, machineCount] of [
      ["compute-small", 50],
      ["compute-large", 10],
    ] as const) {
      const file = join(dir, `${templateId}.json`);
      writeFileSync(file, JSON.stringify({ template: { templateId, machineCount } }));
      const accepted = await runScript("requestMachines", ["-f", file], env);
      assert.equal(accepted.code, 0, accepted.stdout + accepted.stderr);
      ids.push(String(accepted.json?.requestId));
    }
    const status = join(dir, "status.json");
    writeFileSync(status, JSON.stringify({ requests: ids.map((requestId) => ({ requestId })) }));
    const requests = await waitFor(
      "both requests to be final",
      async () => {
        const answer = await runScript("getRequestStatus", ["-f", status], env);
        const all = (answer.json?.requests ?? []) as { status: string }[];
        return all.every((request) => request.status !== "running") && all;
      },
      { timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 500 },
    );
    assert.deepEqual(
      requests.map((request) => request.status),
      ["complete", "complete"],
    );
  } finally {
    await sidecar.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("npm start -- --simulate-nodes sizes the simulated cluster", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hostfactory-quick-start-"));
  const sidecar = await npmStart(dir, ["--simulate-nodes", "2"]);
  try {
    assert.match(sidecar.banner(), /simulated cluster of 2 nodes/);
    const kubeconfig = /--kubeconfig (\S+)/.exec(sidecar.banner())?.[1] ?? "";
    const server = /server: (\S+)/.exec(readFileSync(kubeconfig, "utf8"))?.[1];
    const response = await fetch(`${server}/api/v1/nodes`, {
      headers: { authorization: "Bearer simulator" },
    });
    const nodes = (await response.json()) as { items: unknown[] };
    assert.equal(nodes.items.length, 2);
  } finally {
    await sidecar.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

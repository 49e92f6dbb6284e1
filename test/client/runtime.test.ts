// What the client says when the machine cannot run it: a Node.js too old (the scripts run with
// whatever `node` HostFactory's environment has), or packages missing (a checkout without
// npm ci). One line an administrator can act on, exit 2 (retrying will not help), no stack trace.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { missingDependency, runtimeProblem } from "../../client/runtime.ts";
import { REPO, run, runScript } from "./run-cli.ts";

/** Debian's Node.js, older than the project supports, where the machine has it. */
const SYSTEM_NODE = "/usr/bin/node";
const systemNodeVersion = existsSync(SYSTEM_NODE)
  ? execFileSync(SYSTEM_NODE, ["-p", "process.versions.node"], { encoding: "utf8" }).trim()
  : undefined;
const systemNodeTooOld =
  systemNodeVersion !== undefined &&
  runtimeProblem({ node: systemNodeVersion } as NodeJS.ProcessVersions, SYSTEM_NODE) !== undefined;

test("runtimeProblem refuses Node.js before 22.18 and names the binary and the way out", () => {
  const versions = (node: string) => ({ node }) as NodeJS.ProcessVersions;
  assert.equal(runtimeProblem(versions("22.18.0"), "/x/node"), undefined);
  assert.equal(runtimeProblem(versions("24.1.0"), "/x/node"), undefined);
  assert.equal(
    runtimeProblem(
      { node: "20.0.0", deno: "2.9.6" } as unknown as NodeJS.ProcessVersions,
      "/x/deno",
    ),
    undefined,
  );
  for (const old of ["22.17.1", "20.20.2", "18.0.0"]) {
    const problem = runtimeProblem(versions(old), "/x/node");
    assert.match(
      String(problem),
      new RegExp(`needs Node.js 22.18 or newer, and /x/node is ${old}`),
    );
    assert.match(String(problem), /HOSTFACTORY_NODE/);
  }
});

test("missingDependency recognises a package that is not installed, and nothing else", () => {
  const error = Object.assign(
    new Error("Cannot find package 'citty' imported from /a/client/cli.ts"),
    {
      code: "ERR_MODULE_NOT_FOUND",
    },
  );
  assert.equal(
    missingDependency(error, join(REPO, "client")),
    `the package citty is not installed: run npm ci in ${resolve(REPO)}`,
  );
  const ownFile = Object.assign(new Error("Cannot find module '/a/client/nope.ts'"), {
    code: "ERR_MODULE_NOT_FOUND",
  });
  assert.equal(missingDependency(ownFile, REPO), undefined);
  assert.equal(missingDependency(new Error("boom"), REPO), undefined);
});

test("a script run with a too-old Node.js prints one line saying which and how to get another, exit 2", {
  skip: systemNodeTooOld ? false : `needs an older Node.js at ${SYSTEM_NODE}`,
}, async () => {
  const result = await runScript(
    join(REPO, "scripts", "getAvailableTemplates.sh"),
    ["-f", join(REPO, "examples", "requests", "getAvailableTemplates.json")],
    { env: { HOSTFACTORY_NODE: SYSTEM_NODE } },
  );
  assert.equal(result.code, 2);
  assert.equal(result.stdout.split("\n").filter(Boolean).length, 1);
  assert.match(
    JSON.parse(result.stdout).message,
    new RegExp(
      `needs Node.js 22.18 or newer, and ${SYSTEM_NODE} is ${systemNodeVersion}: set HOSTFACTORY_NODE`,
    ),
  );
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace in the log");
});

test("without node_modules, install and the admin commands say to run npm ci instead of a stack trace", async () => {
  const checkout = mkdtempSync(join(tmpdir(), "hostfactory-no-modules-"));
  try {
    for (const dir of [
      "client",
      "proto",
      "scripts",
      "examples",
      "sidecar",
      "templates",
      "package.json",
    ]) {
      cpSync(join(REPO, dir), join(checkout, dir), { recursive: true });
    }
    const cases = [
      ["client/main.ts", "install", "--hf-confdir", join(checkout, "conf"), "--provider", "k8s"],
      ["client/main.ts", "requests"],
      ["client/gen/hostfactory.cjs", "requests"],
      ["client/gen/hostfactory.cjs", "templates", "validate", "examples/templates.json"],
    ];
    for (const [entry, ...args] of cases) {
      const result = await run(process.execPath, [join(checkout, entry as string), ...args], {
        cwd: checkout,
      });
      const what = `${entry} ${args.join(" ")}`;
      assert.equal(result.code, 2, `${what}: ${result.stdout}${result.stderr}`);
      assert.match(
        JSON.parse(result.stdout).message,
        new RegExp(`is not installed: run npm ci in ${checkout}$`),
        what,
      );
      assert.doesNotMatch(result.stderr, /\n\s+at /, `${what}: no stack trace`);
    }
    assert.ok(!existsSync(join(checkout, "conf")), "install changed nothing");
  } finally {
    rmSync(checkout, { recursive: true, force: true });
  }
});

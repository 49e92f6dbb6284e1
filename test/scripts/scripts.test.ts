// The five HostFactory scripts, run with sh as HostFactory runs them, against a stub sidecar.
import assert from "node:assert/strict";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CLIENT, REPO, runScript, stdoutJson } from "../client/run-cli.ts";
import { FIXTURES } from "../client/sample-responses.ts";
import { type StubSidecar, startStubSidecar } from "../client/stub-sidecar.ts";

const OPERATIONS = [
  "getAvailableTemplates",
  "requestMachines",
  "requestReturnMachines",
  "getRequestStatus",
  "getReturnRequests",
];
const input = (operation: string) => fileURLToPath(new URL(`${operation}.input.json`, FIXTURES));
const output = (operation: string): unknown =>
  JSON.parse(readFileSync(new URL(`${operation}.output.json`, FIXTURES), "utf8"));
const script = (operation: string, dir = join(REPO, "scripts")) => join(dir, `${operation}.sh`);

const root = mkdtempSync(join(tmpdir(), "hf-scripts-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

/** The scripts alone in a folder, as when copied into a provider's scripts dir by hand. */
function copiedScripts(): string {
  const dir = join(root, `scripts-${++dirs}`);
  mkdirSync(dir);
  for (const file of readdirSync(join(REPO, "scripts"))) {
    copyFileSync(join(REPO, "scripts", file), join(dir, file));
  }
  return dir;
}

describe("the scripts", { concurrency: true }, () => {
  let stub: StubSidecar;
  before(async () => {
    stub = await startStubSidecar();
  });
  after(() => stub.close());

  for (const operation of OPERATIONS) {
    test(`${operation}.sh -f <sample> prints the sample answer`, async () => {
      const result = await runScript(script(operation), ["-f", input(operation)], {
        cwd: root,
        env: { HOSTFACTORY_ADDRESS: stub.address },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(stdoutJson(result), output(operation));
    });
  }

  test("pass the client's exit code 2 and message through for invalid input", async () => {
    const result = await runScript(script("requestMachines"), ["-f", "-"], {
      input: '{"template": {"templateId": "t", "machineCount": -2}}',
      env: { HOSTFACTORY_ADDRESS: stub.address },
    });
    assert.equal(result.code, 2);
    assert.match((stdoutJson(result) as { message: string }).message, /machineCount/);
  });

  test("append the client's diagnostics to $HF_PROVIDER_LOGDIR/hostfactory-k8s.log, stdout stays one JSON document", async () => {
    const logdir = join(root, `logs-${++dirs}`);
    mkdirSync(logdir);
    const args = ["-f", input("getRequestStatus")];
    const env = {
      HF_PROVIDER_LOGDIR: logdir,
      HOSTFACTORY_ADDRESS: `unix://${join(root, "none.sock")}`,
    };
    const first = await runScript(script("getRequestStatus"), args, { env });
    const second = await runScript(script("getRequestStatus"), args, { env });
    for (const result of [first, second]) {
      assert.equal(result.code, 1);
      assert.equal(result.stderr, "");
      assert.match((stdoutJson(result) as { message: string }).message, /not reachable/);
    }
    const log = readFileSync(join(logdir, "hostfactory-k8s.log"), "utf8");
    assert.equal(
      log.match(/hostfactory getRequestStatus\[\d+\] error: .*not reachable/g)?.length,
      2,
    );
    assert.match(log, /gRPC UNAVAILABLE/);
  });

  test("keep stderr when the log dir cannot be written", async () => {
    const result = await runScript(
      script("getAvailableTemplates"),
      ["-f", input("getAvailableTemplates")],
      {
        env: { HF_PROVIDER_LOGDIR: join(root, "no", "such", "dir"), HOSTFACTORY_ADDRESS: "/bad" },
      },
    );
    assert.equal(result.code, 2);
    assert.match(result.stderr, /is a path, not an address/);
  });

  test("keep Node's compile cache in $HF_PROVIDER_WORKDIR", async () => {
    const workdir = join(root, `work-${++dirs}`);
    const result = await runScript(
      script("getAvailableTemplates"),
      ["-f", input("getAvailableTemplates")],
      {
        env: { HF_PROVIDER_WORKDIR: workdir, HOSTFACTORY_ADDRESS: stub.address },
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.ok(readdirSync(join(workdir, "node-compile-cache")).length > 0);
  });

  test("find the client through $HOSTFACTORY_CLI when copied elsewhere", async () => {
    const dir = copiedScripts();
    const result = await runScript(
      script("getAvailableTemplates", dir),
      ["-f", input("getAvailableTemplates")],
      {
        env: { HOSTFACTORY_CLI: CLIENT, HOSTFACTORY_ADDRESS: stub.address },
      },
    );
    assert.equal(result.code, 0, result.stderr);
  });

  test("find `hostfactory` on PATH when nothing else says where the client is", async () => {
    const dir = copiedScripts();
    const bin = join(root, `bin-${dirs}`);
    mkdirSync(bin);
    symlinkSync(CLIENT, join(bin, "hostfactory"));
    const result = await runScript(
      script("getAvailableTemplates", dir),
      ["-f", input("getAvailableTemplates")],
      {
        env: { PATH: `${bin}:${process.env.PATH}`, HOSTFACTORY_ADDRESS: stub.address },
      },
    );
    assert.equal(result.code, 0, result.stderr);
  });

  test("say so on stdout (exit 2) when there is no client to run", async () => {
    const dir = copiedScripts();
    const logdir = join(root, `logs-${++dirs}`);
    mkdirSync(logdir);
    const result = await runScript(
      script("getAvailableTemplates", dir),
      ["-f", input("getAvailableTemplates")],
      {
        env: { PATH: "/usr/bin:/bin", HF_PROVIDER_LOGDIR: logdir },
      },
    );
    assert.equal(result.code, 2);
    assert.deepEqual(stdoutJson(result), { message: "cannot find the hostfactory client" });
    assert.match(readFileSync(join(logdir, "hostfactory-k8s.log"), "utf8"), /set HOSTFACTORY_CLI/);
  });

  test("say so on stdout (exit 2) when $HOSTFACTORY_NODE is not there", async () => {
    const result = await runScript(
      script("getAvailableTemplates"),
      ["-f", input("getAvailableTemplates")],
      {
        env: { HOSTFACTORY_NODE: join(root, "no-node") },
      },
    );
    assert.equal(result.code, 2);
    assert.deepEqual(stdoutJson(result), { message: "cannot find Node.js" });
    assert.match(result.stderr, /no-node; set HOSTFACTORY_NODE/);
  });

  test("say so in one line on stdout (exit 2) when $HOSTFACTORY_NODE is Deno", async () => {
    const deno = join(REPO, "node_modules", ".bin", "deno");
    const result = await runScript(
      script("getAvailableTemplates"),
      ["-f", input("getAvailableTemplates")],
      { env: { HOSTFACTORY_NODE: deno } },
    );
    assert.equal(result.code, 2);
    assert.equal(result.stdout.trimEnd().split("\n").length, 1, result.stdout);
    assert.deepEqual(stdoutJson(result), {
      message: "the scripts run the client on Node.js, not Deno",
    });
    assert.match(result.stderr, /HOSTFACTORY_NODE is \S+\/deno; set it to a Node.js >= 22.18/);
  });
});

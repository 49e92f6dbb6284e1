// `hostfactory install` run as a child process into a throwaway HF_CONFDIR, and the scripts it
// installs run from there.
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runClient, runScript, stdoutJson } from "./run-cli.ts";
import { FIXTURES } from "./sample-responses.ts";
import { type StubSidecar, startStubSidecar } from "./stub-sidecar.ts";

const TEMPLATES = fileURLToPath(
  new URL("../fixtures/client/templates/templates.json", import.meta.url),
);
const SCRIPTS = [
  "_run-client.sh",
  "getAvailableTemplates.sh",
  "getRequestStatus.sh",
  "getReturnRequests.sh",
  "requestMachines.sh",
  "requestReturnMachines.sh",
];

const root = mkdtempSync(join(tmpdir(), "hf-client-install-"));
after(() => rmSync(root, { recursive: true, force: true }));
let confdirs = 0;

/** A HostFactory conf dir that already registers IBM's AWS provider. */
function hfConfdir(): string {
  const dir = join(root, `conf-${++confdirs}`);
  mkdirSync(join(dir, "providerplugins"), { recursive: true });
  mkdirSync(join(dir, "providers"), { recursive: true });
  writeJson(join(dir, "providerplugins", "hostProviderPlugins.json"), {
    version: 2,
    providerplugins: [
      {
        name: "aws",
        enabled: 1,
        scriptPath: `\${HF_TOP}/\${HF_VERSION}/providerplugins/aws/scripts/`,
      },
    ],
  });
  writeJson(join(dir, "providers", "hostProviders.json"), {
    version: 2,
    providers: [
      {
        name: "awsinst",
        enabled: 1,
        plugin: "aws",
        confPath: `\${HF_CONFDIR}/providers/awsinst/`,
        workPath: `\${HF_WORKDIR}/providers/awsinst/`,
        logPath: `\${HF_LOGDIR}/`,
      },
    ],
  });
  return dir;
}

const install = (confdir: string, ...args: string[]) =>
  runClient([
    "install",
    "--hf-confdir",
    confdir,
    "--provider",
    "k8sinst",
    "--templates",
    TEMPLATES,
    ...args,
  ]);
const readJson = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"));
const writeJson = (path: string, value: unknown) =>
  writeFileSync(path, JSON.stringify(value, null, 4));

describe("hostfactory install", { concurrency: true }, () => {
  let stub: StubSidecar;
  before(async () => {
    stub = await startStubSidecar();
  });
  after(() => stub.close());

  test("registers the plugin and the provider beside the existing ones, and writes the files", async () => {
    const confdir = hfConfdir();
    const result = await install(confdir);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const provider = join(confdir, "providers", "k8sinst");
    const scripts = join(provider, "scripts");

    assert.deepEqual(readJson(join(confdir, "providerplugins", "hostProviderPlugins.json")), {
      version: 2,
      providerplugins: [
        {
          name: "aws",
          enabled: 1,
          scriptPath: `\${HF_TOP}/\${HF_VERSION}/providerplugins/aws/scripts/`,
        },
        { name: "k8s", enabled: 1, scriptPath: `${scripts}/` },
      ],
    });
    const providers = readJson(join(confdir, "providers", "hostProviders.json")) as {
      providers: unknown[];
    };
    assert.equal(providers.providers.length, 2);
    assert.deepEqual(providers.providers[1], {
      name: "k8sinst",
      enabled: 1,
      plugin: "k8s",
      confPath: `\${HF_CONFDIR}/providers/k8sinst/`,
      workPath: `\${HF_WORKDIR}/providers/k8sinst/`,
      logPath: `\${HF_LOGDIR}/`,
    });
    for (const script of SCRIPTS) {
      assert.equal(statSync(join(scripts, script)).mode & 0o777, 0o755, script);
    }
    assert.deepEqual(readJson(join(provider, "hostfactory-k8s.json")), {
      address: "unix:///tmp/hostfactory-k8s.sock",
      timeoutSeconds: 60,
    });
    assert.equal(
      readFileSync(join(provider, "templates.json"), "utf8"),
      readFileSync(TEMPLATES, "utf8"),
    );
    assert.match(
      readFileSync(join(provider, "pod-specs", "compute-test.yaml"), "utf8"),
      /compute:test/,
    );
    assert.throws(() => statSync(join(provider, "..", "elsewhere.yaml")));
  });

  test("run again, it changes nothing", async () => {
    const confdir = hfConfdir();
    await install(confdir);
    const files = [
      join(confdir, "providerplugins", "hostProviderPlugins.json"),
      join(confdir, "providers", "hostProviders.json"),
      join(confdir, "providers", "k8sinst", "hostfactory-k8s.json"),
    ];
    const before = files.map((file) => readFileSync(file, "utf8"));
    const again = await install(confdir);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      files.map((file) => readFileSync(file, "utf8")),
      before,
    );
    assert.match(again.stdout, /plugin k8s already up to date/);
    assert.match(again.stdout, /provider k8sinst already up to date/);
    assert.match(again.stdout, /hostfactory-k8s.json: kept/);
  });

  test("updates our entries in place and keeps what the operator wrote", async () => {
    const confdir = hfConfdir();
    await install(confdir, "--address", "unix:///first.sock");
    const providersFile = join(confdir, "providers", "hostProviders.json");
    const providers = readJson(providersFile) as { providers: Record<string, unknown>[] };
    providers.providers.reverse();
    Object.assign(providers.providers[0] ?? {}, { enabled: 0, workPath: "/old/", note: "mine" });
    writeJson(providersFile, providers);
    const config = join(confdir, "providers", "k8sinst", "hostfactory-k8s.json");
    writeFileSync(config, '{"address": "unix:///operator.sock", "timeoutSeconds": 30}');

    const scriptsDir = join(root, `elsewhere-${confdirs}`);
    const result = await install(
      confdir,
      "--scripts-dir",
      scriptsDir,
      "--address",
      "unix:///second.sock",
    );
    assert.equal(result.code, 0, result.stderr);
    const updated = readJson(providersFile) as { providers: Record<string, unknown>[] };
    assert.deepEqual(
      updated.providers.map((entry) => entry.name),
      ["k8sinst", "awsinst"],
    );
    assert.equal(updated.providers[0]?.enabled, 1);
    assert.equal(updated.providers[0]?.workPath, `\${HF_WORKDIR}/providers/k8sinst/`);
    assert.equal(updated.providers[0]?.note, "mine");
    const plugins = readJson(join(confdir, "providerplugins", "hostProviderPlugins.json")) as {
      providerplugins: Record<string, unknown>[];
    };
    assert.equal(plugins.providerplugins[1]?.scriptPath, `${scriptsDir}/`);
    assert.deepEqual(readJson(config), { address: "unix:///second.sock", timeoutSeconds: 30 });
    assert.match(result.stdout, /updated provider k8sinst/);
    assert.match(
      result.stdout,
      /hostfactory-k8s.json: address changed from unix:\/\/\/operator.sock to unix:\/\/\/second.sock \(its other settings kept\)/,
    );

    const kept = await install(confdir, "--scripts-dir", scriptsDir);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(
      kept.stdout,
      /hostfactory-k8s.json: kept \(already there; --address changes its address\)/,
    );
    assert.equal(
      (readJson(config) as { address: string }).address,
      "unix:///second.sock",
      "no --address, no change",
    );
    const same = await install(
      confdir,
      "--scripts-dir",
      scriptsDir,
      "--address",
      "unix:///second.sock",
    );
    assert.match(same.stdout, /hostfactory-k8s.json: address already unix:\/\/\/second.sock/);
  });

  test("a client config it cannot update is refused before anything is written", async () => {
    const confdir = hfConfdir();
    const config = join(confdir, "providers", "k8sinst", "hostfactory-k8s.json");
    mkdirSync(dirname(config), { recursive: true });
    writeFileSync(config, '{"address": ');
    const result = await install(confdir, "--address", "unix:///new.sock");
    assert.equal(result.code, 2);
    assert.match(
      (stdoutJson(result) as { message: string }).message,
      /hostfactory-k8s.json is not valid JSON .*fix it or remove it/,
    );
    assert.ok(!existsSync(join(confdir, "providers", "k8sinst", "scripts")), "no scripts written");
    assert.equal(readFileSync(config, "utf8"), '{"address": ');
  });

  test("into an empty conf dir, it creates the registration files", async () => {
    const confdir = join(root, "empty");
    mkdirSync(confdir);
    const result = await install(confdir, "--plugin", "kube");
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readJson(join(confdir, "providerplugins", "hostProviderPlugins.json")), {
      version: 2,
      providerplugins: [
        {
          name: "kube",
          enabled: 1,
          scriptPath: `${join(confdir, "providers", "k8sinst", "scripts")}/`,
        },
      ],
    });
  });

  for (const [how, env] of [
    ["as HostFactory runs them", (provider: string) => ({ HF_PROVIDER_CONFDIR: provider })],
    ["by hand, without HF_PROVIDER_CONFDIR", () => ({})],
  ] as const) {
    test(`the installed scripts find the client and the sidecar from where they were copied, ${how}`, async () => {
      const confdir = hfConfdir();
      assert.equal((await install(confdir, "--address", stub.address)).code, 0);
      const provider = join(confdir, "providers", "k8sinst");
      const result = await runScript(
        join(provider, "scripts", "requestMachines.sh"),
        ["-f", fileURLToPath(new URL("requestMachines.input.json", FIXTURES))],
        { cwd: root, env: { ...env(provider), PATH: "/usr/bin:/bin" } },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(stdoutJson(result), {
        requestId: "req-5b2k9x7d1a",
        message: "Request for 3 machines of template compute-4cpu accepted.",
      });
    });
  }

  const refusals: [string, () => string[], RegExp][] = [
    [
      "a provider name that is not a plain name",
      () => ["--provider", "../x"],
      /--provider "..\/x": use letters/,
    ],
    [
      "a conf dir that does not exist",
      () => ["--hf-confdir", join(root, "nowhere")],
      /is not a directory/,
    ],
    [
      "templates that do not exist",
      () => ["--templates", join(root, "none.json")],
      /--templates .*none.json: ENOENT/,
    ],
    [
      "an address that is not one",
      () => ["--address", "/tmp/x.sock"],
      /--address: address "\/tmp\/x.sock" is a path/,
    ],
    ["an empty provider name", () => ["--provider"], /--provider "": use letters/],
  ];
  for (const [name, args, message] of refusals) {
    test(`refuses ${name} (exit 2)`, async () => {
      const result = await install(hfConfdir(), ...args());
      assert.equal(result.code, 2, result.stdout);
      assert.match((stdoutJson(result) as { message: string }).message, message);
    });
  }

  test("leaves a registration file it cannot read as it was", async () => {
    const confdir = hfConfdir();
    const file = join(confdir, "providers", "hostProviders.json");
    writeFileSync(file, "{ not json");
    const result = await install(confdir);
    assert.equal(result.code, 2);
    assert.match(
      (stdoutJson(result) as { message: string }).message,
      /hostProviders.json is not valid JSON/,
    );
    assert.equal(readFileSync(file, "utf8"), "{ not json");
  });
});

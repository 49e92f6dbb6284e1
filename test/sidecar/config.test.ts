import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError, configArgs, loadConfig, OPTIONS } from "../../sidecar/config.ts";

const dir = mkdtempSync(join(tmpdir(), "hostfactory-config-"));
const base = { templates: "/etc/hostfactory/templates.json" };

test("flags win over environment, environment over the config file, the file over defaults", () => {
  const file = join(dir, "precedence.yaml");
  writeFileSync(file, "qps: 7\nburst: 9\ninstance: from-file\n");
  const config = loadConfig(
    { ...base, config: file, qps: "20" },
    { HOSTFACTORY_QPS: "10", HOSTFACTORY_BURST: "30" },
  );
  assert.equal(config.qps, 20);
  assert.equal(config.burst, 30);
  assert.equal(config.instance, "from-file");
  assert.equal(config.maxInFlight, 32);
  assert.equal(config.leaseName, "hostfactory-k8s-from-file");
  assert.equal(
    config.namespace,
    undefined,
    "resolved later from the kubeconfig or service account",
  );
});

test("an empty environment variable counts as unset", () => {
  assert.equal(loadConfig(base, { HOSTFACTORY_QPS: "" }).qps, 50);
});

test("each bad setting is refused with what was expected and found", () => {
  const cases: [Record<string, unknown>, NodeJS.ProcessEnv, RegExp][] = [
    [{ qps: "fast" }, {}, /flag --qps: expected a positive number, found "fast"/],
    [{}, { HOSTFACTORY_BURST: "2.5" }, /env HOSTFACTORY_BURST: expected a positive integer/],
    [{ "pod-name-prefix": "HF" }, {}, /pod name prefix 'HF'/],
    [{ "socket-mode": "rw" }, {}, /socket-mode: expected octal/],
    [{ instance: "a b" }, {}, /instance: 'a b'/],
    [{ listen: "0.0.0.0:50051" }, {}, /TCP needs --tls-cert and --tls-key \(or --insecure/],
    [
      { listen: "0.0.0.0:50051", "tls-cert": "c.pem" },
      {},
      /tls-cert and tls-key go together|TCP needs/,
    ],
    [{ "renew-deadline": "20" }, {}, /× retry-period < renew-deadline < lease-duration/],
    [{ "retry-period": "9" }, {}, /1.2 × retry-period < renew-deadline/],
    [
      { "lease-duration": "0.9", "renew-deadline": "0.5", "retry-period": "0.1" },
      {},
      /lease-duration ≥ 1/,
    ],
    [{ templates: undefined }, {}, /give --templates FILE/],
    [{ _: ["false"], "leader-elect": true }, {}, /unexpected argument 'false'.*--no-name/],
    [{ "orphan-policy": "ignore" }, {}, /orphan-policy: expected report or delete/],
    [{ "fail-fast-after": "-1" }, {}, /fail-fast-after: expected a number, 0 or more/],
    [{ qps: "0" }, {}, /flag --qps: expected a positive number, found "0"/],
    [
      {},
      { HOSTFACTORY_FAIL_FAST_REASONS: "ErrImagePull;ImagePullBackOff" },
      /fail-fast-reasons: expected kubelet reasons separated by commas .* found 'ErrImagePull;ImagePullBackOff'/,
    ],
  ];
  for (const [flags, env, message] of cases) {
    assert.throws(
      () => loadConfig({ ...base, ...flags }, env),
      (error: Error) => {
        assert.ok(error instanceof ConfigError, error.message);
        assert.match(error.message, message);
        return true;
      },
    );
  }
});

test("a config file with an unknown option or unreadable content is refused", () => {
  const unknown = join(dir, "unknown.yaml");
  writeFileSync(unknown, "qsp: 5\n");
  assert.throws(() => loadConfig({ ...base, config: unknown }, {}), /unknown option 'qsp'/);
  assert.throws(
    () => loadConfig({ ...base, config: join(dir, "missing.yaml") }, {}),
    /config file .*missing.yaml/,
  );
});

test("fast failure lists the kubelet's unrecoverable reasons by default; a flag, a variable or a file's list replaces them", () => {
  const defaults = loadConfig(base, {});
  assert.equal(
    defaults.failFastReasons,
    "ErrImagePull,ImagePullBackOff,InvalidImageName,ErrImageNeverPull,CreateContainerConfigError,CrashLoopBackOff",
  );
  assert.equal(defaults.failFastAfter, 15);
  assert.equal(loadConfig({ ...base, "fail-fast-after": "0" }, {}).failFastAfter, 0);
  assert.equal(loadConfig(base, { HOSTFACTORY_FAIL_FAST_REASONS: "none" }).failFastReasons, "none");
  const file = join(dir, "fail-fast.yaml");
  writeFileSync(file, "failFastReasons: [ImagePullBackOff, CrashLoopBackOff]\n");
  assert.equal(
    loadConfig({ ...base, config: file }, {}).failFastReasons,
    "ImagePullBackOff,CrashLoopBackOff",
  );
  writeFileSync(file, "failFastReasons: []\n");
  assert.equal(loadConfig({ ...base, config: file }, {}).failFastReasons, "none");
});

test("--help documents every option with its environment variable and default", () => {
  const args = configArgs();
  for (const [key, spec] of Object.entries(OPTIONS)) {
    const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const described = args[flag]?.description ?? "";
    assert.match(described, new RegExp(`\\[env ${spec.env}\\]`), flag);
    if ("default" in spec)
      assert.match(described, new RegExp(`\\(default: ${spec.default}\\)`), flag);
  }
});

test("the README's configuration table lists every option", () => {
  const readme = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");
  for (const [key, spec] of Object.entries(OPTIONS)) {
    const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    assert.ok(readme.includes(`\`${flag}\``), `README documents ${flag}`);
    assert.ok(readme.includes(spec.env), `README documents ${spec.env}`);
  }
});

test("max-request-machines may lower the per-request limit, never raise it past 10,000", () => {
  assert.equal(loadConfig({ simulate: true }, {}).maxRequestMachines, 10_000);
  assert.equal(
    loadConfig({ simulate: true, "max-request-machines": "500" }, {}).maxRequestMachines,
    500,
  );
  assert.throws(
    () => loadConfig({ simulate: true }, { HOSTFACTORY_MAX_REQUEST_MACHINES: "10001" }),
    /max-request-machines: at most 10000 .*1 MiB.*found 10001/,
  );
});

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ClientError } from "../../client/errors.ts";
import {
  type ClientConfig,
  CONFIG_FILE_NAME,
  DEFAULT_ADDRESS,
  DEFAULT_TIMEOUT_SECONDS,
  loadSettings,
  readConfigFile,
  resolveSettings,
} from "../../client/settings.ts";

const file = (config: ClientConfig) => ({ path: "/conf/hostfactory-k8s.json", config });

describe("where each setting comes from", () => {
  test("defaults: the sidecar's Unix socket and a 60 s deadline", () => {
    const settings = resolveSettings({}, {});
    assert.equal(DEFAULT_ADDRESS, "unix:///tmp/hostfactory-k8s.sock");
    assert.equal(settings.addressText, DEFAULT_ADDRESS);
    assert.equal(settings.addressSource, "default");
    assert.deepEqual(settings.address, {
      transport: "unix",
      target: "unix:/tmp/hostfactory-k8s.sock",
    });
    assert.equal(settings.timeoutMs, DEFAULT_TIMEOUT_SECONDS * 1000);
    assert.equal(settings.tls, undefined);
    assert.deepEqual(settings.warnings, []);
  });

  const addresses: [string, Parameters<typeof resolveSettings>, string, string][] = [
    [
      "flag over environment and config file",
      [
        { address: "unix:///flag.sock" },
        { HOSTFACTORY_ADDRESS: "unix:///env.sock" },
        file({ address: "unix:///file.sock" }),
      ],
      "unix:///flag.sock",
      "--address",
    ],
    [
      "environment over config file",
      [{}, { HOSTFACTORY_ADDRESS: "unix:///env.sock" }, file({ address: "unix:///file.sock" })],
      "unix:///env.sock",
      "HOSTFACTORY_ADDRESS",
    ],
    [
      "config file over default",
      [{}, { HOSTFACTORY_ADDRESS: "" }, file({ address: "unix:///file.sock" })],
      "unix:///file.sock",
      "/conf/hostfactory-k8s.json address",
    ],
  ];
  for (const [name, args, address, source] of addresses) {
    test(`address: ${name}`, () => {
      const settings = resolveSettings(...args);
      assert.equal(settings.addressText, address);
      assert.equal(settings.addressSource, source);
    });
  }

  test("timeout: flag over environment over config file, in seconds", () => {
    const env = { HOSTFACTORY_TIMEOUT_SECONDS: "20" };
    assert.equal(
      resolveSettings({ timeout: "0.5" }, env, file({ timeoutSeconds: 30 })).timeoutMs,
      500,
    );
    assert.equal(resolveSettings({}, env, file({ timeoutSeconds: 30 })).timeoutMs, 20_000);
    assert.equal(resolveSettings({}, {}, file({ timeoutSeconds: 30 })).timeoutMs, 30_000);
  });

  test("timeout: kept below HF_PROVIDER_ACTION_TIMEOUT, with a warning when one was set", () => {
    const env = { HF_PROVIDER_ACTION_TIMEOUT: "40" };
    const lowered = resolveSettings({ timeout: "300" }, env);
    assert.equal(lowered.timeoutMs, 30_000);
    assert.match(
      lowered.warnings.join(),
      /timeout 300s \(--timeout\) lowered to 30s .*HF_PROVIDER_ACTION_TIMEOUT=40/,
    );
    const byDefault = resolveSettings({}, env);
    assert.equal(byDefault.timeoutMs, 30_000);
    assert.deepEqual(byDefault.warnings, []);
    assert.equal(resolveSettings({}, { HF_PROVIDER_ACTION_TIMEOUT: "240" }).timeoutMs, 60_000);
  });

  const badTimeouts: [SettingsCase, RegExp][] = [
    [[{ timeout: "0" }, {}], /--timeout must be a positive number of seconds; found "0"/],
    [[{ timeout: "soon" }, {}], /--timeout must be a positive number/],
    [[{}, { HOSTFACTORY_TIMEOUT_SECONDS: "-3" }], /HOSTFACTORY_TIMEOUT_SECONDS must be/],
    [[{}, {}, file({ timeoutSeconds: 0 })], /\/conf\/hostfactory-k8s.json timeoutSeconds must be/],
  ];
  for (const [args, message] of badTimeouts) {
    test(`invalid timeout: ${message.source}`, () =>
      assert.throws(() => resolveSettings(...args), isInvalid(message)));
  }
});

type SettingsCase = Parameters<typeof resolveSettings>;

describe("TCP needs TLS, or an explicit --insecure", () => {
  test("plain TCP is refused, saying how to fix it", () =>
    assert.throws(
      () => resolveSettings({ address: "sidecar:7070" }, {}),
      isInvalid(
        /sidecar:7070 \(--address\) is a TCP address: configure "tls" in .*, or pass --insecure/,
      ),
    ));
  test("--insecure allows it, with a warning", () => {
    const settings = resolveSettings({ address: "sidecar:7070", insecure: true }, {});
    assert.equal(settings.tls, undefined);
    assert.match(settings.warnings.join(), /plain TCP to sidecar:7070 without TLS/);
  });
  test('"insecure": true in the config file allows it too', () =>
    assert.equal(
      resolveSettings({ address: "sidecar:7070" }, {}, file({ insecure: true })).tls,
      undefined,
    ));
  test("tls in the config file is used for TCP", () => {
    const tls = { ca: "/conf/ca.pem", serverName: "sidecar.test" };
    assert.deepEqual(resolveSettings({ address: "sidecar:7070" }, {}, file({ tls })).tls, tls);
  });
  test("a Unix socket ignores tls", () =>
    assert.equal(resolveSettings({}, {}, file({ tls: { ca: "/conf/ca.pem" } })).tls, undefined));
});

describe("the config file", () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-client-settings-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (text: string) => {
    const path = join(dir, CONFIG_FILE_NAME);
    writeFileSync(path, text);
    return path;
  };

  test("is read from $HF_PROVIDER_CONFDIR, tls paths relative to it", () => {
    write(
      JSON.stringify({
        address: "sidecar:7070",
        timeoutSeconds: 12,
        tls: { ca: "tls/ca.pem", cert: "/abs/client.pem", key: "tls/client.key" },
      }),
    );
    const settings = loadSettings({}, { HF_PROVIDER_CONFDIR: dir });
    assert.equal(settings.addressSource, `${join(dir, CONFIG_FILE_NAME)} address`);
    assert.equal(settings.timeoutMs, 12_000);
    assert.deepEqual(settings.tls, {
      ca: join(dir, "tls/ca.pem"),
      cert: "/abs/client.pem",
      key: join(dir, "tls/client.key"),
      serverName: undefined,
    });
  });

  test("absent is no config", () =>
    assert.equal(readConfigFile(join(dir, "none", CONFIG_FILE_NAME)), undefined));

  const bad: [string, RegExp][] = [
    ['{"address": "unix:///a.sock",}', /is not valid JSON: .*position/],
    [
      '{"adress": "unix:///a.sock"}',
      /unknown key adress in the document; known keys: address, timeoutSeconds, insecure, tls/,
    ],
    ['{"tls": {"cert": "c.pem"}}', /tls.cert and tls.key go together/],
    ['{"tls": {"ca": 5}}', /tls.ca must be a non-empty string/],
    ['{"insecure": "yes"}', /insecure must be true or false/],
    ['{"timeoutSeconds": "30"}', /timeoutSeconds must be a number/],
    ["[]", /the document must be an object/],
  ];
  for (const [text, message] of bad) {
    test(`rejects ${text}`, () =>
      assert.throws(() => readConfigFile(write(text)), isInvalid(message)));
  }
});

function isInvalid(message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof ClientError);
    assert.equal(error.code, "invalid_input");
    assert.match(error.message, message);
    return true;
  };
}

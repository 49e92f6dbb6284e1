// The real CLI, run as a child process the way HostFactory's scripts run it, against a stub
// sidecar (a real grpc-js server) in this process.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ServerCredentials, status } from "@grpc/grpc-js";
import type { UnaryMethod } from "../../client/connect.ts";
import { runClient, stdoutJson } from "./run-cli.ts";
import { FIXTURES, SAMPLE_REQUESTS } from "./sample-responses.ts";
import { type StubSidecar, startStubSidecar } from "./stub-sidecar.ts";

const OPERATIONS: UnaryMethod[] = [
  "getAvailableTemplates",
  "requestMachines",
  "requestReturnMachines",
  "getRequestStatus",
  "getReturnRequests",
];
const input = (operation: string) => fileURLToPath(new URL(`${operation}.input.json`, FIXTURES));
const output = (operation: string): unknown =>
  JSON.parse(readFileSync(new URL(`${operation}.output.json`, FIXTURES), "utf8"));
const TLS = new URL("../fixtures/client/tls/", import.meta.url);
const tlsFile = (name: string) => fileURLToPath(new URL(name, TLS));

const dir = mkdtempSync(join(tmpdir(), "hf-client-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const NO_SIDECAR = `unix://${join(dir, "nobody-listens.sock")}`;

/** A provider conf dir holding this client config. */
function confDir(name: string, config: object): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, "hostfactory-k8s.json"), JSON.stringify(config));
  return path;
}

describe("each operation answers HostFactory's sample with the sample answer", {
  concurrency: true,
}, () => {
  for (const operation of OPERATIONS) {
    test(operation, async () => {
      const stub = await startStubSidecar();
      try {
        const result = await runClient([
          operation,
          "-f",
          input(operation),
          "--address",
          stub.address,
        ]);
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(stdoutJson(result), output(operation));
        assert.equal(result.stderr, "");
        const request = SAMPLE_REQUESTS[operation as keyof typeof SAMPLE_REQUESTS] ?? {};
        assert.deepEqual(stub.calls, [{ method: operation, request }]);
      } finally {
        await stub.close();
      }
    });
  }

  test("the kebab-case alias, with the input on stdin (-f -)", async () => {
    const stub = await startStubSidecar();
    try {
      const result = await runClient(["get-request-status", "-f", "-", "--address", stub.address], {
        input: '{"requests": {"requestId": "req-5b2k9x7d1a"}}',
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(stdoutJson(result), output("getRequestStatus"));
      assert.deepEqual(stub.calls, [
        { method: "getRequestStatus", request: { requestIds: ["req-5b2k9x7d1a"] } },
      ]);
    } finally {
      await stub.close();
    }
  });
});

describe("trouble HostFactory should retry: exit 1 and a message", { concurrency: true }, () => {
  let stub: StubSidecar;
  before(async () => {
    stub = await startStubSidecar({
      getRequestStatus: "hang",
      requestMachines: { fail: status.INTERNAL, details: "records unavailable: etcd timeout" },
      getReturnRequests: { fail: status.UNKNOWN, details: "handler threw" },
      requestReturnMachines: { fail: status.UNAVAILABLE, details: "shutting down" },
    });
  });
  after(() => stub.close());

  test("no sidecar listens", async () => {
    const result = await runClient([
      "requestMachines",
      "-f",
      input("requestMachines"),
      "--address",
      NO_SIDECAR,
    ]);
    assert.equal(result.code, 1);
    assert.deepEqual(stdoutJson(result), {
      message: `the hostfactory-k8s sidecar is not reachable at ${NO_SIDECAR}: is it running?`,
    });
    assert.match(
      result.stderr,
      /error: .* not reachable[\s\S]*gRPC UNAVAILABLE from .* \(address from --address\)/,
    );
  });

  test("the sidecar does not answer before the deadline", async () => {
    const result = await runClient([
      "getRequestStatus",
      "-f",
      input("getRequestStatus"),
      "--address",
      stub.address,
      "--timeout",
      "0.3",
    ]);
    assert.equal(result.code, 1);
    assert.match((stdoutJson(result) as { message: string }).message, /did not answer within 0.3s/);
    assert.match(result.stderr, /DEADLINE_EXCEEDED/);
  });

  const failures: [UnaryMethod, string, RegExp][] = [
    ["requestMachines", "INTERNAL", /failed: records unavailable: etcd timeout/],
    ["getReturnRequests", "UNKNOWN", /failed: handler threw/],
    ["requestReturnMachines", "UNAVAILABLE", /not reachable/],
  ];
  for (const [operation, code, message] of failures) {
    test(`the sidecar fails with ${code}`, async () => {
      const result = await runClient([
        operation,
        "-f",
        input(operation),
        "--address",
        stub.address,
      ]);
      assert.equal(result.code, 1);
      assert.match((stdoutJson(result) as { message: string }).message, message);
      assert.match(result.stderr, new RegExp(`gRPC ${code}`));
    });
  }
});

describe("invalid input: exit 2, a message naming the problem, and no call made", {
  concurrency: true,
}, () => {
  let stub: StubSidecar;
  before(async () => {
    stub = await startStubSidecar();
  });
  after(() => {
    assert.deepEqual(stub.calls, []);
    return stub.close();
  });

  const cases: [string, string[], string, RegExp][] = [
    [
      "malformed JSON",
      ["requestMachines"],
      '{\n\t"template": {"templateId": "t",}\n}',
      /^invalid requestMachines input \(stdin\): not valid JSON: .*\(line 2 column \d+\)/,
    ],
    [
      "no templateId",
      ["requestMachines"],
      '{"template": {"machineCount": 2}}',
      /template\.templateId is missing/,
    ],
    [
      "machineCount 0",
      ["requestMachines"],
      '{"template": {"templateId": "t", "machineCount": 0}}',
      /template\.machineCount must be a whole number from 1 to 10000; found the number 0/,
    ],
    [
      "machineCount over the per-request limit",
      ["requestMachines"],
      '{"template": {"templateId": "t", "machineCount": 10001}}',
      /template\.machineCount must be/,
    ],
    [
      "machineCount as a string",
      ["requestMachines"],
      '{"template": {"templateId": "t", "machineCount": "2"}}',
      /found the string "2"/,
    ],
    ["empty machine list", ["requestReturnMachines"], '{"machines": []}', /machines is empty/],
    [
      "machine without a name",
      ["requestReturnMachines"],
      '{"machines": [{"machineId": "u"}]}',
      /machines\[0\]\.name is missing/,
    ],
    [
      "request id not a string",
      ["getRequestStatus"],
      '{"requests": [{"requestId": 7}]}',
      /requests\[0\]\.requestId must be a non-empty string; found the number 7/,
    ],
    ["a list instead of an object", ["getAvailableTemplates"], "[]", /must be a JSON object/],
    [
      "an unknown option",
      ["requestMachines", "--adress", "unix:///x.sock"],
      "{}",
      /^unknown option --adress; options: --file, --address, --timeout, --insecure$/,
    ],
    [
      "an unknown command",
      ["requestMachine"],
      "{}",
      /^unknown command "requestMachine"; commands: /,
    ],
    [
      "an address that is a path",
      ["getAvailableTemplates", "--address", "/tmp/x.sock"],
      "{}",
      /^--address: address "\/tmp\/x.sock" is a path/,
    ],
    [
      "TCP without TLS or --insecure",
      ["getAvailableTemplates", "--address", "127.0.0.1:1"],
      "{}",
      /is a TCP address: configure "tls"/,
    ],
    [
      "a bad --timeout",
      ["getAvailableTemplates", "--timeout", "0s"],
      "{}",
      /--timeout must be a positive number/,
    ],
  ];
  for (const [name, args, stdin, message] of cases) {
    test(name, async () => {
      const result = await runClient([...args, "-f", "-"], {
        input: stdin,
        env: { HOSTFACTORY_ADDRESS: stub.address },
      });
      assert.equal(result.code, 2, result.stderr);
      assert.match((stdoutJson(result) as { message: string }).message, message);
      assert.match(result.stderr, /hostfactory \w+\[\d+\] error: /);
    });
  }

  test("no -f", async () => {
    const result = await runClient(["requestMachines"], {
      env: { HOSTFACTORY_ADDRESS: stub.address },
    });
    assert.equal(result.code, 2);
    assert.deepEqual(stdoutJson(result), {
      message:
        "missing -f FILE: HostFactory runs requestMachines with -f <input file> (- for stdin)",
    });
  });

  test("an input file that does not exist", async () => {
    const missing = join(dir, "gone.json");
    const result = await runClient(["getAvailableTemplates", "-f", missing], {
      env: { HOSTFACTORY_ADDRESS: stub.address },
    });
    assert.equal(result.code, 2);
    assert.match(
      (stdoutJson(result) as { message: string }).message,
      new RegExp(`^cannot read input file ${missing}: ENOENT`),
    );
  });

  test("a config file that is not JSON", async () => {
    const conf = join(dir, "broken-conf");
    mkdirSync(conf);
    writeFileSync(join(conf, "hostfactory-k8s.json"), "address: unix:///x.sock\n");
    const result = await runClient(
      ["getAvailableTemplates", "-f", input("getAvailableTemplates")],
      {
        env: { HF_PROVIDER_CONFDIR: conf },
      },
    );
    assert.equal(result.code, 2);
    assert.match(
      (stdoutJson(result) as { message: string }).message,
      /hostfactory-k8s.json is not valid JSON/,
    );
  });
});

describe("the sidecar rejects the request: exit 2 with its message as is", {
  concurrency: true,
}, () => {
  const rejections: [UnaryMethod, keyof typeof status, string][] = [
    [
      "requestReturnMachines",
      "INVALID_ARGUMENT",
      "machine hf-req-zz-0 was not created by provider k8sinst; nothing returned",
    ],
    [
      "requestMachines",
      "NOT_FOUND",
      "template 'gpu-large' not found; available: compute-4cpu, compute-8cpu",
    ],
    [
      "requestMachines",
      "RESOURCE_EXHAUSTED",
      "template compute-4cpu has 2 machines available, 3 requested",
    ],
    [
      "getAvailableTemplates",
      "FAILED_PRECONDITION",
      "no valid template: templates.json line 3: bad pod spec",
    ],
    ["getRequestStatus", "OUT_OF_RANGE", "too many request ids"],
  ];
  for (const [operation, code, details] of rejections) {
    test(`${code} from ${operation}`, async () => {
      const stub = await startStubSidecar({ [operation]: { fail: status[code], details } });
      try {
        const result = await runClient([
          operation,
          "-f",
          input(operation),
          "--address",
          stub.address,
        ]);
        assert.equal(result.code, 2);
        assert.deepEqual(stdoutJson(result), { message: details });
        assert.match(result.stderr, new RegExp(`gRPC ${code} from ${stub.address}`));
      } finally {
        await stub.close();
      }
    });
  }
});

describe("where the sidecar is: --address, then HOSTFACTORY_ADDRESS, then the config file", {
  concurrency: true,
}, () => {
  let stub: StubSidecar;
  before(async () => {
    stub = await startStubSidecar();
  });
  after(() => stub.close());
  const run = (args: string[], env: Record<string, string>) =>
    runClient(["getAvailableTemplates", "-f", input("getAvailableTemplates"), ...args], { env });

  test("--address wins over the environment and the config file", async () => {
    const conf = confDir("flag-wins", { address: NO_SIDECAR });
    const result = await run(["--address", stub.address], {
      HOSTFACTORY_ADDRESS: NO_SIDECAR,
      HF_PROVIDER_CONFDIR: conf,
    });
    assert.equal(result.code, 0, result.stderr);
  });
  test("HOSTFACTORY_ADDRESS wins over the config file", async () => {
    const conf = confDir("env-wins", { address: NO_SIDECAR });
    const result = await run([], { HOSTFACTORY_ADDRESS: stub.address, HF_PROVIDER_CONFDIR: conf });
    assert.equal(result.code, 0, result.stderr);
  });
  test("the config file in $HF_PROVIDER_CONFDIR", async () => {
    const conf = confDir("file-used", { address: stub.address, timeoutSeconds: 5 });
    const result = await run([], { HF_PROVIDER_CONFDIR: conf });
    assert.equal(result.code, 0, result.stderr);
  });
  test("and the losers are really not used", async () => {
    const conf = confDir("file-loses", { address: stub.address });
    const result = await run([], { HOSTFACTORY_ADDRESS: NO_SIDECAR, HF_PROVIDER_CONFDIR: conf });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /address from HOSTFACTORY_ADDRESS/);
  });
});

describe("TCP: TLS from the config file, mutual TLS, or plain with --insecure", {
  concurrency: true,
}, () => {
  const ca = readFileSync(tlsFile("ca.pem"));
  const serverKeys = [
    {
      cert_chain: readFileSync(tlsFile("server.pem")),
      private_key: readFileSync(tlsFile("server.key")),
    },
  ];
  const stubs: StubSidecar[] = [];
  let confs = 0;
  const start = async (credentials?: ServerCredentials) => {
    const stub = await startStubSidecar({}, credentials ? { tls: credentials } : { tcp: true });
    stubs.push(stub);
    return stub;
  };
  after(() => Promise.all(stubs.map((stub) => stub.close())));
  const run = (stub: StubSidecar, tls: object | undefined, args: string[] = []) =>
    runClient(["getAvailableTemplates", "-f", input("getAvailableTemplates"), ...args], {
      env: { HF_PROVIDER_CONFDIR: confDir(`tls-${++confs}`, { address: stub.address, tls }) },
    });

  test("TLS, verified against the configured CA", async () => {
    const stub = await start(ServerCredentials.createSsl(null, serverKeys));
    const result = await run(stub, { ca: tlsFile("ca.pem") });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(stdoutJson(result), output("getAvailableTemplates"));
  });
  test("TLS with the server name the certificate carries", async () => {
    const stub = await start(ServerCredentials.createSsl(null, serverKeys));
    const good = await run(stub, { ca: tlsFile("ca.pem"), serverName: "sidecar.test" });
    assert.equal(good.code, 0, good.stderr);
    const wrong = await run(stub, { ca: tlsFile("ca.pem"), serverName: "elsewhere.test" });
    assert.equal(wrong.code, 1);
  });
  test("mutual TLS: with the client certificate, and refused without", async () => {
    const stub = await start(ServerCredentials.createSsl(ca, serverKeys, true));
    const withCert = await run(stub, {
      ca: tlsFile("ca.pem"),
      cert: tlsFile("client.pem"),
      key: tlsFile("client.key"),
    });
    assert.equal(withCert.code, 0, withCert.stderr);
    const without = await run(stub, { ca: tlsFile("ca.pem") });
    assert.equal(without.code, 1);
    assert.equal(stub.calls.length, 1);
  });
  test("a missing CA file is a configuration error", async () => {
    const stub = await start(ServerCredentials.createSsl(null, serverKeys));
    const result = await run(stub, { ca: join(dir, "no-ca.pem") });
    assert.equal(result.code, 2);
    assert.match(
      (stdoutJson(result) as { message: string }).message,
      /cannot read tls.ca file .*no-ca.pem/,
    );
  });
  test("plain TCP only with --insecure, and a warning", async () => {
    const stub = await start();
    const refused = await run(stub, undefined);
    assert.equal(refused.code, 2);
    const allowed = await run(stub, undefined, ["--insecure"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /warning: plain TCP to 127.0.0.1:\d+ without TLS/);
    assert.equal(stub.calls.length, 1);
  });
});

describe("--help", { concurrency: true }, () => {
  test("lists the commands and the exit codes", async () => {
    const result = await runClient(["--help"]);
    assert.equal(result.code, 0);
    for (const name of [...OPERATIONS, "get-return-requests", "install", "EXIT CODES"]) {
      assert.ok(result.stdout.includes(name), name);
    }
  });
  test("of an operation lists its options and the exit codes", async () => {
    const result = await runClient(["requestMachines", "--help"]);
    assert.equal(result.code, 0);
    for (const text of [
      "-f, --file",
      "--address",
      "--timeout",
      "--insecure",
      "unix:///tmp/hostfactory-k8s.sock",
      "2  invalid input",
    ]) {
      assert.ok(result.stdout.includes(text), text);
    }
  });
  test("no command at all prints the usage on stderr and exits 2", async () => {
    const result = await runClient([]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /USAGE/);
  });
});

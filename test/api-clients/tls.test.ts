// grpcurl and the Go client over TCP with mutual TLS, as docs/api.md tells other services to
// connect: served with a client certificate from the trusted CA, refused without one.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Harness, startHarness } from "../e2e/harness.ts";
import { pki } from "../tools/pki.ts";
import { runProcess } from "../tools/run-process.ts";
import { goBuild, goSkipReason } from "./go-build.ts";

/** Stops a hung build or run; a first build takes minutes on a busy machine. */
const TIMEOUT_MS = 20 * 60_000;
/** The Go client's deadline per call, and grpcurl's for connecting, where a refusal is expected. */
const REFUSED_CALL_TIMEOUT = "3s";
const REFUSED_CONNECT_SECONDS = "3";

const skip = goSkipReason();

describe("grpcurl and the Go client over mutual TLS", { skip }, () => {
  let h: Harness;
  let address = "";
  let grpcurl = "";
  let client = "";
  let dir = "";
  const file = (name: string) => join(dir, name);

  before(async () => {
    grpcurl = await goBuild("github.com/fullstorydev/grpcurl/cmd/grpcurl", "grpcurl");
    client = await goBuild("./go-client", "go-client");
    h = await startHarness({ sidecar: false });
    dir = join(h.dir, "pki");
    pki(dir);
    const sidecar = await h.startSidecar({
      listen: "127.0.0.1:0",
      "tls-cert": file("server.pem"),
      "tls-key": file("server.key"),
      "tls-client-ca": file("ca.pem"),
    });
    address = sidecar.address;
  });
  after(async () => {
    await h?.close();
  });

  test("grpcurl with the CA and a client certificate lists the services", {
    timeout: TIMEOUT_MS,
  }, async () => {
    const tls = [
      "-cacert",
      file("ca.pem"),
      "-cert",
      file("client.pem"),
      "-key",
      file("client.key"),
    ];
    const result = await runProcess(grpcurl, [...tls, address, "list"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "hostfactory.v1.AdminService\nhostfactory.v1.ProviderService\n");
  });

  test("grpcurl without a client certificate is refused", async () => {
    const result = await runProcess(grpcurl, [
      ...["-connect-timeout", REFUSED_CONNECT_SECONDS, "-cacert", file("ca.pem")],
      ...[address, "list"],
    ]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /Failed to dial target host/);
  });

  test("the Go client requests, follows and returns a machine over mutual TLS", async () => {
    const result = await runProcess(client, [
      ...["--address", address, "--template", "compute-small", "--count", "1"],
      ...["--tls-ca", file("ca.pem"), "--tls-cert", file("client.pem")],
      ...["--tls-key", file("client.key")],
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /ret-[a-z0-9]{10} complete: 1 of 1 machines gone/);
  });

  test("the Go client without a certificate, or without TLS, is refused and says so", async () => {
    const records = h.configMapCount();
    const cases: [string, string[], number, RegExp][] = [
      [
        "no client certificate",
        ["--tls-ca", file("ca.pem")],
        3,
        // Under TLS 1.3 the client finishes its handshake before the server checks for a
        // certificate: the server's alert, or the write it cuts off, is the last error seen.
        /Health\/Check failed with DeadlineExceeded: .*(tls: certificate required|broken pipe|connection reset by peer)/,
      ],
      ["plain TCP", ["--insecure"], 3, /Health\/Check failed with DeadlineExceeded/],
      ["no TLS settings", [], 2, /is TCP: give --tls-ca/],
    ];
    for (const [name, flags, code, message] of cases) {
      const result = await runProcess(client, [
        ...["--address", address, "--template", "compute-small"],
        ...["--call-timeout", REFUSED_CALL_TIMEOUT, ...flags],
      ]);
      assert.equal(result.code, code, `${name}: ${result.stderr}`);
      assert.match(result.stderr, message, name);
    }
    assert.equal(h.configMapCount(), records, "nothing was requested");
  });
});

// TCP is served over TLS only: mutual TLS refuses a client without a certificate from the
// trusted CA, and a renewed server certificate is picked up without a restart. Certificates are
// made fresh with openssl for each run.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pki } from "../tools/pki.ts";
import { waitFor } from "../tools/wait-for.ts";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
let address: string;

/** Runs getAvailableTemplates with a client config file holding `tls` (or insecure). */
async function call(name: string, client: Record<string, unknown>) {
  const confdir = join(h.dir, `client-${name}`);
  mkdirSync(confdir, { recursive: true });
  writeFileSync(
    join(confdir, "hostfactory-k8s.json"),
    JSON.stringify({ address, timeoutSeconds: 5, ...client }),
  );
  return h.script(
    "getAvailableTemplates",
    {},
    { HF_PROVIDER_CONFDIR: confdir, HOSTFACTORY_ADDRESS: "" },
  );
}

const trusted = (dir: string) => ({
  tls: { ca: join(dir, "ca.pem"), cert: join(dir, "client.pem"), key: join(dir, "client.key") },
});

before(async () => {
  h = await startHarness({ sidecar: false });
  pki(join(h.dir, "pki"));
  pki(join(h.dir, "other"));
  mkdirSync(join(h.dir, "serving"));
  for (const file of ["server.pem", "server.key"]) {
    writeFileSync(join(h.dir, "serving", file), execFileSync("cat", [join(h.dir, "pki", file)]));
  }
  const sidecar = await h.startSidecar({
    listen: "127.0.0.1:0",
    "tls-cert": join(h.dir, "serving", "server.pem"),
    "tls-key": join(h.dir, "serving", "server.key"),
    "tls-client-ca": join(h.dir, "pki", "ca.pem"),
    "tls-reload-interval": "0.5",
  });
  address = sidecar.address;
});
after(async () => {
  await h.close();
});

test("a client with a certificate from the trusted CA is served over mutual TLS", async () => {
  const result = await call("trusted", trusted(join(h.dir, "pki")));
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.ok(Array.isArray(result.json?.templates));
});

test("clients without a trusted certificate, or without TLS, are refused", async () => {
  const pkiDir = join(h.dir, "pki");
  const cases: [string, Record<string, unknown>][] = [
    ["no client certificate", { tls: { ca: join(pkiDir, "ca.pem") } }],
    [
      "a certificate from another CA",
      {
        tls: {
          ca: join(pkiDir, "ca.pem"),
          cert: join(h.dir, "other", "client.pem"),
          key: join(h.dir, "other", "client.key"),
        },
      },
    ],
    ["plain TCP", { insecure: true }],
  ];
  for (const [label, client] of cases) {
    const result = await call(label.replaceAll(" ", "-"), client);
    assert.equal(result.code, 1, `${label}: ${result.stdout}`);
    assert.match(String(result.json?.message), /.+/, label);
  }
});

test("a renewed server certificate is used without a restart", async () => {
  const renewed = join(h.dir, "renewed");
  pki(renewed);
  for (const file of ["server.pem", "server.key"]) {
    writeFileSync(
      join(h.dir, "serving", `${file}.new`),
      execFileSync("cat", [join(renewed, file)]),
    );
  }
  renameSync(join(h.dir, "serving", "server.key.new"), join(h.dir, "serving", "server.key"));
  renameSync(join(h.dir, "serving", "server.pem.new"), join(h.dir, "serving", "server.pem"));
  // The client CA is unchanged, so the old client certificate still authenticates; the server
  // must now present a certificate only the renewed CA vouches for.
  const client = (ca: string) => ({
    tls: { ca, cert: join(h.dir, "pki", "client.pem"), key: join(h.dir, "pki", "client.key") },
  });
  await waitFor(
    "the renewed certificate to be served",
    async () => (await call("renewed", client(join(renewed, "ca.pem")))).code === 0,
    { timeoutMs: 15_000, intervalMs: 300 },
  );
  assert.equal(
    (await call("stale", client(join(h.dir, "pki", "ca.pem")))).code,
    1,
    "the old CA no longer matches",
  );
});

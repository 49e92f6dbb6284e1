// The admin commands reach a sidecar over TCP with mutual TLS, configured as for the operations
// (the client config's "tls"), and are refused without the client certificate.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Harness, startHarness } from "../e2e/harness.ts";
import { admin } from "./_run-admin.ts";

const tlsFile = (name: string) =>
  fileURLToPath(new URL(`../fixtures/client/tls/${name}`, import.meta.url));

let h: Harness;
let address = "";
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "admin-tls-"));
  h = await startHarness({ sidecar: false });
  const sidecar = await h.startSidecar({
    listen: "127.0.0.1:0",
    "tls-cert": tlsFile("server.pem"),
    "tls-key": tlsFile("server.key"),
    "tls-client-ca": tlsFile("ca.pem"),
  });
  address = sidecar.address;
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A provider conf dir whose client config names the sidecar and the given TLS settings. */
function confDir(name: string, tls: Record<string, string>): string {
  const conf = mkdtempSync(join(dir, `${name}-`));
  writeFileSync(join(conf, "hostfactory-k8s.json"), JSON.stringify({ address, tls }));
  return conf;
}

test("with the CA and a client certificate, doctor passes its sidecar checks", async () => {
  const conf = confDir("mutual", {
    ca: tlsFile("ca.pem"),
    cert: tlsFile("client.pem"),
    key: tlsFile("client.key"),
    serverName: "sidecar.test",
  });
  const result = await admin(["doctor", "--json"], { env: { HF_PROVIDER_CONFDIR: conf } });
  const checks = result.json.checks as { check: string; status: string }[];
  assert.equal(checks.find((c) => c.check === "sidecar reachable")?.status, "ok", result.stdout);
  assert.equal(checks.find((c) => c.check === "health")?.status, "ok");
});

test("without the client certificate the sidecar refuses: exit 1", async () => {
  const conf = confDir("server-only", { ca: tlsFile("ca.pem") });
  const result = await admin(["machines"], { env: { HF_PROVIDER_CONFDIR: conf } });
  assert.equal(result.code, 1, result.stdout);
  assert.match(result.stderr, /not reachable at 127\.0\.0\.1:\d+/);
  assert.match(result.stderr, /certificate required/);
});

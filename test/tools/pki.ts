// A throwaway PKI for TLS tests, made fresh with openssl: a CA in a folder, and the server's
// (for 127.0.0.1 and localhost) and a client's certificates it signs, as ca.pem, server.pem,
// server.key, client.pem and client.key.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

/** A CA in `dir`, and certificates it signs: a server's (for 127.0.0.1) and a client's. */
export function pki(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const key = (name: string) =>
    openssl(
      dir,
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      `${name}.key`,
    );
  key("ca");
  openssl(
    dir,
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-subj",
    "/CN=test-ca",
    "-days",
    "2",
    "-out",
    "ca.pem",
  );
  for (const [name, extension] of [
    ["server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"],
    ["client", "extendedKeyUsage=clientAuth"],
  ] as const) {
    key(name);
    openssl(
      dir,
      "req",
      "-new",
      "-key",
      `${name}.key`,
      "-subj",
      `/CN=${name}`,
      "-out",
      `${name}.csr`,
    );
    writeFileSync(join(dir, `${name}.ext`), `${extension}\n`);
    openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    );
  }
}

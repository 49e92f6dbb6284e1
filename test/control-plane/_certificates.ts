// The control plane's PKI, made with the openssl CLI (Node can make keys but not certificates):
// a CA, the API server's serving certificate for 127.0.0.1, one client certificate per identity,
// and the service-account token signing key pair. P-256 keys: quick to make, accepted everywhere.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const CERTIFICATE_DAYS = 30;
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc"];

/** Where one identity's certificate and key are, and their PEM text. */
export interface KeyPair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface ClientIdentity {
  commonName: string;
  organization?: string;
}

export interface Pki {
  ca: KeyPair;
  serving: KeyPair;
  /** The token signing key (private) and the verifying key (public), as files. */
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
  client(file: string, identity: ClientIdentity): KeyPair;
}

/** Why certificates cannot be made here, or undefined when openssl is on PATH. */
export function opensslUnavailable(): string | undefined {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "no openssl on PATH to make the control plane's certificates";
  }
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function pair(dir: string, name: string): KeyPair {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return {
    certFile,
    keyFile,
    get cert() {
      return readFileSync(certFile, "utf8");
    },
    get key() {
      return readFileSync(keyFile, "utf8");
    },
  };
}

/** Makes a fresh PKI in dir (which must exist). */
export function createPki(dir: string): Pki {
  const ca = pair(dir, "ca");
  openssl([
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    ca.keyFile,
    "-out",
    ca.certFile,
    "-days",
    String(CERTIFICATE_DAYS),
    "-subj",
    "/CN=hostfactory-k8s test control plane CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);

  const signed = (name: string, subject: string, extensions: string[]): KeyPair => {
    const keys = pair(dir, name);
    openssl([
      "req",
      "-x509",
      ...EC_KEY,
      "-CA",
      ca.certFile,
      "-CAkey",
      ca.keyFile,
      "-keyout",
      keys.keyFile,
      "-out",
      keys.certFile,
      "-days",
      String(CERTIFICATE_DAYS),
      "-subj",
      subject,
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      ...extensions.flatMap((extension) => ["-addext", extension]),
    ]);
    return keys;
  };

  const serving = signed("apiserver", "/CN=kube-apiserver", [
    "keyUsage=critical,digitalSignature,keyEncipherment",
    "extendedKeyUsage=serverAuth",
    // 10.0.0.1 is the `kubernetes` Service's address in the service range the server is given.
    "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default," +
      "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local",
  ]);

  const serviceAccountKeyFile = join(dir, "service-account.key");
  const serviceAccountPublicKeyFile = join(dir, "service-account.pub");
  openssl([
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    serviceAccountKeyFile,
  ]);
  openssl(["pkey", "-in", serviceAccountKeyFile, "-pubout", "-out", serviceAccountPublicKeyFile]);

  return {
    ca,
    serving,
    serviceAccountKeyFile,
    serviceAccountPublicKeyFile,
    client(name, { commonName, organization }) {
      const subject = `/CN=${commonName}${organization ? `/O=${organization}` : ""}`;
      return signed(name, subject, [
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=clientAuth",
      ]);
    },
  };
}

/** A kubeconfig that carries everything inline, so it can be copied anywhere. */
export function kubeconfigYaml(options: {
  server: string;
  caCert: string;
  user: string;
  clientCert?: string;
  clientKey?: string;
  token?: string;
  namespace?: string;
}): string {
  const base64 = (text: string) => Buffer.from(text).toString("base64");
  const credentials = options.token
    ? [`    token: ${options.token}`]
    : [
        `    client-certificate-data: ${base64(options.clientCert ?? "")}`,
        `    client-key-data: ${base64(options.clientKey ?? "")}`,
      ];
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: control-plane",
    "  cluster:",
    `    server: ${options.server}`,
    `    certificate-authority-data: ${base64(options.caCert)}`,
    "users:",
    `- name: ${options.user}`,
    "  user:",
    ...credentials,
    "contexts:",
    "- name: control-plane",
    "  context:",
    "    cluster: control-plane",
    `    user: ${options.user}`,
    ...(options.namespace ? [`    namespace: ${options.namespace}`] : []),
    "current-context: control-plane",
    "",
  ].join("\n");
}

export function writeKubeconfig(path: string, yaml: string): void {
  writeFileSync(path, yaml, { mode: 0o600 });
}

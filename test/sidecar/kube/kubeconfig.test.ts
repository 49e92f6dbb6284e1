import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadKubeConfig, SERVICE_ACCOUNT_DIR } from "../../../sidecar/kube/kubeconfig.ts";

const dir = mkdtempSync(join(tmpdir(), "hf-kubeconfig-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(file: string, server: string, namespace?: string): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: { server: "${server}", insecure-skip-tls-verify: true }
users:
- name: u
  user: { token: t }
contexts:
- name: main
  context: { cluster: c, user: u${namespace ? `, namespace: ${namespace}` : ""} }
- name: other
  context: { cluster: c, user: u, namespace: elsewhere }
current-context: main
`,
  );
  return path;
}

/** A root with a mounted service account, as in a pod. */
function serviceAccountRoot(): string {
  const root = join(dir, "pod-root");
  const sa = join(root, SERVICE_ACCOUNT_DIR);
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, "token"), "sa-token");
  writeFileSync(join(sa, "ca.crt"), "");
  writeFileSync(join(sa, "namespace"), "symphony\n");
  return root;
}

const emptyHome = join(dir, "empty-home");
const inClusterEnv = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };

/** client-node reads the service host from process.env itself, so the tests set it there. */
function withEnv<T>(env: Record<string, string>, fn: () => T): T {
  const saved = { ...process.env };
  for (const key of ["KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"]) {
    delete process.env[key];
  }
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    process.env = saved;
  }
}

describe("loadKubeConfig", () => {
  it("uses an explicit kubeconfig before anything else", () => {
    const file = kubeconfig("explicit", "https://explicit:6443", "hpc");
    const env = { ...inClusterEnv, KUBECONFIG: kubeconfig("env", "https://env:6443") };
    const loaded = withEnv(env, () =>
      loadKubeConfig({ kubeconfig: file, rootDir: serviceAccountRoot() }),
    );
    assert.equal(loaded.source, "file");
    assert.equal(loaded.kubeConfig.getCurrentCluster()?.server, "https://explicit:6443");
    assert.equal(loaded.namespace, "hpc");
  });

  it("prefers KUBECONFIG to the service account", () => {
    const env = { ...inClusterEnv, KUBECONFIG: kubeconfig("env", "https://env:6443") };
    const loaded = withEnv(env, () =>
      loadKubeConfig({ rootDir: serviceAccountRoot(), homeDir: emptyHome }),
    );
    assert.equal(loaded.source, "KUBECONFIG");
    assert.equal(loaded.kubeConfig.getCurrentCluster()?.server, "https://env:6443");
  });

  it("uses the service account in a pod, with its namespace", () => {
    const loaded = withEnv(inClusterEnv, () =>
      loadKubeConfig({ rootDir: serviceAccountRoot(), homeDir: emptyHome }),
    );
    assert.equal(loaded.source, "in-cluster");
    assert.equal(loaded.kubeConfig.getCurrentCluster()?.server, "https://10.96.0.1:443");
    assert.equal(loaded.namespace, "symphony");
  });

  it("falls back on ~/.kube/config", () => {
    const home = join(dir, "home");
    mkdirSync(join(home, ".kube"), { recursive: true });
    const file = kubeconfig(join("home", ".kube", "config"), "https://home:6443");
    assert.ok(file.startsWith(home));
    const loaded = withEnv({}, () =>
      loadKubeConfig({ homeDir: home, rootDir: join(dir, "nowhere") }),
    );
    assert.equal(loaded.source, "home");
    assert.equal(loaded.kubeConfig.getCurrentCluster()?.server, "https://home:6443");
  });

  it("switches to a named context and refuses an unknown one", () => {
    const file = kubeconfig("contexts", "https://ctx:6443");
    assert.equal(loadKubeConfig({ kubeconfig: file, context: "other" }).namespace, "elsewhere");
    assert.throws(
      () => loadKubeConfig({ kubeconfig: file, context: "missing" }),
      /context "missing" not found; available: main, other/,
    );
  });

  it("says what to do when there is no configuration at all", () => {
    withEnv({}, () => {
      assert.throws(
        () => loadKubeConfig({ homeDir: emptyHome, rootDir: join(dir, "nowhere") }),
        /no Kubernetes configuration found/,
      );
      assert.throws(
        () => loadKubeConfig({ inCluster: true, rootDir: join(dir, "nowhere") }),
        /in-cluster configuration requested/,
      );
    });
  });
});

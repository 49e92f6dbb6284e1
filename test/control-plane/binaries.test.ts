// Where the control plane's binaries come from: envtest's variables first, then the build cache,
// and one clear reason when neither Go nor assets can give them. With Go, the built binaries
// report the pinned releases.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  BINARIES,
  binariesUnavailable,
  buildCacheDir,
  ensureBinaries,
  resolveBinaries,
} from "./binaries.ts";
import { controlPlaneUnavailable } from "./index.ts";

const ROOT = join(import.meta.dirname, "..", "..");
/** A cold build takes many minutes; this only stops a hung one. */
const BUILD_TIMEOUT_MS = 3_600_000;

describe("control plane binaries", () => {
  const scratch = mkdtempSync(join(tmpdir(), "binaries-test-"));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const noGo = { PATH: join(scratch, "empty-path") };

  const assets = join(scratch, "assets");
  execFileSync("mkdir", ["-p", assets]);
  for (const name of BINARIES) {
    writeFileSync(join(assets, name), "#!/bin/sh\n");
    chmodSync(join(assets, name), 0o755);
  }

  test("without Go and without assets, one reason names what is missing", () => {
    const reason = binariesUnavailable(noGo);
    assert.equal(
      reason,
      "no Go toolchain on PATH to build etcd, kube-apiserver, kube-controller-manager, " +
        "kube-scheduler, kwok, helm, and neither KUBEBUILDER_ASSETS nor TEST_ASSET_* points at them",
    );
  });

  test("a KUBEBUILDER_ASSETS folder with every binary needs no Go", () => {
    const resolution = resolveBinaries({ ...noGo, KUBEBUILDER_ASSETS: assets });
    assert.deepEqual(resolution.missing, []);
    assert.equal(resolution.found["kube-apiserver"], join(assets, "kube-apiserver"));
    assert.equal(binariesUnavailable({ ...noGo, KUBEBUILDER_ASSETS: assets }), undefined);
  });

  test("TEST_ASSET_<NAME> wins over the folder", () => {
    const etcd = join(scratch, "my-etcd");
    writeFileSync(etcd, "");
    const resolution = resolveBinaries({
      ...noGo,
      KUBEBUILDER_ASSETS: assets,
      TEST_ASSET_ETCD: etcd,
    });
    assert.equal(resolution.found.etcd, etcd);
  });

  test("envtest's usual folder (etcd and kube-apiserver only) leaves the rest to build", () => {
    const envtest = join(scratch, "envtest");
    execFileSync("mkdir", ["-p", envtest]);
    for (const name of ["etcd", "kube-apiserver", "kubectl"])
      writeFileSync(join(envtest, name), "");
    const reason = binariesUnavailable({ ...noGo, KUBEBUILDER_ASSETS: envtest });
    assert.match(
      reason ?? "",
      /^no Go toolchain on PATH to build kube-controller-manager, kube-scheduler, kwok, helm,/,
    );
  });

  test("a TEST_ASSET_ variable naming no file is an error that says which", () => {
    const env = { ...noGo, TEST_ASSET_KUBE_APISERVER: join(scratch, "nope") };
    assert.throws(() => resolveBinaries(env), {
      message: `TEST_ASSET_KUBE_APISERVER=${join(scratch, "nope")}: no such file; unset it or fix the path`,
    });
    assert.match(binariesUnavailable(env) ?? "", /TEST_ASSET_KUBE_APISERVER=.*no such file/);
  });

  test("the build cache is outside the repository and keyed by the Go version", () => {
    const cache = join(scratch, "xdg");
    const dir = buildCacheDir("go1.26.8", { XDG_CACHE_HOME: cache });
    assert.match(dir, new RegExp(`^${cache}/hostfactory-k8s/control-plane-[0-9a-f]{16}$`));
    assert.ok(!dir.startsWith(ROOT));
    assert.notEqual(buildCacheDir("go1.26.9", { XDG_CACHE_HOME: cache }), dir);
  });

  test("each binary reports its pinned release", {
    skip: controlPlaneUnavailable(),
    timeout: BUILD_TIMEOUT_MS,
  }, async () => {
    const paths = await ensureBinaries();
    const version = (name: keyof typeof paths, ...args: string[]) =>
      execFileSync(paths[name], args, { encoding: "utf8" });
    assert.match(version("kube-apiserver", "--version"), /^Kubernetes v1\.37\.2$/m);
    assert.match(version("kube-controller-manager", "--version"), /^Kubernetes v1\.37\.2$/m);
    assert.match(version("kube-scheduler", "--version"), /^Kubernetes v1\.37\.2$/m);
    assert.match(version("etcd", "--version"), /^etcd Version: 3\.6\.16$/m);
    assert.match(version("kwok", "--version"), /0\.8\.0/);
    assert.match(version("helm", "version", "--short"), /^v3\.22\.0/);
  });
});

// The six binaries of the real control plane, found or built. The envtest convention comes first
// (TEST_ASSET_<NAME>, then a KUBEBUILDER_ASSETS folder), so a user with setup-envtest's binaries
// needs no Go for those; whatever is left is built with `go build` from the pinned modules under
// this folder into a cache outside the repository, keyed by those modules and the Go version, so
// a warm machine builds nothing. As a CLI (`node test/control-plane/binaries.ts [name...]`) it
// builds what is missing (of the named binaries, default all) and prints where each one is.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const MODULES_DIR = import.meta.dirname;
const LOCK_POLL_MS = 1_000;

export const BINARIES = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kwok",
  "helm",
] as const;
export type BinaryName = (typeof BINARIES)[number];
export type BinaryPaths = Record<BinaryName, string>;

type ModuleName = "kubernetes" | "etcd" | "kwok" | "helm";

interface BinarySource {
  module: ModuleName;
  /** The Go package whose `package main` is the binary. */
  pkg: string;
  /** `-X` stamps, so that `--version` reports the release and not v0.0.0. */
  stamps: (versions: ModuleVersions) => Record<string, string>;
}

interface ModuleVersions {
  kubernetes: string;
  etcd: string;
  kwok: string;
  helm: string;
  /** The k8s.io client modules helm is built with: its default Capabilities.KubeVersion. */
  helmClientGo: string;
}

/** What tools that read a Kubernetes binary's version expect to find in it. */
function kubernetesStamps({ kubernetes }: ModuleVersions): Record<string, string> {
  const [major, minor] = kubernetes.replace(/^v/, "").split(".");
  const stamps: Record<string, string> = {};
  for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
    stamps[`${pkg}.gitVersion`] = kubernetes;
    stamps[`${pkg}.gitMajor`] = major ?? "";
    stamps[`${pkg}.gitMinor`] = minor ?? "";
    stamps[`${pkg}.gitTreeState`] = "clean";
    stamps[`${pkg}.buildDate`] = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  }
  return stamps;
}

const SOURCES: Record<BinaryName, BinarySource> = {
  etcd: { module: "etcd", pkg: "go.etcd.io/etcd/server/v3", stamps: () => ({}) },
  "kube-apiserver": {
    module: "kubernetes",
    pkg: "k8s.io/kubernetes/cmd/kube-apiserver",
    stamps: kubernetesStamps,
  },
  "kube-controller-manager": {
    module: "kubernetes",
    pkg: "k8s.io/kubernetes/cmd/kube-controller-manager",
    stamps: kubernetesStamps,
  },
  "kube-scheduler": {
    module: "kubernetes",
    pkg: "k8s.io/kubernetes/cmd/kube-scheduler",
    stamps: kubernetesStamps,
  },
  kwok: {
    module: "kwok",
    pkg: "sigs.k8s.io/kwok/cmd/kwok",
    stamps: ({ kwok }) => ({ "sigs.k8s.io/kwok/pkg/consts.Version": kwok.replace(/^v/, "") }),
  },
  helm: {
    module: "helm",
    pkg: "helm.sh/helm/v3/cmd/helm",
    stamps: ({ helm, helmClientGo }) => {
      const [, minor] = helmClientGo.replace(/^v/, "").split(".");
      return {
        "helm.sh/helm/v3/internal/version.version": helm,
        "helm.sh/helm/v3/internal/version.gitTreeState": "clean",
        "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor": "1",
        "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor": minor ?? "",
        "helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor": "1",
        "helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor": minor ?? "",
      };
    },
  },
};

/** envtest's variable for one binary: TEST_ASSET_KUBE_APISERVER, TEST_ASSET_ETCD, ... */
export function assetVariable(name: BinaryName): string {
  return `TEST_ASSET_${name.toUpperCase().replaceAll("-", "_")}`;
}

/** Where a binary comes from without building: an envtest variable or folder, else nothing. */
function fromAssets(name: BinaryName, env: NodeJS.ProcessEnv): string | undefined {
  const variable = assetVariable(name);
  const file = env[variable];
  if (file) {
    if (!isFile(file))
      throw new Error(`${variable}=${file}: no such file; unset it or fix the path`);
    return file;
  }
  const folder = env.KUBEBUILDER_ASSETS;
  if (folder && isFile(join(folder, name))) return join(folder, name);
  return undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The Go toolchain's version, or undefined when there is no `go` on PATH. */
function goVersion(env: NodeJS.ProcessEnv): string | undefined {
  const result = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8", env });
  if (result.error || result.status !== 0) return undefined;
  return result.stdout.trim();
}

function requiredVersion(module: ModuleName, path: string): string {
  const goMod = readFileSync(join(MODULES_DIR, module, "go.mod"), "utf8");
  const match = goMod.match(new RegExp(`^\\s*${path.replaceAll(".", "\\.")} (v\\S+)`, "m"));
  if (!match?.[1]) throw new Error(`${module}/go.mod does not require ${path}`);
  return match[1];
}

function moduleVersions(): ModuleVersions {
  return {
    kubernetes: requiredVersion("kubernetes", "k8s.io/kubernetes"),
    etcd: requiredVersion("etcd", "go.etcd.io/etcd/server/v3"),
    kwok: requiredVersion("kwok", "sigs.k8s.io/kwok"),
    helm: requiredVersion("helm", "helm.sh/helm/v3"),
    helmClientGo: requiredVersion("helm", "k8s.io/client-go"),
  };
}

/** The build cache folder: one per set of pinned modules and Go version. */
export function buildCacheDir(go: string, env: NodeJS.ProcessEnv = process.env): string {
  const hash = createHash("sha256").update(go);
  for (const module of ["kubernetes", "etcd", "kwok", "helm"] as const) {
    for (const file of ["go.mod", "go.sum"]) {
      hash.update(`${module}/${file}\0`).update(readFileSync(join(MODULES_DIR, module, file)));
    }
  }
  const cacheHome = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cacheHome, "hostfactory-k8s", `control-plane-${hash.digest("hex").slice(0, 16)}`);
}

export interface Resolution {
  /** Binaries found now, without building. */
  found: Partial<BinaryPaths>;
  /** Binaries that must be built (Go is present) or cannot be had (it is not). */
  missing: BinaryName[];
  /** The Go version, when Go is on PATH. */
  go?: string;
  /** Where built binaries go, when Go is on PATH. */
  cacheDir?: string;
}

/** Finds every binary that needs no build; says which are missing and whether Go can build them. */
export function resolveBinaries(env: NodeJS.ProcessEnv = process.env): Resolution {
  const found: Partial<BinaryPaths> = {};
  const missing: BinaryName[] = [];
  for (const name of BINARIES) {
    const asset = fromAssets(name, env);
    if (asset) found[name] = asset;
    else missing.push(name);
  }
  if (missing.length === 0) return { found, missing };
  const go = goVersion(env);
  if (!go) return { found, missing };
  const cacheDir = buildCacheDir(go, env);
  const stillMissing = missing.filter((name) => {
    if (!isFile(join(cacheDir, name))) return true;
    found[name] = join(cacheDir, name);
    return false;
  });
  return { found, missing: stillMissing, go, cacheDir };
}

/** Why these binaries (default: all) cannot be had on this machine, or undefined when they can. */
export function binariesUnavailable(
  env: NodeJS.ProcessEnv = process.env,
  names: readonly BinaryName[] = BINARIES,
): string | undefined {
  let missing: BinaryName[];
  try {
    const resolution = resolveBinaries(env);
    if (resolution.go) return undefined;
    missing = resolution.missing.filter((name) => names.includes(name));
  } catch (error) {
    return (error as Error).message;
  }
  if (missing.length === 0) return undefined;
  return (
    `no Go toolchain on PATH to build ${missing.join(", ")}, and neither ` +
    `KUBEBUILDER_ASSETS nor TEST_ASSET_* points at them`
  );
}

export interface EnsureOptions {
  env?: NodeJS.ProcessEnv;
  /** The binaries wanted (default: all six). */
  names?: readonly BinaryName[];
  /** Receives one line per build step (default: nothing is said). */
  log?: (line: string) => void;
}

/** Every binary's path, building the missing ones first (minutes on a cold Go cache). */
export async function ensureBinaries(options: EnsureOptions = {}): Promise<BinaryPaths> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const wanted = options.names ?? BINARIES;
  const missing = (resolution: Resolution) =>
    resolution.missing.filter((name) => wanted.includes(name));
  let resolution = resolveBinaries(env);
  if (missing(resolution).length === 0) return resolution.found as BinaryPaths;
  const { go, cacheDir } = resolution;
  if (!go || !cacheDir) throw new Error(binariesUnavailable(env, wanted));
  mkdirSync(cacheDir, { recursive: true });
  const unlock = await lock(join(cacheDir, ".build-lock"), log);
  try {
    // Another process may have built them while this one waited for the lock.
    resolution = resolveBinaries(env);
    const versions = moduleVersions();
    const byModule = new Map<ModuleName, BinaryName[]>();
    for (const name of missing(resolution)) {
      const { module } = SOURCES[name];
      byModule.set(module, [...(byModule.get(module) ?? []), name]);
    }
    for (const [module, names] of byModule) {
      const started = Date.now();
      log(`building ${names.join(", ")} with ${go} into ${cacheDir}`);
      await goBuild(module, names, versions, cacheDir, env);
      log(`built ${names.join(", ")} in ${Math.round((Date.now() - started) / 1000)} s`);
      for (const name of names) resolution.found[name] = join(cacheDir, name);
    }
  } finally {
    unlock();
  }
  return resolution.found as BinaryPaths;
}

/**
 * Takes a lock folder (mkdir is atomic) holding the owner's pid, so that test processes started
 * together build once: the others wait. A lock whose owner is dead is taken over.
 */
async function lock(path: string, log: (line: string) => void): Promise<() => void> {
  let said = false;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, "pid"), String(process.pid));
      return () => rmSync(path, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (!ownerAlive(path)) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (!said) log(`waiting for the build another process is running (${path})`);
    said = true;
    await sleep(LOCK_POLL_MS);
  }
}

function ownerAlive(lockPath: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lockPath, "pid"), "utf8"));
  } catch {
    // Just created, pid not written yet: its owner is alive.
    return true;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Builds one module's binaries in one `go build` (its packages share most of their compile work)
 * into a scratch folder, then renames each into the cache, so a reader never sees half a binary.
 */
async function goBuild(
  module: ModuleName,
  names: BinaryName[],
  versions: ModuleVersions,
  cacheDir: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const scratch = join(cacheDir, `.partial-${module}-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  try {
    const stamps = Object.assign({}, ...names.map((name) => SOURCES[name].stamps(versions)));
    const ldflags = Object.entries(stamps)
      .map(([symbol, value]) => `-X ${symbol}=${value}`)
      .join(" ");
    // `go build -o dir/` names a binary after its package's folder, which for etcd is "v3".
    const single = names.length === 1 && names[0];
    const output = single ? join(scratch, single) : `${scratch}/`;
    const args = ["build", "-trimpath", `-ldflags=${ldflags}`, "-o", output];
    args.push(...names.map((name) => SOURCES[name].pkg));
    await run("go", args, {
      cwd: join(MODULES_DIR, module),
      env: { ...env, CGO_ENABLED: "0", GOFLAGS: "-mod=readonly" },
    });
    for (const name of names) renameSync(join(scratch, name), join(cacheDir, name));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "inherit", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} (in ${options.cwd}) failed:\n${stderr}`));
    });
  });
}

if (import.meta.main) {
  try {
    const asked = process.argv.slice(2);
    const unknown = asked.filter((name) => !(BINARIES as readonly string[]).includes(name));
    if (unknown.length > 0) {
      throw new Error(`unknown binary ${unknown.join(", ")}; choose from ${BINARIES.join(", ")}`);
    }
    const names = asked.length > 0 ? (asked as BinaryName[]) : BINARIES;
    const paths = await ensureBinaries({ names, log: (line) => console.error(line) });
    for (const name of names) console.log(`${name}\t${paths[name]}`);
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}

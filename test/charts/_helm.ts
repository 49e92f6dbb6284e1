// Helm for the chart tests: the control plane's helm (test/control-plane/binaries.ts), from
// TEST_ASSET_HELM or KUBEBUILDER_ASSETS, else built once from the pinned helm module with Go. The
// chart suites skip with the reason where there is neither; CI requires them.
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { binariesUnavailable, resolveBinaries } from "../control-plane/binaries.ts";
import { REQUIRE_VARIABLE } from "../control-plane/index.ts";

export const ROOT = join(import.meta.dirname, "..", "..");
export const CHART = join(ROOT, "charts", "hostfactory-k8s");
const HELM_HOME = join(ROOT, "node_modules", ".cache", "hostfactory-k8s", "helm-home");

/** Why helm cannot be had here (the chart suites' skip reason), or undefined when it can. */
export function helmUnavailable(): string | undefined {
  if (process.env[REQUIRE_VARIABLE] === "1") return undefined;
  const reason = binariesUnavailable(process.env, ["helm"]);
  return reason && `helm unavailable: ${reason}`;
}

let helm: string | undefined;

/** The helm binary's path, building it first if Go can and it is not built yet. */
export function helmPath(): string {
  if (helm) return helm;
  helm = resolveBinaries().found.helm;
  if (!helm) {
    const reason = binariesUnavailable(process.env, ["helm"]);
    if (reason) throw new Error(`the chart tests need helm: ${reason}`);
    // Synchronous, because the chart suites render at load time; the global setup has usually
    // built it already.
    const cli = join(ROOT, "test", "control-plane", "binaries.ts");
    const line = execFileSync(process.execPath, [cli, "helm"], { encoding: "utf8" });
    helm = line.trim().split("\t")[1];
    if (!helm) throw new Error(`${cli} helm printed no path: ${line}`);
  }
  return helm;
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs helm with its own config, cache and data folders, so nothing of the user's is read. */
export function runHelm(args: string[]): HelmResult {
  const result = spawnSync(helmPath(), args, {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      HOME: HELM_HOME,
      HELM_CONFIG_HOME: join(HELM_HOME, "config"),
      HELM_CACHE_HOME: join(HELM_HOME, "cache"),
      HELM_DATA_HOME: join(HELM_HOME, "data"),
    },
  });
  if (result.error) throw new Error(`cannot run ${helmPath()}`, { cause: result.error });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

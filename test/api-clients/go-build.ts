// Builds the Go programs of test/api-clients (grpcurl, the Go client, the protoc plugins) into a
// cache outside the repository. Go's own build cache makes a rebuild with nothing changed cheap,
// so every run builds and always runs what the pinned go.mod and the sources say now.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { runProcess } from "../tools/run-process.ts";

export const MODULE_DIR = import.meta.dirname;
/** Set by CI: the Go-built tools are required there, so a missing Go fails instead of skipping. */
export const REQUIRE_ENV = "HOSTFACTORY_REQUIRE_CONTROL_PLANE";
export const BIN_DIR = join(
  process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"),
  "hostfactory-k8s",
  "api-clients",
);

function goVersion(): string | undefined {
  try {
    return execFileSync("go", ["version"], { encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

/**
 * Why the Go tests cannot run here, as the one line node:test prints for a skip; false when they
 * can. With HOSTFACTORY_REQUIRE_CONTROL_PLANE=1 a missing Go is not a reason to skip: the tests
 * run and fail on it.
 */
export function goSkipReason(): string | false {
  if (goVersion() || process.env[REQUIRE_ENV] === "1") return false;
  return `Go is not installed (needed to build grpcurl and the Go client; ${REQUIRE_ENV}=1 makes this a failure)`;
}

/** Builds `pkg` (a package path of test/api-clients/go.mod) as BIN_DIR/`name`; returns its path. */
export async function goBuild(pkg: string, name: string): Promise<string> {
  mkdirSync(BIN_DIR, { recursive: true });
  const output = join(BIN_DIR, name);
  if (!goVersion()) {
    throw new Error(`${REQUIRE_ENV}=1 requires Go, and \`go\` is not on PATH`);
  }
  const result = await runProcess("go", ["build", "-o", output, pkg], { cwd: MODULE_DIR });
  if (result.code !== 0) {
    throw new Error(`go build ${pkg} failed (exit ${result.code}):\n${result.stderr}`);
  }
  return output;
}

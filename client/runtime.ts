// What the client needs of the machine before it can do anything: a Node.js that runs it, and,
// for the commands that load packages from node_modules, those packages. Both problems are
// setup problems that HostFactory's retries cannot fix, reported in one line each; this module
// imports no package, so it works when they are missing.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** The oldest Node.js the project supports (package.json's engines). */
export const MINIMUM_NODE = "22.18";

/** Why this runtime cannot run the client, or undefined when it can. */
export function runtimeProblem(versions: NodeJS.ProcessVersions, execPath: string) {
  if ("deno" in versions) return undefined;
  const [major = 0, minor = 0] = versions.node.split(".").map(Number);
  const [needMajor = 0, needMinor = 0] = MINIMUM_NODE.split(".").map(Number);
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined;
  return `hostfactory-k8s needs Node.js ${MINIMUM_NODE} or newer, and ${execPath} is ${versions.node}: set HOSTFACTORY_NODE (or PATH) to a newer node, such as the hostfactory-k8s image's /usr/local/bin/node or one from https://nodejs.org`;
}

/** For an import that failed because a package is not installed: what to do about it. */
export function missingDependency(error: unknown, from: string): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return undefined;
  const name = /Cannot find (?:package|module) '([^'./][^']*)'/.exec(String(message))?.[1];
  if (name === undefined) return undefined;
  let root = from;
  while (!existsSync(join(root, "package.json")) && dirname(root) !== root) root = dirname(root);
  return `the package ${name} is not installed: run npm ci in ${root}`;
}

// `hostfactory install`: registers this provider with a HostFactory installation. Safe to run
// again: our entries are updated in place, everybody else's are kept, and files an operator may
// have edited (client config, templates) are written only when absent.
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize, resolve } from "node:path";
import { parseAddress } from "./address.ts";
import { invalidInput } from "./errors.ts";
import { CONFIG_FILE_NAME, DEFAULT_ADDRESS, DEFAULT_TIMEOUT_SECONDS } from "./settings.ts";

/** Written beside the scripts: where they find the client and Node.js (see scripts/_run-client.sh). */
export const CLIENT_LOCATION_FILE = "hostfactory-k8s.env";

/** This project's root: the nearest folder above this code (client/, or the bundle's client/gen/)
 * that holds the scripts. */
const ROOT = (() => {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "scripts", "_run-client.sh"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no scripts/ above ${import.meta.dirname}`);
  }
})();
const SCRIPTS_SOURCE = join(ROOT, "scripts");
/** The client bundled into one file (client/bundle.ts builds it), relative to the root. */
export const BUNDLE_FILE = join("client", "gen", "hostfactory.cjs");
/** What the scripts run: the bundle when it is there, else the sources. */
const CLIENT_ENTRY = [join(ROOT, BUNDLE_FILE), join(ROOT, "client", "main.ts")].find((file) =>
  existsSync(file),
) as string;
const EXAMPLE_TEMPLATES = join(ROOT, "examples", "templates.json");
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** IBM's own registration files are indented by four spaces. */
const JSON_INDENT = 4;
/** Our own client config, as the docs show it. */
const CONFIG_INDENT = 2;

export interface InstallOptions {
  /** HostFactory's conf dir (HF_CONFDIR). */
  hfConfdir: string;
  /** The provider instance's name. */
  provider: string;
  /** The provider plugin's name. */
  plugin: string;
  /** Default: <hfConfdir>/providers/<provider>/scripts. */
  scriptsDir?: string;
  /** Default: this project's examples/templates.json. */
  templates?: string;
  /** For the starter client config; default DEFAULT_ADDRESS. */
  address?: string;
}

/** Installs; resolves to one line per thing done, for the operator. */
export async function install(options: InstallOptions): Promise<string[]> {
  for (const [option, value] of [
    ["--provider", options.provider],
    ["--plugin", options.plugin],
  ]) {
    if (!NAME.test(value ?? "")) {
      throw invalidInput(`${option} ${JSON.stringify(value)}: use letters, digits, _, . and -`);
    }
  }
  if (options.address !== undefined) parseAddress(options.address, "--address");
  const hfConfdir = resolve(options.hfConfdir);
  if (!(await isDirectory(hfConfdir))) {
    throw invalidInput(`--hf-confdir ${hfConfdir} is not a directory (HostFactory's HF_CONFDIR)`);
  }
  const confDir = join(hfConfdir, "providers", options.provider);
  const scriptsDir = resolve(options.scriptsDir ?? join(confDir, "scripts"));
  // Read before anything is written: a config file that cannot be updated changes nothing.
  const clientConfig = await planClientConfig(join(confDir, CONFIG_FILE_NAME), options.address);
  const report: string[] = [];

  report.push(await writeScripts(scriptsDir, confDir));
  report.push(
    await upsertEntry(
      join(hfConfdir, "providerplugins", "hostProviderPlugins.json"),
      "providerplugins",
      {
        name: options.plugin,
        enabled: 1,
        scriptPath: `${scriptsDir}/`,
      },
    ),
  );
  report.push(
    await upsertEntry(join(hfConfdir, "providers", "hostProviders.json"), "providers", {
      name: options.provider,
      enabled: 1,
      plugin: options.plugin,
      confPath: `\${HF_CONFDIR}/providers/${options.provider}/`,
      workPath: `\${HF_WORKDIR}/providers/${options.provider}/`,
      logPath: `\${HF_LOGDIR}/`,
    }),
  );
  report.push(await clientConfig());
  report.push(...(await copyTemplates(options.templates, confDir)));
  return report;
}

/**
 * The client config: written when absent; when present, only its address changes, and only when
 * --address is given (HostFactory's NOTES tell operators to re-run install with a new address).
 * Resolves to the write, which resolves to the report line.
 */
async function planClientConfig(
  path: string,
  address: string | undefined,
): Promise<() => Promise<string>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const starter = {
      address: address ?? DEFAULT_ADDRESS,
      timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
    };
    return () => writeIfAbsent(path, `${JSON.stringify(starter, null, CONFIG_INDENT)}\n`);
  }
  if (address === undefined) {
    return async () => `${path}: kept (already there; --address changes its address)`;
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw invalidInput(
      `${path} is not valid JSON (${(error as Error).message}); fix it or remove it, then install again`,
    );
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw invalidInput(`${path} must hold a JSON object; fix it or remove it, then install again`);
  }
  const config = document as Record<string, unknown>;
  const before = config.address;
  if (before === address) return async () => `${path}: address already ${address}`;
  return async () => {
    await writeFile(path, `${JSON.stringify({ ...config, address }, null, CONFIG_INDENT)}\n`);
    const was = typeof before === "string" ? `from ${before} ` : "";
    return `${path}: address changed ${was}to ${address} (its other settings kept)`;
  };
}

async function writeScripts(scriptsDir: string, confDir: string): Promise<string> {
  await mkdir(scriptsDir, { recursive: true });
  const scripts = (await readdir(SCRIPTS_SOURCE)).filter((name) => name.endsWith(".sh")).sort();
  for (const script of scripts) {
    const target = join(scriptsDir, script);
    await copyFile(join(SCRIPTS_SOURCE, script), target);
    await chmod(target, 0o755);
  }
  await writeFile(
    join(scriptsDir, CLIENT_LOCATION_FILE),
    [
      "# Written by `hostfactory install`: where the scripts beside this file find the client and",
      "# Node.js. Variables set in HostFactory's environment take precedence.",
      `[ -n "\${HOSTFACTORY_CLI:-}" ] || HOSTFACTORY_CLI=${shellQuote(CLIENT_ENTRY)}`,
      `[ -n "\${HOSTFACTORY_NODE:-}" ] || HOSTFACTORY_NODE=${shellQuote(process.execPath)}`,
      "# The provider's conf dir, for a script run by hand (HostFactory sets it for its calls).",
      `[ -n "\${HF_PROVIDER_CONFDIR:-}" ] || HF_PROVIDER_CONFDIR=${shellQuote(confDir)}`,
      "export HF_PROVIDER_CONFDIR",
      "",
    ].join("\n"),
  );
  return `${scriptsDir}: wrote ${scripts.join(", ")} and ${CLIENT_LOCATION_FILE} (client ${CLIENT_ENTRY}, node ${process.execPath})`;
}

/** Adds our entry to a HostFactory registration file, or updates it in place; keeps the rest. */
async function upsertEntry(
  path: string,
  listKey: "providerplugins" | "providers",
  entry: { name: string } & Record<string, unknown>,
): Promise<string> {
  const document = await readRegistration(path, listKey);
  const list = document[listKey] as Record<string, unknown>[];
  const index = list.findIndex((existing) => existing.name === entry.name);
  const what = `${listKey === "providers" ? "provider" : "plugin"} ${entry.name}`;
  if (index === -1) {
    list.push(entry);
  } else {
    const merged = { ...list[index], ...entry };
    if (JSON.stringify(merged) === JSON.stringify(list[index]))
      return `${path}: ${what} already up to date`;
    list[index] = merged;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(document, null, JSON_INDENT)}\n`);
  return `${path}: ${index === -1 ? "added" : "updated"} ${what}`;
}

async function readRegistration(path: string, listKey: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { version: 2, [listKey]: [] };
    throw error;
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw invalidInput(`${path} is not valid JSON (${(error as Error).message}); fix it first`);
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw invalidInput(`${path} must hold a JSON object with a "${listKey}" list`);
  }
  const object = document as Record<string, unknown>;
  object[listKey] ??= [];
  if (!Array.isArray(object[listKey])) {
    throw invalidInput(`${path}: "${listKey}" must be a list`);
  }
  return object;
}

/** The templates file, and the pod spec files it names relative to itself, when absent. */
async function copyTemplates(option: string | undefined, confDir: string): Promise<string[]> {
  const source = resolve(option ?? EXAMPLE_TEMPLATES);
  let text: string;
  try {
    text = await readFile(source, "utf8");
  } catch (error) {
    if (option === undefined)
      return [`no templates written: ${source} is missing; pass --templates`];
    throw invalidInput(`--templates ${source}: ${(error as Error).message}`);
  }
  let templates: unknown;
  try {
    templates = (JSON.parse(text) as { templates?: unknown }).templates;
  } catch (error) {
    throw invalidInput(`--templates ${source} is not valid JSON: ${(error as Error).message}`);
  }
  const podSpecFiles = (Array.isArray(templates) ? templates : [])
    .map((template) => (template as { podSpecFile?: unknown })?.podSpecFile)
    .filter((file): file is string => typeof file === "string" && !isAbsolute(file))
    .map(normalize)
    .filter((file) => !file.startsWith(".."));

  const report = [await writeIfAbsent(join(confDir, basename(source)), text)];
  for (const file of podSpecFiles) {
    const podSpec = await readFile(join(dirname(source), file)).catch((error: Error) => {
      throw invalidInput(`--templates ${source} names pod spec file ${file}: ${error.message}`);
    });
    report.push(await writeIfAbsent(join(confDir, file), podSpec));
  }
  return report;
}

async function writeIfAbsent(path: string, content: string | Buffer): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(path, content, { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return `${path}: kept (already there)`;
    throw error;
  }
  return `${path}: written`;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

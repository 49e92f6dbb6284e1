// How the client reaches the sidecar. Each setting comes from the first of: a command-line flag,
// an environment variable, the provider's config file ($HF_PROVIDER_CONFDIR/hostfactory-k8s.json),
// the default.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type Address, parseAddress } from "./address.ts";
import { invalidInput } from "./errors.ts";

/** Where the sidecar listens unless told otherwise (the sidecar's own default). */
export const DEFAULT_ADDRESS = "unix:///tmp/hostfactory-k8s.sock";
/** The client's config file, in the provider instance's conf dir (HF_PROVIDER_CONFDIR). */
export const CONFIG_FILE_NAME = "hostfactory-k8s.json";
/** Well below HostFactory's action timeout (HF_PROVIDER_ACTION_TIMEOUT, typically 240-300 s). */
export const DEFAULT_TIMEOUT_SECONDS = 60;
/** The share of HF_PROVIDER_ACTION_TIMEOUT a call may take, leaving the rest for starting the
 * client and printing the answer before HostFactory gives up on the script. */
export const ACTION_TIMEOUT_SHARE = 0.75;

export const ADDRESS_ENV = "HOSTFACTORY_ADDRESS";
export const TIMEOUT_ENV = "HOSTFACTORY_TIMEOUT_SECONDS";

/** The config file's content; paths in `tls` are made absolute against the file's folder. */
export interface ClientConfig {
  address?: string;
  timeoutSeconds?: number;
  /** Allow plain TCP without TLS. */
  insecure?: boolean;
  tls?: TlsConfig;
}

export interface TlsConfig {
  /** CA bundle the sidecar's certificate must chain to (default: the system's CAs). */
  ca?: string;
  /** Client certificate and key, for mutual TLS; both or neither. */
  cert?: string;
  key?: string;
  /** The name the sidecar's certificate must carry, when not the address's host. */
  serverName?: string;
}

export interface SettingsFlags {
  address?: string;
  timeout?: string;
  insecure?: boolean;
}

export interface Settings {
  address: Address;
  /** The address as given, and where it came from, for messages. */
  addressText: string;
  addressSource: string;
  timeoutMs: number;
  /** TLS for a TCP address; undefined for a Unix socket or plain TCP. */
  tls: TlsConfig | undefined;
  /** For the log: choices an administrator may not expect. */
  warnings: string[];
}

type Env = Record<string, string | undefined>;

/** Reads the config file (if any) and resolves the settings. */
export function loadSettings(flags: SettingsFlags, env: Env): Settings {
  const path = env.HF_PROVIDER_CONFDIR ? resolve(env.HF_PROVIDER_CONFDIR, CONFIG_FILE_NAME) : "";
  const config = path ? readConfigFile(path) : undefined;
  return resolveSettings(flags, env, config && { path, config });
}

export function resolveSettings(
  flags: SettingsFlags,
  env: Env,
  file?: { path: string; config: ClientConfig },
): Settings {
  const config = file?.config ?? {};
  const warnings: string[] = [];

  const [addressText, addressSource] = firstOf<string>(
    [
      [flags.address, "--address"],
      [env[ADDRESS_ENV] || undefined, ADDRESS_ENV],
      [config.address, `${file?.path} address`],
    ],
    DEFAULT_ADDRESS,
  );
  const address = parseAddress(addressText, addressSource);

  const [timeoutText, timeoutSource] = firstOf<string | number>(
    [
      [flags.timeout, "--timeout"],
      [env[TIMEOUT_ENV] || undefined, TIMEOUT_ENV],
      [config.timeoutSeconds, `${file?.path} timeoutSeconds`],
    ],
    DEFAULT_TIMEOUT_SECONDS,
  );
  const timeoutSeconds = seconds(String(timeoutText), timeoutSource);
  const actionTimeout = Number(env.HF_PROVIDER_ACTION_TIMEOUT);
  const ceiling = actionTimeout > 0 ? actionTimeout * ACTION_TIMEOUT_SHARE : Infinity;
  if (timeoutSeconds > ceiling && timeoutSource !== "default") {
    warnings.push(
      `timeout ${timeoutSeconds}s (${timeoutSource}) lowered to ${ceiling}s to stay within HF_PROVIDER_ACTION_TIMEOUT=${actionTimeout}`,
    );
  }
  const timeoutMs = Math.min(timeoutSeconds, ceiling) * 1000;

  let tls: TlsConfig | undefined;
  if (address.transport === "tcp") {
    tls = config.tls;
    if (tls === undefined) {
      if (!(flags.insecure || config.insecure)) {
        throw invalidInput(
          `${addressText} (${addressSource}) is a TCP address: configure "tls" in ${file?.path ?? `$HF_PROVIDER_CONFDIR/${CONFIG_FILE_NAME}`}, or pass --insecure to allow plain TCP`,
        );
      }
      warnings.push(
        `plain TCP to ${addressText} without TLS (insecure): the network can read and forge these calls`,
      );
    }
  }

  return { address, addressText, addressSource, timeoutMs, tls, warnings };
}

/** Reads and checks the config file; an absent file is no config. */
export function readConfigFile(path: string): ClientConfig | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw invalidInput(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidInput(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return checkConfig(value, path);
}

const CONFIG_KEYS = ["address", "timeoutSeconds", "insecure", "tls"];
const TLS_KEYS = ["ca", "cert", "key", "serverName"];

function checkConfig(value: unknown, path: string): ClientConfig {
  const bad = (what: string) => invalidInput(`config file ${path}: ${what}`);
  const object = (v: unknown, name: string, keys: string[]): Record<string, unknown> => {
    if (typeof v !== "object" || v === null || Array.isArray(v))
      throw bad(`${name} must be an object`);
    const unknown = Object.keys(v).filter((key) => !keys.includes(key));
    if (unknown.length > 0) {
      throw bad(`unknown key ${unknown.join(", ")} in ${name}; known keys: ${keys.join(", ")}`);
    }
    return v as Record<string, unknown>;
  };
  const string = (v: unknown, name: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v === "") throw bad(`${name} must be a non-empty string`);
    return v;
  };
  const file = (v: unknown, name: string) => {
    const text = string(v, name);
    return text === undefined ? undefined : resolve(dirname(path), text);
  };

  const root = object(value, "the document", CONFIG_KEYS);
  const config: ClientConfig = { address: string(root.address, "address") };
  if (root.timeoutSeconds !== undefined) {
    if (typeof root.timeoutSeconds !== "number") throw bad("timeoutSeconds must be a number");
    config.timeoutSeconds = root.timeoutSeconds;
  }
  if (root.insecure !== undefined) {
    if (typeof root.insecure !== "boolean") throw bad("insecure must be true or false");
    config.insecure = root.insecure;
  }
  if (root.tls !== undefined) {
    const tls = object(root.tls, "tls", TLS_KEYS);
    config.tls = {
      ca: file(tls.ca, "tls.ca"),
      cert: file(tls.cert, "tls.cert"),
      key: file(tls.key, "tls.key"),
      serverName: string(tls.serverName, "tls.serverName"),
    };
    if ((config.tls.cert === undefined) !== (config.tls.key === undefined)) {
      throw bad("tls.cert and tls.key go together (mutual TLS): give both or neither");
    }
  }
  return config;
}

function seconds(text: string, source: string): number {
  const value = Number(text);
  if (text.trim() === "" || !(value > 0) || !Number.isFinite(value)) {
    throw invalidInput(
      `${source} must be a positive number of seconds; found ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/** The first value given, and where it came from. */
function firstOf<T>(candidates: [T | undefined, string][], fallback: T): [T, string] {
  return (
    candidates.find((candidate): candidate is [T, string] => candidate[0] !== undefined) ?? [
      fallback,
      "default",
    ]
  );
}

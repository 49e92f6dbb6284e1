// The sidecar's configuration: one table of options, read from flags, then environment, then a
// config file, then defaults (in that order of precedence), validated as a whole at start.
import { readFileSync } from "node:fs";
import { loadYaml } from "@kubernetes/client-node";
import { DEFAULT_PENDING_TIMEOUT_SECONDS } from "../templates/parse.ts";
import { DEFAULT_ABANDON_AFTER_SECONDS } from "./controller/abandoned-requests.ts";
import { DEFAULT_MAX_RETRY_DELAY_MS } from "./controller/failure-backoff.ts";
import { JITTER_FACTOR } from "./kube/leader-election.ts";
import {
  DEFAULT_FAIL_FAST_AFTER_SECONDS,
  DEFAULT_FAIL_FAST_REASONS,
  parseReasons,
} from "./provider/fast-failure.ts";
import { MAX_MACHINES_PER_REQUEST } from "./provider/model.ts";
import { checkPodNamePrefix } from "./provider/naming.ts";

export const DEFAULT_LISTEN = "unix:///tmp/hostfactory-k8s.sock";
/**
 * The example templates at their maxNumber (50 × 1 CPU/2Gi, 10 × 4 CPUs/16Gi) need 90 CPUs and
 * 260Gi; 16 nodes of 8 CPUs and 32Gi hold them with room for the scheduler's spreading, while
 * compute-huge (64 CPUs) still fits no node, as its example means.
 */
export const DEFAULT_SIMULATED_NODES = 16;

type Kind = "string" | "integer" | "number" | "boolean";
interface OptionSpec {
  kind: Kind;
  env: string;
  description: string;
  default?: string | number | boolean;
  /** A number that may be 0 (numbers must otherwise be positive). */
  zero?: boolean;
  /** A comma-separated list: a config file may give it as a list, and `none` is empty. */
  list?: boolean;
}

/** Every option, by its config-file key (camelCase); the flag is its kebab-case form. */
export const OPTIONS = {
  listen: {
    kind: "string",
    env: "HOSTFACTORY_LISTEN",
    default: DEFAULT_LISTEN,
    description:
      "where to serve gRPC: unix:///path/to.sock, or host:port (TCP needs TLS or --insecure)",
  },
  socketMode: {
    kind: "string",
    env: "HOSTFACTORY_SOCKET_MODE",
    default: "0600",
    description: "permissions of the Unix socket, in octal (0660 lets the socket's group connect)",
  },
  tlsCert: {
    kind: "string",
    env: "HOSTFACTORY_TLS_CERT",
    description: "TLS server certificate (PEM file)",
  },
  tlsKey: {
    kind: "string",
    env: "HOSTFACTORY_TLS_KEY",
    description: "TLS server private key (PEM file)",
  },
  tlsClientCa: {
    kind: "string",
    env: "HOSTFACTORY_TLS_CLIENT_CA",
    description: "CA bundle that client certificates must chain to (turns on mutual TLS)",
  },
  tlsReloadInterval: {
    kind: "number",
    env: "HOSTFACTORY_TLS_RELOAD_INTERVAL",
    default: 60,
    description:
      "seconds between checks of the TLS files, so a renewed certificate is used without a restart",
  },
  insecure: {
    kind: "boolean",
    env: "HOSTFACTORY_INSECURE",
    default: false,
    description: "allow plain TCP without TLS (never in production)",
  },
  healthListen: {
    kind: "string",
    env: "HOSTFACTORY_HEALTH_LISTEN",
    description:
      "host:port of a plain-text gRPC server with only grpc.health.v1, for Kubernetes' native grpc probes (off when unset)",
  },
  metricsListen: {
    kind: "string",
    env: "HOSTFACTORY_METRICS_LISTEN",
    description: "host:port to serve Prometheus metrics on, at /metrics (off when unset)",
  },
  namespace: {
    kind: "string",
    env: "HOSTFACTORY_NAMESPACE",
    description:
      "namespace of the pods and request records (default: the service account's, else the kubeconfig context's, else 'default')",
  },
  instance: {
    kind: "string",
    env: "HF_PROVIDER_NAME",
    default: "hostfactory",
    description: "provider instance name; the sidecar only touches objects labelled with it",
  },
  podNamePrefix: {
    kind: "string",
    env: "HOSTFACTORY_POD_NAME_PREFIX",
    default: "hf",
    description: "first part of every pod name (pod names are <prefix>-<request id>-<index>)",
  },
  templates: {
    kind: "string",
    env: "HOSTFACTORY_TEMPLATES",
    description: "templates file (JSON, HostFactory style); re-read when it changes",
  },
  kubeconfig: {
    kind: "string",
    env: "KUBECONFIG",
    description: "kubeconfig file (default: in-cluster service account, else ~/.kube/config)",
  },
  simulate: {
    kind: "boolean",
    env: "HOSTFACTORY_SIMULATE",
    default: false,
    description: "run against a built-in simulated cluster, with the example templates",
  },
  simulateNodes: {
    kind: "integer",
    env: "HOSTFACTORY_SIMULATE_NODES",
    default: DEFAULT_SIMULATED_NODES,
    description:
      "nodes of the simulated cluster (8 CPUs, 32Gi each); the default fits every example template's maxNumber at once",
  },
  qps: {
    kind: "number",
    env: "HOSTFACTORY_QPS",
    default: 50,
    description: "Kubernetes API calls per second",
  },
  burst: {
    kind: "integer",
    env: "HOSTFACTORY_BURST",
    default: 100,
    description: "Kubernetes API burst",
  },
  maxInFlight: {
    kind: "integer",
    env: "HOSTFACTORY_MAX_IN_FLIGHT",
    default: 32,
    description: "most Kubernetes API calls in flight at once",
  },
  leaderElect: {
    kind: "boolean",
    env: "HOSTFACTORY_LEADER_ELECT",
    default: true,
    description: "elect a leader through a Lease so that one replica of several reconciles",
  },
  leaseName: {
    kind: "string",
    env: "HOSTFACTORY_LEASE_NAME",
    description: "the Lease's name (default: hostfactory-k8s-<instance>)",
  },
  leaseDuration: {
    kind: "number",
    env: "HOSTFACTORY_LEASE_DURATION",
    default: 15,
    description: "seconds a leader's Lease lasts without renewal before another replica takes over",
  },
  renewDeadline: {
    kind: "number",
    env: "HOSTFACTORY_RENEW_DEADLINE",
    default: 10,
    description: "seconds the leader keeps trying to renew before it steps down",
  },
  retryPeriod: {
    kind: "number",
    env: "HOSTFACTORY_RETRY_PERIOD",
    default: 2,
    description: "seconds between attempts to take or renew the Lease",
  },
  pendingTimeout: {
    kind: "integer",
    env: "HOSTFACTORY_PENDING_TIMEOUT",
    default: DEFAULT_PENDING_TIMEOUT_SECONDS,
    description: "seconds a machine may stay Pending before it fails (a template may override)",
  },
  failFastReasons: {
    kind: "string",
    list: true,
    env: "HOSTFACTORY_FAIL_FAST_REASONS",
    default: DEFAULT_FAIL_FAST_REASONS.join(","),
    description:
      "kubelet waiting reasons that fail a machine before its Pending timeout, comma-separated, or none",
  },
  failFastAfter: {
    kind: "number",
    zero: true,
    env: "HOSTFACTORY_FAIL_FAST_AFTER",
    default: DEFAULT_FAIL_FAST_AFTER_SECONDS,
    description:
      "seconds a pod must show those reasons without a break before its machine fails (0: at first sight)",
  },
  retryMaxDelay: {
    kind: "number",
    env: "HOSTFACTORY_RETRY_MAX_DELAY",
    default: DEFAULT_MAX_RETRY_DELAY_MS / 1000,
    description:
      "seconds, at most, between tries of a pod create or delete that keeps failing (the delay doubles from 10 ms up to this)",
  },
  maxRequestMachines: {
    kind: "integer",
    env: "HOSTFACTORY_MAX_REQUEST_MACHINES",
    default: MAX_MACHINES_PER_REQUEST,
    description: `most machines one requestMachines may ask for, at most ${MAX_MACHINES_PER_REQUEST} (a request's record must stay under Kubernetes' 1 MiB object limit)`,
  },
  abandonAfter: {
    kind: "integer",
    env: "HOSTFACTORY_ABANDON_AFTER",
    default: DEFAULT_ABANDON_AFTER_SECONDS,
    description:
      "seconds a create request may go without HostFactory asking about it before it is abandoned: its machines fail and its pods are deleted (keep it well above HostFactory's polling interval)",
  },
  recordRetention: {
    kind: "integer",
    env: "HOSTFACTORY_RECORD_RETENTION",
    default: 86_400,
    description:
      "seconds a completed request's record is kept (a create record also while its pods live)",
  },
  watchInactivity: {
    kind: "number",
    env: "HOSTFACTORY_WATCH_INACTIVITY",
    default: 90,
    description: "seconds a watch may stay silent (not even a bookmark) before it is restarted",
  },
  watchNodes: {
    kind: "boolean",
    env: "HOSTFACTORY_WATCH_NODES",
    default: false,
    description:
      "watch nodes, so getReturnRequests reports machines on nodes going away (needs the chart's ClusterRole)",
  },
  watchQuotas: {
    kind: "boolean",
    env: "HOSTFACTORY_WATCH_QUOTAS",
    default: true,
    description:
      "watch the namespace's ResourceQuotas, so getAvailableTemplates reports what they still admit and requestMachines refuses more (needs list and watch on resourcequotas)",
  },
  orphanPolicy: {
    kind: "string",
    env: "HOSTFACTORY_ORPHAN_POLICY",
    default: "delete",
    description:
      "what to do with our pods that belong to no request and that HostFactory does not hold: report or delete",
  },
  orphanGracePeriod: {
    kind: "integer",
    env: "HOSTFACTORY_ORPHAN_GRACE_PERIOD",
    default: 1_800,
    description: "seconds an orphan pod is reported before the delete policy removes it",
  },
  clusterDomain: {
    kind: "string",
    env: "HOSTFACTORY_CLUSTER_DOMAIN",
    default: "cluster.local",
    description: "cluster DNS domain, for machine FQDNs",
  },
  logLevel: {
    kind: "string",
    env: "HOSTFACTORY_LOG_LEVEL",
    default: "info",
    description: "log level: trace, debug, info, warn, error",
  },
} satisfies Record<string, OptionSpec>;

type Options = typeof OPTIONS;
type ValueOf<K extends Kind> = K extends "boolean" ? boolean : K extends "string" ? string : number;
type OptionValues = {
  [K in keyof Options]: Options[K] extends { default: unknown }
    ? ValueOf<Options[K]["kind"]>
    : ValueOf<Options[K]["kind"]> | undefined;
};
/** The resolved configuration: the lease name always has a value once loaded. */
export type Config = Omit<OptionValues, "leaseName"> & { leaseName: string };

export class ConfigError extends Error {
  override name = "ConfigError";
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** citty argument definitions, so that --help lists every option with its default. */
export function configArgs() {
  const args: Record<string, { type: "string" | "boolean"; description: string }> = {
    config: {
      type: "string",
      description: "config file (JSON or YAML; keys as in this list, camelCase)",
    },
  };
  for (const [key, spec] of Object.entries(OPTIONS) as [string, OptionSpec][]) {
    const fallback = spec.default === undefined ? "" : ` (default: ${spec.default})`;
    args[kebab(key)] = {
      type: spec.kind === "boolean" ? "boolean" : "string",
      description: `${spec.description}${fallback} [env ${spec.env}]`,
    };
  }
  return args;
}

/** `where` names the setting as the operator wrote it: "flag --qps", "env HOSTFACTORY_QPS". */
function coerce(where: string, spec: OptionSpec, value: unknown): unknown {
  const problem = (expected: string) =>
    new ConfigError(`${where}: expected ${expected}, found ${JSON.stringify(value)}`);
  if (spec.kind === "boolean") {
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "1") return true;
    if (value === "false" || value === "0") return false;
    throw problem("true or false");
  }
  if (spec.kind === "string") {
    if (spec.list && Array.isArray(value) && value.every((item) => typeof item === "string")) {
      return value.length === 0 ? "none" : value.join(",");
    }
    if (typeof value !== "string" || value === "") throw problem("a non-empty string");
    return value;
  }
  const number = typeof value === "number" ? value : Number(value);
  if (value === "" || !Number.isFinite(number) || number < 0 || (number === 0 && !spec.zero)) {
    throw problem(spec.zero ? "a number, 0 or more" : "a positive number");
  }
  if (spec.kind === "integer" && !Number.isInteger(number)) throw problem("a positive integer");
  return number;
}

function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = loadYaml(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError(`config file ${path}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path}: expected a map of options`);
  }
  for (const key of Object.keys(parsed)) {
    if (!(key in OPTIONS)) {
      throw new ConfigError(`config file ${path}: unknown option '${key}' (see --help)`);
    }
  }
  return parsed as Record<string, unknown>;
}

/** Resolves flags (as citty parsed them), environment and config file into a checked Config. */
export function loadConfig(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const stray = Array.isArray(flags._) ? flags._ : [];
  if (stray.length > 0) {
    throw new ConfigError(
      `unexpected argument '${stray[0]}' (a switch takes --name=false or --no-name, not a separate value)`,
    );
  }
  const file = typeof flags.config === "string" ? readConfigFile(flags.config) : {};
  const config: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(OPTIONS) as [string, OptionSpec][]) {
    const flag = flags[kebab(key)];
    if (flag !== undefined) config[key] = coerce(`flag --${kebab(key)}`, spec, flag);
    // An empty variable counts as unset (`KUBECONFIG= cmd` is a common way to unset one).
    else if (env[spec.env]) config[key] = coerce(`env ${spec.env}`, spec, env[spec.env]);
    else if (file[key] !== undefined) config[key] = coerce(`config file ${key}`, spec, file[key]);
    else config[key] = spec.default;
  }
  const result = config as OptionValues;
  result.leaseName ??= `hostfactory-k8s-${result.instance.toLowerCase().replace(/[_.]/g, "-")}`;
  const resolved = result as Config;
  check(resolved);
  return resolved;
}

function check(config: Config): void {
  try {
    checkPodNamePrefix(config.podNamePrefix);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (!/^[0-7]{3,4}$/.test(config.socketMode)) {
    throw new ConfigError(
      `socket-mode: expected octal permissions like 0600, found '${config.socketMode}'`,
    );
  }
  if (!/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/.test(config.instance)) {
    throw new ConfigError(
      `instance: '${config.instance}' must be 1-63 letters, digits, '-', '_' or '.' (a label value)`,
    );
  }
  for (const [name, value] of [
    ["health-listen", config.healthListen],
    ["metrics-listen", config.metricsListen],
  ] as const) {
    if (value !== undefined && !/^[^/]*:\d+$/.test(value)) {
      throw new ConfigError(`${name}: expected host:port (e.g. 0.0.0.0:9090), found '${value}'`);
    }
  }
  if (config.maxRequestMachines > MAX_MACHINES_PER_REQUEST) {
    throw new ConfigError(
      `max-request-machines: at most ${MAX_MACHINES_PER_REQUEST} (a request's record must stay under Kubernetes' 1 MiB object limit), found ${config.maxRequestMachines}`,
    );
  }
  if (parseReasons(config.failFastReasons) === undefined) {
    throw new ConfigError(
      `fail-fast-reasons: expected kubelet reasons separated by commas (like ErrImagePull,ImagePullBackOff) or none, found '${config.failFastReasons}'`,
    );
  }
  if (config.orphanPolicy !== "report" && config.orphanPolicy !== "delete") {
    throw new ConfigError(
      `orphan-policy: expected report or delete, found '${config.orphanPolicy}'`,
    );
  }
  if (!config.templates && !config.simulate) {
    throw new ConfigError(
      "templates: give --templates FILE (or HOSTFACTORY_TEMPLATES), or use --simulate",
    );
  }
  if (
    !config.listen.startsWith("unix:") &&
    !config.insecure &&
    !(config.tlsCert && config.tlsKey)
  ) {
    throw new ConfigError(
      `listen ${config.listen}: TCP needs --tls-cert and --tls-key (or --insecure for plain TCP, never in production)`,
    );
  }
  if (Boolean(config.tlsCert) !== Boolean(config.tlsKey)) {
    throw new ConfigError("tls-cert and tls-key go together");
  }
  // The elector's own rules (client-go's): renewals are jittered by up to JITTER_FACTOR.
  const { leaseDuration, renewDeadline, retryPeriod } = config;
  if (
    leaseDuration < 1 ||
    renewDeadline >= leaseDuration ||
    renewDeadline <= JITTER_FACTOR * retryPeriod
  ) {
    throw new ConfigError(
      `leader election timings must satisfy ${JITTER_FACTOR} × retry-period < renew-deadline < lease-duration, and lease-duration ≥ 1 (found ${retryPeriod}, ${renewDeadline}, ${leaseDuration})`,
    );
  }
}

// `hostfactory doctor`: checks what a deployment needs, each check ending in ok or in what to fix.
// The sidecar: reachable, serving, caches synced, a leader, every Kubernetes permission it uses
// (asked of the API server as the sidecar's own identity), its templates and the PriorityClass,
// RuntimeClass and ServiceAccount they name. HostFactory's side,
// given its conf dir: the plugin and provider entries, the scripts and their executable bits,
// where the scripts find the client and Node.js, the client config. Checks that cannot run
// (the sidecar is down) say so and are skipped; the others still run.
import { constants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { GetStatusResponse } from "../../proto/gen/hostfactory/v1/admin.ts";
import { ClientError } from "../errors.ts";
import { CLIENT_LOCATION_FILE } from "../install.ts";
import { CONFIG_FILE_NAME, readConfigFile, resolveSettings } from "../settings.ts";
import { type AdminContext, AdminExit, type Run } from "./context.ts";
import { plural } from "./format.ts";
import { validateTemplatesFile } from "./templates.ts";

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface CheckResult {
  check: string;
  status: CheckStatus;
  message: string;
  /** What to do about a warning or a failure. */
  fix?: string;
}

const PROVIDER_SERVICE = "hostfactory.v1.ProviderService";
/** The scripts HostFactory runs, which must be executable, and the one they read. */
const SCRIPTS = [
  "getAvailableTemplates.sh",
  "requestMachines.sh",
  "requestReturnMachines.sh",
  "getRequestStatus.sh",
  "getReturnRequests.sh",
];
const SCRIPT_HELPER = "_run-client.sh";
const PLUGINS_FILE = join("providerplugins", "hostProviderPlugins.json");
const PROVIDERS_FILE = join("providers", "hostProviders.json");
const INSTALL_FIX =
  "run `hostfactory install --hf-confdir DIR --provider NAME` (safe to run again)";

type Results = CheckResult[];

async function sidecarChecks(context: AdminContext, results: Results): Promise<void> {
  const add = (check: string, status: CheckStatus, message: string, fix?: string) =>
    results.push({ check, status, message, ...(fix ? { fix } : {}) });
  let where: string;
  try {
    where = `${context.settings().addressText} (from ${context.settings().addressSource})`;
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    add("client settings", "fail", error.message, "correct the address or the client config file");
    return;
  }
  const sidecar = await context.sidecar();
  let status: GetStatusResponse;
  try {
    status = await sidecar.call("getStatus", {});
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    add(
      "sidecar reachable",
      "fail",
      error.message,
      `start the sidecar, or point --address, $HOSTFACTORY_ADDRESS or "address" in $HF_PROVIDER_CONFDIR/${CONFIG_FILE_NAME} at it`,
    );
    for (const check of [
      "cluster",
      "health",
      "caches",
      "leader",
      "permissions",
      "templates",
      "template references",
    ]) {
      add(check, "skip", "the sidecar is not reachable");
    }
    return;
  }
  add(
    "sidecar reachable",
    "ok",
    `${where}: instance ${status.instance} in namespace ${status.namespace}, replica ${status.identity}`,
  );
  // Root causes first: what stops pods being created at all explains the failures below it.
  const rootCause = await clusterCheck(context, status, add);

  const health = await Promise.all([sidecar.health(""), sidecar.health(PROVIDER_SERVICE)]);
  if (health.every((h) => h === "SERVING")) add("health", "ok", "SERVING");
  else {
    add(
      "health",
      "fail",
      `the sidecar answers but does not serve HostFactory yet (${health.join(", ")})`,
      "it serves once its caches are synced: see the caches check and the sidecar's log",
    );
  }

  const caches = status.caches.map((c) => `${c.name} ${c.synced ? c.size : "not synced"}`);
  if (status.cachesSynced) add("caches", "ok", `synced: ${caches.join(", ")}`);
  else {
    add(
      "caches",
      "fail",
      `not synced: ${caches.join(", ")}`,
      "the sidecar cannot list or watch its objects: check that it reaches the Kubernetes API and the permissions below",
    );
  }

  if (!status.leaderElection) {
    add("leader", "ok", "leader election is off: this replica reconciles alone");
  } else if (status.leader) {
    const self = status.isLeader ? " (the replica that answered)" : "";
    add("leader", "ok", `${status.leader}${self} holds Lease ${status.leaseName}`);
  } else {
    add(
      "leader",
      "fail",
      `no replica holds Lease ${status.leaseName}: no pod is created or deleted`,
      rootCause
        ? `fix the cluster check above first (${rootCause}): the Lease lives in the same namespace`
        : "check the sidecar's log for Lease errors, and its permissions on leases below",
    );
  }

  if (rootCause === KUBE_API_UNREACHABLE) {
    add("permissions", "skip", "access reviews need the Kubernetes API (see the cluster check)");
    templatesCheck(status, add);
    add("template references", "skip", "lookups need the Kubernetes API (see the cluster check)");
    return;
  }
  const { checks } = await sidecar.call("checkPermissions", {});
  const denied = checks.filter((c) => !c.allowed);
  for (const c of denied) {
    const resource = c.group ? `${c.resource}.${c.group}` : c.resource;
    const scope = c.namespace ? `in namespace ${c.namespace}` : "cluster-wide";
    const named = c.name ? ` named ${c.name}` : "";
    const why = c.error ? ` (the access review failed: ${c.error})` : "";
    const kind = c.namespace ? "Role" : "ClusterRole";
    add(
      `permission ${c.verb} ${resource}`,
      c.required ? "fail" : "warn",
      `the sidecar may not ${c.verb} ${resource}${named} ${scope}: ${c.purpose}${why}`,
      `grant the sidecar's identity a ${kind} rule: apiGroups ["${c.group}"], resources ["${c.resource}"], verbs ["${c.verb}"]${c.name ? `, resourceNames ["${c.name}"]` : ""} (the Helm chart's ${kind} has it)`,
    );
  }
  if (denied.length === 0) {
    add("permissions", "ok", `all ${checks.length} calls the sidecar makes are allowed`);
  }

  templatesCheck(status, add);
  await templateReferencesCheck(context, status, add);
}

/** What to do about a missing object a template names, by its kind. */
const REFERENCE_FIX: Record<string, (name: string, namespace: string) => string> = {
  PriorityClass: (name) =>
    `create PriorityClass ${name} (examples/priority-classes.yaml shows classes for compute hosts), or correct the template's priorityClassName`,
  RuntimeClass: (name) =>
    `create RuntimeClass ${name} for a handler the nodes' container runtime has, or correct the template's runtimeClassName`,
  ServiceAccount: (name, namespace) =>
    `kubectl -n ${namespace} create serviceaccount ${name}, or correct the template's serviceAccountName`,
};

/**
 * The PriorityClass, RuntimeClass and ServiceAccount each template names, looked up by the
 * sidecar: the API server refuses every pod of a template naming one that does not exist.
 */
async function templateReferencesCheck(
  context: AdminContext,
  status: GetStatusResponse,
  add: (check: string, status: CheckStatus, message: string, fix?: string) => void,
): Promise<void> {
  const sidecar = await context.sidecar();
  let checks: { templateId: string; kind: string; name: string; found: boolean; error: string }[];
  try {
    ({ checks } = await sidecar.call("checkTemplateReferences", {}));
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    add("template references", "skip", `the sidecar cannot look them up: ${error.message}`);
    return;
  }
  for (const c of checks.filter((c) => !c.found)) {
    const where = c.kind === "ServiceAccount" ? ` in namespace ${status.namespace}` : "";
    if (c.error) {
      add(
        `template ${c.templateId}: ${c.kind}`,
        "warn",
        `cannot tell whether ${c.kind} ${c.name}${where} exists: ${c.error}`,
        "see the permissions check: the sidecar needs get on it (the Helm chart grants it)",
      );
    } else {
      add(
        `template ${c.templateId}: ${c.kind}`,
        "fail",
        `names ${c.kind} ${c.name}, which does not exist${where}: the API server refuses every pod of the template`,
        (REFERENCE_FIX[c.kind] ?? (() => "create it, or correct the template"))(
          c.name,
          status.namespace,
        ),
      );
    }
  }
  if (checks.every((c) => c.found)) {
    const named = [...new Set(checks.map((c) => `${c.kind} ${c.name}`))];
    add(
      "template references",
      "ok",
      named.length > 0
        ? `they exist: ${named.join(", ")}`
        : "the templates name no PriorityClass, RuntimeClass or ServiceAccount",
    );
  }
}

function templatesCheck(
  status: GetStatusResponse,
  add: (check: string, status: CheckStatus, message: string, fix?: string) => void,
): void {
  if (status.templatesError) {
    add(
      "templates",
      "fail",
      `${status.templatesFile} is invalid; the sidecar keeps its last good set of ${plural(status.templateCount, "template")}: ${status.templatesError}`,
      `correct it (hostfactory templates validate ${status.templatesFile} lists every problem)`,
    );
  } else {
    add(
      "templates",
      "ok",
      `${plural(status.templateCount, "template")} from ${status.templatesFile}`,
    );
  }
}

const KUBE_API_UNREACHABLE = "Kubernetes API unreachable";
/** Root causes a dry-run create of a pod reveals, in the order doctor looks for them. */
const ROOT_CAUSES: {
  cause: string;
  pattern: RegExp;
  message: (namespace: string, refusal: string) => string;
  fix: (namespace: string) => string;
}[] = [
  {
    cause: "namespace missing",
    pattern: /namespaces? "[^"]*" not found/,
    message: (namespace) =>
      `namespace ${namespace} does not exist: no pod, record or Lease can be created in it`,
    fix: (namespace) =>
      `create it (kubectl create namespace ${namespace}), or give the sidecar the namespace its pods belong in (--namespace, HOSTFACTORY_NAMESPACE, the Helm release's namespace)`,
  },
  {
    cause: "quota",
    pattern: /exceeded quota/,
    message: (namespace, refusal) =>
      `a ResourceQuota in namespace ${namespace} refuses a pod: ${refusal}`,
    fix: (namespace) =>
      `raise the quota (kubectl -n ${namespace} describe resourcequota shows what is used and allowed), or lower the templates' maxNumber or resource requests`,
  },
  {
    cause: "RBAC",
    pattern: /forbidden: User .* cannot create resource "pods"/,
    message: (namespace, refusal) =>
      `the sidecar's identity may not create pods in namespace ${namespace}: ${refusal}`,
    fix: () =>
      `grant the sidecar's identity a Role rule: apiGroups [""], resources ["pods"], verbs ["create"] (the Helm chart's Role has it)`,
  },
  {
    cause: KUBE_API_UNREACHABLE,
    pattern:
      /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|certificate|socket hang up|fetch failed/i,
    message: (_namespace, refusal) =>
      `the sidecar cannot reach the Kubernetes API it is configured for: ${refusal}`,
    fix: () =>
      "check the sidecar's kubeconfig and its current context (--kubeconfig, KUBECONFIG; in a Pod, its service account): it names the API server and the credentials",
  },
];

/**
 * Has the API server judge a pod of the first template as the sidecar would create it (dry run:
 * nothing is created), which finds what stops every create at once: a missing namespace, a
 * quota, RBAC, an unreachable or wrong cluster, an admission policy. Resolves to the root cause
 * found, if any.
 */
async function clusterCheck(
  context: AdminContext,
  status: GetStatusResponse,
  add: (check: string, status: CheckStatus, message: string, fix?: string) => void,
): Promise<string | undefined> {
  const sidecar = await context.sidecar();
  let templateId: string | undefined;
  let answer: { dryRunAccepted: boolean; dryRunError: string };
  try {
    templateId = (await sidecar.call("listTemplates", {})).templates[0]?.template?.templateId;
    if (!templateId) {
      add("cluster", "skip", "the sidecar has no templates to try a pod of");
      return undefined;
    }
    answer = await sidecar.call("renderTemplate", {
      templateId,
      requestId: "",
      machineIndex: 0,
      rcAccount: "",
      dryRun: true,
    });
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    // Not serving yet (its caches are not synced): its access reviews say whether it reaches
    // the API server at all.
    const reviews = await sidecar.call("checkPermissions", {}).catch(() => undefined);
    const apiError = reviews?.checks.find((check) => check.error)?.error;
    const unreachable = ROOT_CAUSES.find((root) => root.cause === KUBE_API_UNREACHABLE);
    if (unreachable && apiError && unreachable.pattern.test(apiError)) {
      add(
        `cluster: ${unreachable.cause}`,
        "fail",
        unreachable.message(status.namespace, apiError),
        unreachable.fix(status.namespace),
      );
      return unreachable.cause;
    }
    add("cluster", "skip", `the sidecar cannot try a pod yet: ${error.message}`);
    return undefined;
  }
  const { dryRunAccepted, dryRunError } = answer;
  if (dryRunAccepted) {
    add(
      "cluster",
      "ok",
      `the API server accepts a pod of template ${templateId} in namespace ${status.namespace} (dry run: namespace, permission, quota and admission)`,
    );
    return undefined;
  }
  const found = ROOT_CAUSES.find((root) => root.pattern.test(dryRunError));
  if (found) {
    add(
      `cluster: ${found.cause}`,
      "fail",
      found.message(status.namespace, dryRunError),
      found.fix(status.namespace),
    );
    return found.cause;
  }
  add(
    "cluster",
    "fail",
    `the API server refuses a pod of template ${templateId} in namespace ${status.namespace}: ${dryRunError}`,
    `see the refusal: an admission policy or webhook, or the template's pod spec (hostfactory templates render ${templateId} --dry-run)`,
  );
  return "pods refused";
}

function templatesFileCheck(file: string, results: Results): void {
  const check = validateTemplatesFile(file);
  results.push(
    check.valid
      ? {
          check: "templates file",
          status: "ok",
          message: `${file}: ${plural(check.templates.length, "template")}, valid`,
        }
      : {
          check: "templates file",
          status: "fail",
          message: `${file} is invalid: ${check.problems.join("; ")}`,
          fix: "correct each problem; the sidecar would refuse the whole file",
        },
  );
}

/** Expands ${VAR} and $VAR as HostFactory does; names it cannot expand are returned. */
function expand(text: string, variables: Record<string, string | undefined>) {
  const missing: string[] = [];
  const value = text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
    const name = (braced ?? bare) as string;
    const found = variables[name];
    if (found === undefined) missing.push(name);
    return found ?? whole;
  });
  return { value, missing };
}

async function readJsonFile(path: string): Promise<Record<string, unknown>> {
  const value = JSON.parse(await readFile(path, "utf8")) as unknown;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("not a JSON object");
  }
  return value as Record<string, unknown>;
}

type Entry = Record<string, unknown> & { name?: unknown };

async function hostFactoryChecks(
  confdir: string,
  providerName: string | undefined,
  context: AdminContext,
  results: Results,
): Promise<void> {
  const add = (check: string, status: CheckStatus, message: string, fix?: string) =>
    results.push({ check, status, message, ...(fix ? { fix } : {}) });
  const variables = { ...context.io.env, HF_CONFDIR: confdir };

  const registration = async (file: string, key: string): Promise<Entry[] | undefined> => {
    const path = join(confdir, file);
    try {
      const list = (await readJsonFile(path))[key];
      if (!Array.isArray(list)) throw new Error(`no "${key}" list`);
      return list as Entry[];
    } catch (error) {
      add(`HostFactory ${file}`, "fail", `${path}: ${(error as Error).message}`, INSTALL_FIX);
      return undefined;
    }
  };
  const plugins = await registration(PLUGINS_FILE, "providerplugins");
  const providers = await registration(PROVIDERS_FILE, "providers");
  if (!plugins || !providers) return;

  let provider: Entry | undefined;
  if (providerName) provider = providers.find((p) => p.name === providerName);
  else if (providers.length === 1) provider = providers[0];
  if (!provider) {
    const known = providers.map((p) => String(p.name)).join(", ") || "none";
    add(
      "HostFactory provider",
      "fail",
      providerName
        ? `no provider ${providerName} in ${PROVIDERS_FILE} (providers: ${known})`
        : `which provider? ${PROVIDERS_FILE} lists ${known}`,
      providerName ? INSTALL_FIX : "name it with --provider (or $HF_PROVIDER_NAME)",
    );
    return;
  }
  const name = String(provider.name);
  const plugin = plugins.find((p) => p.name === provider.plugin);
  if (!plugin) {
    add(
      "HostFactory provider",
      "fail",
      `provider ${name} names plugin ${String(provider.plugin)}, which ${PLUGINS_FILE} does not list`,
      INSTALL_FIX,
    );
    return;
  }
  const disabled = [
    provider.enabled === 0 ? `provider ${name}` : "",
    plugin.enabled === 0 ? `plugin ${String(plugin.name)}` : "",
  ].filter(Boolean);
  add(
    "HostFactory provider",
    disabled.length > 0 ? "warn" : "ok",
    disabled.length > 0
      ? `${disabled.join(" and ")} disabled ("enabled": 0)`
      : `provider ${name} uses plugin ${String(plugin.name)}`,
    disabled.length > 0 ? 'set "enabled": 1 and restart HostFactory' : undefined,
  );

  const scriptPath = expand(String(plugin.scriptPath ?? ""), variables);
  const scripts = resolve(confdir, scriptPath.value);
  if (
    scriptPath.missing.length > 0 ||
    !(await stat(scripts).catch(() => undefined))?.isDirectory()
  ) {
    const unknown =
      scriptPath.missing.length > 0 ? ` (unset: ${scriptPath.missing.join(", ")})` : "";
    add(
      "scripts",
      "fail",
      `plugin scriptPath ${scripts} is not a directory${unknown}`,
      INSTALL_FIX,
    );
  } else {
    const missing: string[] = [];
    const notExecutable: string[] = [];
    for (const script of [...SCRIPTS, SCRIPT_HELPER]) {
      const info = await stat(join(scripts, script)).catch(() => undefined);
      if (!info?.isFile()) missing.push(script);
      else if (script !== SCRIPT_HELPER && (info.mode & 0o111) === 0) notExecutable.push(script);
    }
    if (missing.length > 0) {
      add("scripts", "fail", `missing in ${scripts}: ${missing.join(", ")}`, INSTALL_FIX);
    }
    if (notExecutable.length > 0) {
      add(
        "scripts",
        "fail",
        `not executable in ${scripts}: ${notExecutable.join(", ")}: HostFactory cannot run them`,
        `chmod +x ${notExecutable.map((s) => join(scripts, s)).join(" ")}`,
      );
    }
    if (missing.length === 0 && notExecutable.length === 0) {
      add("scripts", "ok", `the ${SCRIPTS.length} scripts in ${scripts} are executable`);
    }
    await clientLocationCheck(scripts, add);
  }

  const confPath = expand(String(provider.confPath ?? ""), variables);
  const conf = resolve(confdir, confPath.value);
  if (confPath.missing.length > 0) {
    add(
      "provider confPath",
      "warn",
      `cannot expand ${String(provider.confPath)} here (unset: ${confPath.missing.join(", ")})`,
      "run doctor with HostFactory's environment",
    );
  } else if (!(await stat(conf).catch(() => undefined))?.isDirectory()) {
    add("provider confPath", "fail", `${conf} is not a directory`, INSTALL_FIX);
  } else {
    const file = join(conf, CONFIG_FILE_NAME);
    try {
      const config = readConfigFile(file);
      // As the scripts will read it: the address parsed, TLS required for TCP.
      const settings = config && resolveSettings({}, {}, { path: file, config });
      add(
        "client config",
        settings ? "ok" : "warn",
        settings
          ? `${file}: sidecar at ${settings.addressText}`
          : `${file} is absent: the scripts use $HOSTFACTORY_ADDRESS or the default address`,
        settings ? undefined : INSTALL_FIX,
      );
    } catch (error) {
      add("client config", "fail", (error as Error).message, `correct ${file}`);
    }
  }
}

/** The client and Node.js that the scripts will run, as `hostfactory install` recorded them. */
async function clientLocationCheck(
  scripts: string,
  add: (check: string, status: CheckStatus, message: string, fix?: string) => void,
): Promise<void> {
  const file = join(scripts, CLIENT_LOCATION_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    add(
      "client location",
      "warn",
      `${file} is absent: the scripts look for the client in $HOSTFACTORY_CLI, then on PATH`,
      INSTALL_FIX,
    );
    return;
  }
  const recorded = (name: string) =>
    new RegExp(`${name}='((?:[^']|'\\\\'')*)'`).exec(text)?.[1]?.replaceAll("'\\''", "'");
  const problems: string[] = [];
  for (const [name, mode] of [
    ["HOSTFACTORY_CLI", constants.R_OK],
    ["HOSTFACTORY_NODE", constants.X_OK],
  ] as const) {
    const path = recorded(name);
    if (!path) problems.push(`${name} is not set`);
    else if (
      !(await access(path, mode).then(
        () => true,
        () => false,
      ))
    ) {
      problems.push(
        `${name} ${path} is missing${mode === constants.X_OK ? " or not executable" : ""}`,
      );
    }
  }
  if (problems.length === 0)
    add("client location", "ok", `${file} names a client and Node.js that exist`);
  else add("client location", "fail", `${file}: ${problems.join("; ")}`, INSTALL_FIX);
}

const MARK: Record<CheckStatus, string> = { ok: "ok  ", warn: "WARN", fail: "FAIL", skip: "skip" };

export const doctor: Run = async (args, context) => {
  const results: Results = [];
  await sidecarChecks(context, results);
  const templatesFile = args.templates as string | undefined;
  if (templatesFile) templatesFileCheck(templatesFile, results);
  const confdir = (args["hf-confdir"] as string | undefined) ?? context.io.env.HF_CONFDIR;
  if (confdir) {
    const provider = (args.provider as string | undefined) ?? context.io.env.HF_PROVIDER_NAME;
    await hostFactoryChecks(resolve(confdir), provider, context, results);
  } else {
    results.push({
      check: "HostFactory configuration",
      status: "skip",
      message: "no conf dir: give --hf-confdir DIR (or set HF_CONFDIR) to check it",
    });
  }
  const failed = results.filter((r) => r.status === "fail").length;
  const warned = results.filter((r) => r.status === "warn").length;
  context.print({ ok: failed === 0, checks: results }, () => {
    const lines = results.map(
      (r) => `${MARK[r.status]}  ${r.check}: ${r.message}${r.fix ? `\n      fix: ${r.fix}` : ""}`,
    );
    const verdict =
      failed > 0
        ? `${plural(failed, "problem")} to fix${warned > 0 ? `, ${plural(warned, "warning")}` : ""}.`
        : `All checks passed${warned > 0 ? ` (${plural(warned, "warning")})` : ""}.`;
    return `${lines.join("\n")}\n${verdict}\n`;
  });
  return failed > 0 ? AdminExit.PROBLEMS : AdminExit.SUCCESS;
};

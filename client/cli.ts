// The `hostfactory` command line: one command per HostFactory operation (HostFactory's name and a
// kebab-case alias) plus `install`. Every failure prints {"message": ...} on stdout, which is what
// HostFactory shows, and the details on stderr, which the scripts append to the provider's log.
import {
  type ArgsDef,
  type CommandDef,
  defineCommand,
  renderUsage,
  runCommand,
  type SubCommandsDef,
} from "citty";
import {
  ALL_EXIT_CODES_HELP,
  ClientError,
  EXIT_CODES_HELP,
  ExitCode,
  exitCodeOf,
  invalidInput,
} from "./errors.ts";
import type { OperationName } from "./operations.ts";
import {
  ACTION_TIMEOUT_SHARE,
  ADDRESS_ENV,
  CONFIG_FILE_NAME,
  DEFAULT_ADDRESS,
  DEFAULT_TIMEOUT_SECONDS,
  TIMEOUT_ENV,
} from "./settings.ts";
import { forStream } from "./terminal.ts";

const OPERATION_COMMANDS: Record<OperationName, { alias: string; description: string }> = {
  getAvailableTemplates: {
    alias: "get-available-templates",
    description: "List the templates HostFactory can request machines from.",
  },
  requestMachines: {
    alias: "request-machines",
    description: "Request machines of one template; answers with the request id.",
  },
  requestReturnMachines: {
    alias: "request-return-machines",
    description: "Return machines; answers with the return request's id.",
  },
  getRequestStatus: {
    alias: "get-request-status",
    description: "Report the status of create and return requests and of their machines.",
  },
  getReturnRequests: {
    alias: "get-return-requests",
    description:
      "Of the machines HostFactory holds, list those the cluster took or will take away.",
  },
};

const operationArgs = {
  file: {
    type: "string",
    alias: "f",
    valueHint: "FILE",
    description: "HostFactory's input file (JSON); - reads stdin. Required.",
  },
  address: {
    type: "string",
    valueHint: "ADDRESS",
    description: `The sidecar: unix:///path/to.sock, host:port or dns:host:port. Else $${ADDRESS_ENV}, else "address" in $HF_PROVIDER_CONFDIR/${CONFIG_FILE_NAME}, else ${DEFAULT_ADDRESS}.`,
  },
  timeout: {
    type: "string",
    valueHint: "SECONDS",
    description: `How long to wait for the sidecar. Else $${TIMEOUT_ENV}, else "timeoutSeconds" in the config file, else ${DEFAULT_TIMEOUT_SECONDS}; never more than ${ACTION_TIMEOUT_SHARE * 100}% of $HF_PROVIDER_ACTION_TIMEOUT.`,
  },
  insecure: {
    type: "boolean",
    description:
      'Allow plain TCP without TLS (or "insecure": true in the config file). TLS is configured under "tls" in the config file.',
  },
} as const satisfies ArgsDef;

const installArgs = {
  "hf-confdir": {
    type: "string",
    required: true,
    valueHint: "DIR",
    description: "HostFactory's conf dir ($HF_CONFDIR, usually $HF_TOP/conf).",
  },
  provider: {
    type: "string",
    required: true,
    valueHint: "NAME",
    description: "The provider instance's name (hostProviders.json).",
  },
  plugin: {
    type: "string",
    default: "k8s",
    valueHint: "NAME",
    description: "The provider plugin's name (hostProviderPlugins.json).",
  },
  "scripts-dir": {
    type: "string",
    valueHint: "DIR",
    description: "Where to write the scripts. Default: <hf-confdir>/providers/<provider>/scripts.",
  },
  templates: {
    type: "string",
    valueHint: "FILE",
    description:
      "Templates to start the provider with. Default: this project's examples/templates.json.",
  },
  address: {
    type: "string",
    valueHint: "ADDRESS",
    description: `The sidecar's address for the starter ${CONFIG_FILE_NAME}. Default: ${DEFAULT_ADDRESS}.`,
  },
} as const satisfies ArgsDef;

function operationCommand(name: OperationName): CommandDef<typeof operationArgs> {
  const { alias, description } = OPERATION_COMMANDS[name];
  return defineCommand({
    meta: { name, alias, description },
    args: operationArgs,
    async run({ args }) {
      checkArguments(args, operationArgs);
      return operate(name, args);
    },
  });
}

/** Runs one operation; resolves to the text for stdout. */
async function operate(
  name: OperationName,
  options: { file: string | undefined },
): Promise<string> {
  const { runOperation } = await import("./operations.ts");
  const document = await runOperation(name, options, process.env, (message) =>
    log(name, `warning: ${message}`),
  );
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * The input file when the arguments are exactly `-f FILE`, the only form HostFactory's scripts
 * pass: it needs no option parser, which would cost every call more than the rest of its
 * arguments' handling. Anything else goes through citty.
 */
function plainInputFile(rest: string[]): string | undefined {
  const [flag, file, ...more] = rest;
  if (more.length > 0 || (flag !== "-f" && flag !== "--file") || file === undefined)
    return undefined;
  return file === "-" || !file.startsWith("-") ? file : undefined;
}

const installCommand = defineCommand({
  meta: {
    name: "install",
    description:
      "Register this provider with HostFactory: write the scripts, add the plugin and provider entries (keeping the others), and a starter client config and templates when absent.",
  },
  args: installArgs,
  async run({ args }) {
    checkArguments(args, installArgs);
    const { install } = await import("./install.ts");
    const report = await install({
      hfConfdir: args["hf-confdir"],
      provider: args.provider,
      plugin: args.plugin,
      scriptsDir: args["scripts-dir"],
      templates: args.templates,
      address: args.address,
    });
    return `${report.join("\n")}\n`;
  },
});

/** A command whatever its arguments: an entry of citty's SubCommandsDef, already resolved. */
type AnyCommand = Exclude<SubCommandsDef[string], PromiseLike<unknown> | (() => unknown)>;

const COMMANDS: Record<string, AnyCommand> = {
  ...Object.fromEntries(
    (Object.keys(OPERATION_COMMANDS) as OperationName[]).map((name) => [
      name,
      operationCommand(name),
    ]),
  ),
  install: installCommand,
};

const root = defineCommand({
  meta: {
    name: "hostfactory",
    description:
      "IBM Spectrum Symphony HostFactory provider for Kubernetes: the client HostFactory's scripts run",
  },
  subCommands: COMMANDS,
});

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const key = Object.entries(OPERATION_COMMANDS).find(([, c]) => c.alias === name)?.[0] ?? name;
  const command = key === undefined ? undefined : COMMANDS[key];
  const wantsHelp = argv.some((arg) => arg === "--help" || arg === "-h");
  // The operators' commands (client/admin/) are loaded only when no operation is asked for.
  const admin = command === undefined ? await import("./admin/main.ts") : undefined;
  if (name !== undefined && admin?.ADMIN_COMMAND_NAMES.includes(name)) {
    return admin.runAdminCommand(name, rest);
  }

  if (name === undefined || (command === undefined && wantsHelp)) {
    const all = { ...root, subCommands: { ...COMMANDS, ...admin?.ADMIN_COMMAND_DEFS } };
    const usage = `${await renderUsage(all)}\n\n${ALL_EXIT_CODES_HELP}\n`;
    const stream = wantsHelp ? process.stdout : process.stderr;
    stream.write(forStream(usage, stream));
    return wantsHelp ? ExitCode.SUCCESS : ExitCode.INVALID;
  }
  if (command === undefined) {
    return fail(
      name,
      invalidInput(
        `unknown command "${name}"; commands: ${[...Object.keys(COMMANDS), ...(admin?.ADMIN_COMMAND_NAMES ?? [])].join(", ")}`,
      ),
    );
  }
  if (wantsHelp) {
    const usage = `${await renderUsage(command, root)}\n\n${EXIT_CODES_HELP}\n`;
    process.stdout.write(forStream(usage, process.stdout));
    return ExitCode.SUCCESS;
  }
  try {
    const operation =
      key !== undefined && key in OPERATION_COMMANDS ? (key as OperationName) : undefined;
    const file = operation && plainInputFile(rest);
    const { result } =
      operation === undefined || file === undefined
        ? await runCommand(command, { rawArgs: rest })
        : { result: await operate(operation, { file }) };
    process.stdout.write(result as string);
    return ExitCode.SUCCESS;
  } catch (error) {
    // citty's own usage errors (a required option missing) are invalid input too.
    const usageError = error instanceof Error && error.name === "CLIError";
    return fail(name, usageError ? invalidInput(error.message) : error);
  }
}

function fail(command: string, error: unknown): ExitCode {
  const message =
    error instanceof ClientError
      ? error.message
      : `internal error in the hostfactory client: ${(error as Error)?.message ?? String(error)}`;
  process.stdout.write(`${JSON.stringify({ message })}\n`);
  const detail =
    error instanceof ClientError ? (error.detail ?? "") : ((error as Error)?.stack ?? "");
  log(command, `error: ${message}${detail ? `\n${detail}` : ""}`);
  return exitCodeOf(error);
}

/** One line (or block) per event on stderr, which the scripts append to the provider's log. */
function log(command: string, text: string): void {
  process.stderr.write(
    `${new Date().toISOString()} hostfactory ${command}[${process.pid}] ${text}\n`,
  );
}

/** citty accepts any option and ignores the unknown; a misspelt one should not go unnoticed. */
function checkArguments(args: Record<string, unknown>, defs: ArgsDef): void {
  const known = new Set(
    Object.entries(defs).flatMap(([name, def]) => [
      name,
      name.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase()),
      ...("alias" in def && def.alias !== undefined ? [def.alias].flat() : []),
    ]),
  );
  const unknown = Object.keys(args).filter((key) => key !== "_" && !known.has(key));
  if (unknown.length > 0) {
    const flag = (key: string) => (key.length === 1 ? `-${key}` : `--${key}`);
    throw invalidInput(
      `unknown option ${unknown.map(flag).join(", ")}; options: ${Object.keys(defs).map(flag).join(", ")}`,
    );
  }
  const positionals = args._ as string[];
  if (positionals.length > 0) {
    throw invalidInput(
      `unexpected argument ${JSON.stringify(positionals[0])}; values go after their option, as in -f FILE`,
    );
  }
}

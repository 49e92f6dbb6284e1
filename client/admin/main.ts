// The operators' commands of the `hostfactory` CLI: what the provider holds (requests, request,
// machines, watch), its templates, whether a deployment is sound (doctor), and HostFactory input
// documents for manual testing (input). Human output by default, --json for programs. cli.ts
// hands these commands over here; they are never part of what HostFactory's scripts run.
import { type ArgsDef, type CommandDef, parseArgs, renderUsage } from "citty";
import { ClientError, exitCodeOf, invalidInput } from "../errors.ts";
import { loadSettings, type Settings } from "../settings.ts";
import { forStream } from "../terminal.ts";
import {
  ADMIN_EXIT_CODES_HELP,
  type AdminContext,
  AdminExit,
  type AdminIo,
  type Run,
} from "./context.ts";
import type { SidecarAdmin } from "./sidecar-admin.ts";

interface AdminCommand {
  def: CommandDef;
  run: Run;
}

const connection = {
  address: {
    type: "string",
    valueHint: "ADDRESS",
    description:
      "The sidecar: unix:///path/to.sock or host:port. Else $HOSTFACTORY_ADDRESS, else the client config, as for the operations.",
  },
  timeout: {
    type: "string",
    valueHint: "SECONDS",
    description:
      "How long to wait for each answer (watch: how long to follow; default: until final).",
  },
  insecure: { type: "boolean", description: "Allow plain TCP without TLS." },
  json: { type: "boolean", description: "Print JSON instead of text." },
} as const satisfies ArgsDef;

function command(
  name: string,
  description: string,
  args: ArgsDef,
  load: () => Promise<Run>,
): AdminCommand {
  return {
    def: { meta: { name, description }, args },
    run: async (parsed, context) => (await load())(parsed, context),
  };
}

const requestId = {
  type: "positional",
  valueHint: "REQUEST_ID",
  description: "A create (req-…) or return (ret-…) request id.",
} as const;

const COMMANDS: Record<string, AdminCommand> = {
  requests: command(
    "requests",
    "List create and return requests: template, machines by result, age.",
    {
      ...connection,
      kind: { type: "enum", options: ["create", "return"], description: "Only this kind." },
      template: { type: "string", valueHint: "ID", description: "Only this template's." },
      running: { type: "boolean", description: "Only requests still running." },
    },
    async () => (await import("./requests.ts")).listRequests,
  ),
  request: command(
    "request",
    "One request: its machines as HostFactory sees them, its pods, and a timeline.",
    { ...connection, id: requestId },
    async () => (await import("./requests.ts")).showRequest,
  ),
  machines: command(
    "machines",
    "List the machines (pods): phase, node, IP, age, request.",
    {
      ...connection,
      request: { type: "string", valueHint: "REQUEST_ID", description: "Only this request's." },
      template: { type: "string", valueHint: "ID", description: "Only this template's." },
    },
    async () => (await import("./machines.ts")).listMachines,
  ),
  watch: command(
    "watch",
    "Follow a request until it is final: a progress bar on a terminal, a line per change otherwise.",
    { ...connection, id: requestId },
    async () => (await import("./watch.ts")).watchRequest,
  ),
  templates: command(
    "templates",
    "Templates: `templates` lists those in use, `templates validate FILE` checks a file offline, `templates render ID` prints the Pod a machine would get.",
    {
      ...connection,
      action: {
        type: "positional",
        required: false,
        valueHint: "list|validate|render",
        description: "What to do; default list.",
      },
      target: {
        type: "positional",
        required: false,
        valueHint: "FILE|TEMPLATE_ID",
        description: "validate: the templates file; render: the template.",
      },
      "request-id": {
        type: "string",
        valueHint: "ID",
        description: "render: the create request to render for (default req-example000).",
      },
      index: { type: "string", valueHint: "N", description: "render: the machine's index (0)." },
      "rc-account": { type: "string", valueHint: "NAME", description: "render: an rc_account." },
      "dry-run": {
        type: "boolean",
        description:
          "render, validate: also have the API server validate and admit the Pod(s), through the sidecar (nothing is created).",
      },
    },
    async () => (await import("./templates.ts")).templates,
  ),
  doctor: command(
    "doctor",
    "Check a deployment: sidecar, health, leader, Kubernetes permissions, templates, and HostFactory's configuration.",
    {
      ...connection,
      "hf-confdir": {
        type: "string",
        valueHint: "DIR",
        description: "HostFactory's conf dir to check (default $HF_CONFDIR; skipped without).",
      },
      provider: {
        type: "string",
        valueHint: "NAME",
        description: "The provider instance (default $HF_PROVIDER_NAME, else the only k8s one).",
      },
      templates: {
        type: "string",
        valueHint: "FILE",
        description: "Also validate this templates file offline.",
      },
    },
    async () => (await import("./doctor.ts")).doctor,
  ),
  input: command(
    "input",
    "Write a HostFactory input document for an operation, for trying the scripts by hand: input requestMachines TEMPLATE COUNT, input requestReturnMachines NAME… | --request ID, input getRequestStatus ID…, input getReturnRequests NAME… | --all, input getAvailableTemplates.",
    {
      ...connection,
      operation: {
        type: "positional",
        valueHint: "OPERATION",
        description: "A HostFactory operation (or its kebab-case alias).",
      },
      "rc-account": {
        type: "string",
        valueHint: "NAME",
        description: "requestMachines: rc_account.",
      },
      request: {
        type: "string",
        valueHint: "REQUEST_ID",
        description:
          "requestReturnMachines: every live machine of this create request (asks the sidecar).",
      },
      all: {
        type: "boolean",
        description: "getReturnRequests: every machine the sidecar holds (asks the sidecar).",
      },
    },
    async () => (await import("./input.ts")).input,
  ),
};

export const ADMIN_COMMAND_NAMES = Object.keys(COMMANDS);

/** The commands as citty definitions, for the CLI's usage text. */
export const ADMIN_COMMAND_DEFS: Record<string, CommandDef> = Object.fromEntries(
  Object.entries(COMMANDS).map(([name, { def }]) => [name, def]),
);

const DEFAULT_IO: AdminIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  now: Date.now,
};

/** Every option given must be one of the command's; citty would ignore a misspelt one. */
function checkOptions(args: Record<string, unknown>, defs: ArgsDef): void {
  const known = new Set(
    Object.keys(defs).flatMap((name) => [
      name,
      name.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase()),
    ]),
  );
  const unknown = Object.keys(args).filter((key) => key !== "_" && !known.has(key));
  if (unknown.length > 0) {
    throw invalidInput(`unknown option ${unknown.map((key) => `--${key}`).join(", ")}; see --help`);
  }
}

/** Runs one admin command; resolves to its exit code. */
export async function runAdminCommand(
  name: string,
  argv: string[],
  io: AdminIo = DEFAULT_IO,
): Promise<number> {
  const found = COMMANDS[name];
  if (!found) throw new Error(`no admin command ${name}`);
  if (argv.some((arg) => arg === "--help" || arg === "-h")) {
    const usage = `${await renderUsage(found.def)}\n\n${ADMIN_EXIT_CODES_HELP}\n`;
    io.stdout.write(forStream(usage, io.stdout, io.env));
    return AdminExit.SUCCESS;
  }
  const json = argv.includes("--json");
  let admin: SidecarAdmin | undefined;
  try {
    const defs = found.def.args as ArgsDef;
    const args = parseArgs(argv, defs);
    checkOptions(args, defs);
    let settings: Settings | undefined;
    const context: AdminContext = {
      io,
      json,
      settings() {
        if (!settings) {
          settings = loadSettings(
            {
              address: args.address as string | undefined,
              timeout: args.timeout as string | undefined,
              insecure: args.insecure as boolean | undefined,
            },
            io.env,
          );
          for (const warning of settings.warnings) io.stderr.write(`warning: ${warning}\n`);
        }
        return settings;
      },
      async sidecar() {
        if (!admin) {
          const { connectSidecarAdmin } = await import("./sidecar-admin.ts");
          admin = connectSidecarAdmin(context.settings());
        }
        return admin;
      },
      print(value, human) {
        io.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : human());
      },
    };
    return await found.run(args, context);
  } catch (error) {
    const usage = error instanceof Error && error.name === "CLIError";
    const failure = usage ? invalidInput((error as Error).message) : error;
    const message =
      failure instanceof ClientError
        ? failure.message
        : `internal error in the hostfactory client: ${(failure as Error)?.stack ?? failure}`;
    if (json) io.stdout.write(`${JSON.stringify({ message })}\n`);
    io.stderr.write(`hostfactory ${name}: ${message}\n`);
    if (failure instanceof ClientError && failure.detail) io.stderr.write(`  ${failure.detail}\n`);
    return exitCodeOf(failure);
  }
}

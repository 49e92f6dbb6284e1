// `hostfactory templates [list]`, `templates validate FILE` and `templates render TEMPLATE_ID`.
//
// validate must judge a file exactly as the sidecar will, and the sidecar reads pod spec files
// with @kubernetes/client-node's YAML loader (which also drops fields the Pod model does not
// know). The client never loads that library, nor anything of the sidecar's (the HostFactory
// scripts' start-up depends on it), so validate runs the sidecar's own reader in a child
// process: sidecar/admin/check-templates.ts, shipped beside the client in every install. It
// works with no sidecar running and no cluster.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { AttributeType } from "../../proto/gen/hostfactory/v1/provider.ts";
import { invalidInput } from "../errors.ts";
import { type AdminContext, AdminExit, type Run } from "./context.ts";
import { table } from "./format.ts";

const CHECK_TEMPLATES = fileURLToPath(
  new URL("../../sidecar/admin/check-templates.ts", import.meta.url),
);
/** Ample for reading a templates file and its pod specs. */
const CHECK_TIMEOUT_MS = 30_000;

export type Check =
  | { valid: true; templates: { templateId: string }[]; pods?: Record<string, object> }
  | { valid: false; problems: string[] };

/** The offline check (doctor uses it too): every problem, or none; `pods` adds sample Pods. */
export function validateTemplatesFile(file: string, pods = false): Promise<Check> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CHECK_TEMPLATES, file, ...(pods ? ["--pods"] : [])],
      { timeout: CHECK_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout) as Check);
        } catch {
          reject(
            invalidInput(
              `cannot run the sidecar's template check ${CHECK_TEMPLATES} (it ships beside the client): ${error?.message ?? ""} ${stderr}`.trim(),
            ),
          );
        }
      },
    );
  });
}

async function list(context: AdminContext): Promise<number> {
  const sidecar = await context.sidecar();
  const answer = await sidecar.call("listTemplates", {});
  const templates = answer.templates.map(({ template, ...settings }) => ({
    templateId: template?.templateId ?? "",
    maxNumber: template?.maxNumber ?? 0,
    availableNumber: template?.availableNumber ?? 0,
    machinesInUse: settings.machinesInUse,
    attributes: Object.fromEntries(
      Object.entries(template?.attributes ?? {}).map(([name, a]) => [
        name,
        [a.type === AttributeType.ATTRIBUTE_TYPE_NUMERIC ? "Numeric" : "String", a.value],
      ]),
    ),
    pendingTimeoutSeconds: settings.pendingTimeoutSeconds,
    subdomain: settings.subdomain,
    hostnameStyle: settings.hostnameStyle,
  }));
  if (answer.templatesError) {
    context.io.stderr.write(
      `warning: ${answer.templatesFile} is invalid on disk; the sidecar keeps the set below: ${answer.templatesError}\n`,
    );
  }
  context.print(
    {
      templatesFile: answer.templatesFile,
      templatesError: answer.templatesError,
      templates,
    },
    () =>
      table(
        ["TEMPLATE", "MAX", "AVAILABLE", "IN USE", "NCPUS", "NRAM", "PENDING", "HOSTNAME"],
        templates.map((t) => [
          t.templateId,
          t.maxNumber === -1 ? "unlimited" : String(t.maxNumber),
          t.availableNumber === -1 ? "unlimited" : String(t.availableNumber),
          String(t.machinesInUse),
          t.attributes.ncpus?.[1] ?? "-",
          t.attributes.nram?.[1] ?? "-",
          `${t.pendingTimeoutSeconds}s`,
          t.subdomain ? `${t.hostnameStyle} (subdomain ${t.subdomain})` : t.hostnameStyle,
        ]),
      ),
  );
  return AdminExit.SUCCESS;
}

/**
 * With --dry-run, a file valid offline is judged by the API server too: the sidecar has it
 * validate and admit each template's Pod (schema, quota, policies, webhooks), creating nothing.
 */
async function validate(file: string, dryRun: boolean, context: AdminContext): Promise<number> {
  const offline = await validateTemplatesFile(file, dryRun);
  let check: Check = offline;
  if (offline.valid && dryRun) {
    const sidecar = await context.sidecar();
    const problems: string[] = [];
    for (const [templateId, pod] of Object.entries(offline.pods ?? {})) {
      const verdict = await sidecar.call("dryRunPod", { podJson: JSON.stringify(pod) });
      if (!verdict.accepted) {
        problems.push(`template '${templateId}': the API server refuses its Pod: ${verdict.error}`);
      }
    }
    if (problems.length > 0) check = { valid: false, problems };
  }
  const { pods: _pods, ...shown } = check as Check & { pods?: unknown };
  const judged = dryRun ? " (offline, and by the API server in a dry run)" : "";
  context.print({ file, ...shown }, () =>
    check.valid
      ? `${file}: valid${judged}, ${check.templates.length} template${check.templates.length === 1 ? "" : "s"}: ${check.templates.map((t) => t.templateId).join(", ")}\n`
      : `${file} is invalid:\n${check.problems.map((p) => `  - ${p}\n`).join("")}`,
  );
  return check.valid ? AdminExit.SUCCESS : AdminExit.PROBLEMS;
}

async function render(
  templateId: string,
  args: Record<string, unknown>,
  context: AdminContext,
): Promise<number> {
  const indexText = (args.index as string | undefined) ?? "0";
  const machineIndex = Number(indexText);
  if (!/^\d+$/.test(indexText) || !Number.isSafeInteger(machineIndex)) {
    throw invalidInput(`--index must be a whole number; found ${JSON.stringify(indexText)}`);
  }
  const dryRun = args["dry-run"] === true;
  const sidecar = await context.sidecar();
  const answer = await sidecar.call("renderTemplate", {
    templateId,
    requestId: (args["request-id"] as string | undefined) ?? "",
    machineIndex,
    rcAccount: (args["rc-account"] as string | undefined) ?? "",
    dryRun,
  });
  const verdict = dryRun ? { accepted: answer.dryRunAccepted, error: answer.dryRunError } : null;
  context.print({ pod: JSON.parse(answer.podJson), dryRun: verdict }, () => answer.podYaml);
  if (verdict && !context.json) {
    context.io.stderr.write(
      verdict.accepted
        ? "dry run: the API server accepts this Pod (nothing was created)\n"
        : `dry run: the API server refuses this Pod: ${verdict.error}\n`,
    );
  }
  return verdict && !verdict.accepted ? AdminExit.PROBLEMS : AdminExit.SUCCESS;
}

export const templates: Run = async (args, context) => {
  const action = (args.action as string | undefined) ?? "list";
  const target = args.target as string | undefined;
  const extra = (args._ as string[]).slice(2);
  if (extra.length > 0) throw invalidInput(`unexpected argument ${JSON.stringify(extra[0])}`);
  switch (action) {
    case "list":
      if (target !== undefined) throw invalidInput(`unexpected argument ${JSON.stringify(target)}`);
      return list(context);
    case "validate":
      if (!target) throw invalidInput("which file? hostfactory templates validate FILE");
      return validate(target, args["dry-run"] === true, context);
    case "render":
      if (!target) throw invalidInput("which template? hostfactory templates render TEMPLATE_ID");
      return render(target, args, context);
    default:
      throw invalidInput(
        `unknown templates action ${JSON.stringify(action)}: use list, validate FILE or render TEMPLATE_ID`,
      );
  }
};

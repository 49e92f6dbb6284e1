// `hostfactory templates [list]`, `templates validate FILE` and `templates render TEMPLATE_ID`.
//
// validate judges a file exactly as the sidecar will: both read it with the shared templates
// module (templates/), which knows no Kubernetes client, so the client loads none. It works with
// no sidecar running and no cluster.
import { AttributeType } from "../../proto/gen/hostfactory/v1/provider.ts";
import {
  DEFAULT_PENDING_TIMEOUT_SECONDS,
  podManifest,
  readTemplatesFile,
  TemplateError,
} from "../../templates/index.ts";
import { invalidInput } from "../errors.ts";
import { type AdminContext, AdminExit, type Run } from "./context.ts";
import { table } from "./format.ts";

/** Who the sample Pods are for: plainly samples, valid as the real ones are. */
const SAMPLE_MACHINE = {
  instance: "hostfactory",
  podNamePrefix: "hf",
  requestId: "req-example000",
};

export type Check =
  | { valid: true; templates: { templateId: string }[]; pods?: Record<string, object> }
  | { valid: false; problems: string[] };

/**
 * The offline check (doctor uses it too): every problem, or none; `pods` adds the Pod of each
 * template's first machine, as the sidecar would create it, for an API server's dry run.
 */
export function validateTemplatesFile(file: string, pods = false): Check {
  let templates: ReturnType<typeof readTemplatesFile>;
  try {
    templates = readTemplatesFile(file, { pendingTimeoutSeconds: DEFAULT_PENDING_TIMEOUT_SECONDS });
  } catch (error) {
    if (error instanceof TemplateError) return { valid: false, problems: error.problems };
    return { valid: false, problems: [(error as Error).message] };
  }
  return {
    valid: true,
    templates: templates.map((t) => ({
      templateId: t.templateId,
      maxNumber: t.maxNumber,
      attributes: Object.fromEntries(
        Object.entries(t.attributes).map(([name, a]) => [name, [a.type, a.value]]),
      ),
      pendingTimeoutSeconds: t.pendingTimeoutSeconds,
      containers: (t.pod.spec.containers as { name: string; image: string }[]).map(
        ({ name, image }) => ({ name, image }),
      ),
    })),
    ...(pods
      ? {
          pods: Object.fromEntries(
            templates.map((template) => [
              template.templateId,
              podManifest({ ...SAMPLE_MACHINE, index: 0, rcAccount: "", template }),
            ]),
          ),
        }
      : {}),
  };
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
    drainPolicy: settings.drainPolicy,
    priorityClassName: settings.priorityClassName,
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
        [
          "TEMPLATE",
          "MAX",
          "AVAILABLE",
          "IN USE",
          "NCPUS",
          "NRAM",
          "PENDING",
          "HOSTNAME",
          "DRAIN",
          "PRIORITY CLASS",
        ],
        templates.map((t) => [
          t.templateId,
          t.maxNumber === -1 ? "unlimited" : String(t.maxNumber),
          t.availableNumber === -1 ? "unlimited" : String(t.availableNumber),
          String(t.machinesInUse),
          t.attributes.ncpus?.[1] ?? "-",
          t.attributes.nram?.[1] ?? "-",
          `${t.pendingTimeoutSeconds}s`,
          t.subdomain ? `${t.hostnameStyle} (subdomain ${t.subdomain})` : t.hostnameStyle,
          t.drainPolicy,
          t.priorityClassName || "-",
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
  const offline = validateTemplatesFile(file, dryRun);
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

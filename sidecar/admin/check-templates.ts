#!/usr/bin/env node
// Validates a templates file exactly as the sidecar does (the same reader, YAML loader and
// rules), without a cluster: `node sidecar/admin/check-templates.ts FILE`. Prints one JSON
// document on stdout: {"valid": true, "templates": [...]} or {"valid": false, "problems": [...]}.
// `hostfactory templates validate` runs it as a child process, so that the client never loads
// the sidecar's Kubernetes client itself.
import { DEFAULT_PENDING_TIMEOUT_SECONDS, TemplateError } from "../provider/templates.ts";
import { readTemplatesFile } from "../templates-source.ts";

/** Exit code for a command line without exactly one file. */
const EXIT_USAGE = 2;

const [file, ...rest] = process.argv.slice(2);
if (file === undefined || rest.length > 0) {
  process.stderr.write("usage: check-templates.ts FILE\n");
  process.exit(EXIT_USAGE);
}
try {
  const templates = readTemplatesFile(file, {
    pendingTimeoutSeconds: DEFAULT_PENDING_TIMEOUT_SECONDS,
  });
  const summary = templates.map((t) => ({
    templateId: t.templateId,
    maxNumber: t.maxNumber,
    attributes: Object.fromEntries(
      Object.entries(t.attributes).map(([name, a]) => [name, [a.type, a.value]]),
    ),
    pendingTimeoutSeconds: t.pendingTimeoutSeconds,
    containers: (t.pod.spec.containers as { name: string; image: string }[]).map(
      ({ name, image }) => ({ name, image }),
    ),
  }));
  process.stdout.write(`${JSON.stringify({ valid: true, templates: summary })}\n`);
} catch (error) {
  const problems = error instanceof TemplateError ? error.problems : [(error as Error).message];
  process.stdout.write(`${JSON.stringify({ valid: false, problems })}\n`);
}

#!/usr/bin/env node
// Validates a templates file exactly as the sidecar does (the same reader, YAML loader and
// rules), without a cluster: `node sidecar/admin/check-templates.ts FILE [--pods]`. Prints one
// JSON document on stdout: {"valid": true, "templates": [...]} or {"valid": false, "problems":
// [...]}; with --pods, a valid file's answer also has "pods": the Pod of each template's first
// machine, as the sidecar would create it, for an API server's dry run.
// `hostfactory templates validate` runs it as a child process, so that the client never loads
// the sidecar's Kubernetes client itself.
import { podManifest } from "../provider/pod-manifest.ts";
import { DEFAULT_PENDING_TIMEOUT_SECONDS, TemplateError } from "../provider/templates.ts";
import { readTemplatesFile } from "../templates-source.ts";

/** Who the sample Pods are for: plainly samples, valid as the real ones are. */
const SAMPLE_MACHINE = {
  instance: "hostfactory",
  podNamePrefix: "hf",
  requestId: "req-example000",
};

/** Exit code for a command line without exactly one file. */
const EXIT_USAGE = 2;

const args = process.argv.slice(2);
const withPods = args.includes("--pods");
const [file, ...rest] = args.filter((arg) => arg !== "--pods");
if (file === undefined || rest.length > 0) {
  process.stderr.write("usage: check-templates.ts FILE [--pods]\n");
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
  const pods = withPods
    ? Object.fromEntries(
        templates.map((template) => [
          template.templateId,
          podManifest({ ...SAMPLE_MACHINE, index: 0, rcAccount: "", template }),
        ]),
      )
    : undefined;
  process.stdout.write(`${JSON.stringify({ valid: true, templates: summary, pods })}\n`);
} catch (error) {
  const problems = error instanceof TemplateError ? error.problems : [(error as Error).message];
  process.stdout.write(`${JSON.stringify({ valid: false, problems })}\n`);
}

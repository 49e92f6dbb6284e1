#!/usr/bin/env node
// Entry point of the `hostfactory` CLI (see cli.ts). It checks the runtime before it loads
// anything else, and cli.ts (which imports packages) only then, so that a too-old Node.js or a
// missing node_modules is one line an administrator can act on, never a stack trace.
import { missingDependency, runtimeProblem } from "./runtime.ts";

/** Exit code of a setup problem: retrying the call will not help (errors.ts' INVALID). */
const EXIT_SETUP = 2;

function refuse(message: string): void {
  process.stdout.write(`${JSON.stringify({ message })}\n`);
  process.stderr.write(
    `${new Date().toISOString()} hostfactory[${process.pid}] error: ${message}\n`,
  );
  process.exitCode = EXIT_SETUP;
}

// No top-level await: the bundle the scripts run (client/gen/) is CommonJS, whose require() of
// Node's built-in modules is lazier than ESM's import.
const problem = runtimeProblem(process.versions, process.execPath);
if (problem !== undefined) refuse(problem);
else {
  void import("./cli.ts")
    .then(({ main }) => main(process.argv.slice(2)))
    .then(
      (code) => {
        process.exitCode = code;
      },
      (error: unknown) => {
        const missing = missingDependency(error, import.meta.dirname);
        if (missing === undefined) throw error;
        refuse(missing);
      },
    );
}

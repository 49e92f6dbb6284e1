#!/usr/bin/env node
// Entry point of the `hostfactory` CLI (see cli.ts).
import { main } from "./cli.ts";

// No top-level await: the bundle the scripts run (client/gen/) is CommonJS, whose require() of
// Node's built-in modules is lazier than ESM's import.
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

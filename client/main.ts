#!/usr/bin/env node
// Entry point of the `hostfactory` CLI (see cli.ts).
import { main } from "./cli.ts";

process.exitCode = await main(process.argv.slice(2));

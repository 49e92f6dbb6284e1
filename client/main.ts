#!/usr/bin/env node
// Entry point of the `hostfactory` CLI. HostFactory starts it for every provider call, so this
// file only turns on Node's compile cache (stripping TypeScript is most of a cold start) and then
// loads the rest, which in turn loads gRPC only for the commands that call the sidecar.
import * as nodeModule from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";

// NODE_COMPILE_CACHE, when set, has already turned the cache on. Otherwise keep it in a folder
// owned by the user HostFactory runs as, never in a shared temporary folder.
const cacheRoot =
  process.env.HF_PROVIDER_WORKDIR ||
  join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "hostfactory-k8s");
// Deno has no compile cache.
nodeModule.enableCompileCache?.(join(cacheRoot, "node-compile-cache"));

const { main } = await import("./cli.ts");
process.exitCode = await main(process.argv.slice(2));

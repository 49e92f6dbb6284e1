// Every command the documentation tells people to type names something that exists: our own
// commands with their subcommands and options (checked against their --help), npm scripts,
// files and scripts of this repository, and only tools an administrator is expected to have.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { test } from "node:test";
import { runProcess } from "../tools/run-process.ts";
import { codeBlocks, documentationFiles, ROOT, SHELL_LANGS, shellCommands } from "./_markdown.ts";

/** Tools the docs may use that are not ours: their arguments are theirs to check. */
const EXTERNAL_TOOLS = new Set([
  "kubectl",
  "docker",
  "curl",
  "echo",
  "base64",
  "export",
  "grpcurl",
]);
const CLIENT = join(ROOT, "client", "main.ts");
const SIDECAR = join(ROOT, "sidecar", "main.ts");
const SIMULATOR = join(ROOT, "sidecar", "simulator", "main.ts");
const CHART = join(ROOT, "charts", "hostfactory-k8s");

const scripts = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts as Record<
  string,
  string
>;
/** deno.jsonc's tasks; its comments are whole `//` lines, which JSON.parse does not take. */
const denoTasks = JSON.parse(
  readFileSync(join(ROOT, "deno.jsonc"), "utf8").replace(/^\s*\/\/.*$/gm, ""),
).tasks as Record<string, string>;
const helpCache = new Map<string, Promise<string>>();

/** `node <entry> <args…> --help`, without colour; fails the test unless it exits 0. */
function help(entry: string, args: string[]): Promise<string> {
  const key = [entry, ...args].join(" ");
  let cached = helpCache.get(key);
  if (!cached) {
    cached = runProcess(process.execPath, [entry, ...args, "--help"], {
      env: { ...process.env, NO_COLOR: "1" },
    }).then((result) => {
      assert.equal(result.code, 0, `${key} --help: ${result.stderr}`);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes, if any
      return result.stdout.replace(/\u001b\[[0-9;]*m/g, "");
    });
    helpCache.set(key, cached);
  }
  return cached;
}

/** Words of one simple command, quotes removed, redirections and variable assignments dropped. */
function words(command: string): string[] {
  const result: string[] = [];
  for (const match of command.matchAll(/'[^']*'|"[^"]*"|\S+/g)) {
    result.push(match[0].replace(/^(['"])(.*)\1$/, "$2"));
  }
  const redirect = result.findIndex((word) => /^\d?>>?/.test(word));
  const kept = redirect === -1 ? result : result.slice(0, redirect);
  while (kept.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(kept[0] as string)) kept.shift();
  return kept;
}

function flagsOf(args: string[]): string[] {
  return args.filter((arg) => arg.startsWith("--")).map((arg) => arg.replace(/=.*$/, ""));
}

async function checkFlags(where: string, text: string, args: string[]): Promise<void> {
  for (const flag of flagsOf(args)) {
    assert.ok(
      new RegExp(`${flag}(?![\\w-])`).test(text),
      `${where}: ${flag} is not an option (see --help)`,
    );
  }
}

async function checkClient(where: string, args: string[]): Promise<void> {
  const [command, ...rest] = args;
  assert.ok(command, `${where}: hostfactory needs a command`);
  const root = await help(CLIENT, []);
  const text = await help(CLIENT, [command]);
  assert.notEqual(text, root, `${where}: hostfactory has no command '${command}'`);
  await checkFlags(where, text, rest);
}

async function checkNpm(where: string, args: string[]): Promise<void> {
  const [verb, ...rest] = args;
  const dashes = rest.indexOf("--");
  const extra = dashes === -1 ? [] : rest.slice(dashes + 1);
  if (verb === "ci" || verb === "test") return;
  if (verb === "start") return checkFlags(where, await help(SIDECAR, []), extra);
  assert.equal(verb, "run", `${where}: npm ${verb} is not a documented npm command`);
  const name = rest[0] as string;
  assert.ok(name in scripts, `${where}: package.json has no script '${name}'`);
  if (name === "simulator") await checkFlags(where, await help(SIMULATOR, []), extra);
}

async function checkDeno(where: string, args: string[]): Promise<void> {
  const [verb, name, ...extra] = args;
  if (verb === "install") return;
  assert.equal(verb, "task", `${where}: deno ${verb} is not a documented deno command`);
  assert.ok(name && name in denoTasks, `${where}: deno.jsonc has no task '${name}'`);
  if (name === "start") await checkFlags(where, await help(SIDECAR, []), extra);
}

function checkScript(where: string, path: string, args: string[]): void {
  assert.ok(
    existsSync(join(ROOT, "scripts", basename(path))),
    `${where}: there is no script ${basename(path)} in scripts/`,
  );
  const file = args[args.indexOf("-f") + 1];
  if (file?.startsWith("examples/")) {
    assert.ok(existsSync(join(ROOT, file)), `${where}: ${file} does not exist`);
  }
}

function checkHelm(where: string, args: string[]): void {
  for (const [index, arg] of args.entries()) {
    if (arg.startsWith("charts/")) {
      assert.ok(existsSync(join(ROOT, arg)), `${where}: ${arg} does not exist`);
    }
    if (args[index - 1] === "--show-only") {
      assert.ok(existsSync(join(CHART, arg)), `${where}: the chart has no ${arg}`);
    }
  }
}

async function checkCommand(where: string, argv: string[]): Promise<void> {
  const [program, ...args] = argv;
  if (program === undefined) return;
  if (program === "hostfactory") return checkClient(where, args);
  if (program === "hostfactory-sidecar") return checkFlags(where, await help(SIDECAR, []), args);
  if (program === "npm") return checkNpm(where, args);
  if (program === "deno") return checkDeno(where, args);
  if (program === "helm") return checkHelm(where, args);
  if (program.endsWith(".sh")) return checkScript(where, program, args);
  if (program === "npx") {
    const bin = join(ROOT, "node_modules", ".bin", String(args[0]));
    assert.ok(existsSync(bin), `${where}: npx ${args[0]} is not a dependency's command`);
    return;
  }
  if (program === "go") {
    // Go commands of the docs run in one of the repository's Go modules (go -C DIR …).
    const dir = args[0] === "-C" ? String(args[1]) : "";
    assert.ok(existsSync(join(ROOT, dir, "go.mod")), `${where}: ${dir} is not a Go module here`);
    return;
  }
  if (program === "node") {
    if (args[0] === "client/main.ts" || args[0] === "client/gen/hostfactory.cjs") {
      return checkClient(where, args.slice(1));
    }
    if (args[0] === "sidecar/main.ts") return checkFlags(where, await help(SIDECAR, []), args);
    const file = args.find((arg) => !arg.startsWith("-")) as string;
    assert.ok(existsSync(join(ROOT, file)), `${where}: ${file} does not exist`);
    return;
  }
  assert.ok(
    EXTERNAL_TOOLS.has(program),
    `${where}: '${program}' is neither ours nor a tool the docs may assume`,
  );
}

for (const file of documentationFiles()) {
  const blocks = codeBlocks(file).filter((block) => SHELL_LANGS.has(block.lang));
  if (blocks.length === 0) continue;
  test(`every command in ${file} exists, with the subcommands and options it is given`, async () => {
    for (const block of blocks) {
      for (const line of shellCommands(block)) {
        for (const command of line.split(/\s*(?:\|\||&&|\||;)\s*/)) {
          await checkCommand(`${file}:${block.line}: ${command}`, words(command));
        }
      }
    }
  });
}

test("the checks catch a command that does not exist", async () => {
  await assert.rejects(checkCommand("x", words("hostfactory frobnicate")), /no command/);
  await assert.rejects(checkCommand("x", words("hostfactory install --adress a")), /--adress/);
  await assert.rejects(checkCommand("x", words("npm run nope")), /no script/);
  await assert.rejects(checkCommand("x", words("npm start -- --simulate-node 3")), /not an option/);
  await assert.rejects(checkCommand("x", words("deno task nope")), /no task/);
  await assert.rejects(checkCommand("x", words("deno task start --simulate-node 3")), /not an/);
  await assert.rejects(checkCommand("x", words("deno run sidecar/main.ts")), /not a documented/);
  await assert.rejects(checkCommand("x", words("kubecl get pods")), /neither ours/);
  await assert.rejects(checkCommand("x", words("npx bufx generate")), /not a dependency's/);
  await assert.rejects(checkCommand("x", words("go -C test/nope run .")), /not a Go module/);
  assert.throws(() => checkHelm("x", words("helm template a charts/nope")), /does not exist/);
});

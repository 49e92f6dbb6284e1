// The `hostfactory` CLI hands the operators' commands over to client/admin/, from its sources and
// from the bundle HostFactory's scripts run, and documents them.
import assert from "node:assert/strict";

import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CLIENT, REPO, runClient } from "../client/run-cli.ts";
import { type Harness, startHarness } from "../e2e/harness.ts";
import { runProcess } from "../tools/run-process.ts";
import { admin } from "./_run-admin.ts";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

describe("the hostfactory CLI", () => {
  test("hands admin commands over, from the sources and from the scripts' bundle", async () => {
    for (const cli of [CLIENT, join(REPO, "client", "gen", "hostfactory.cjs")]) {
      const result = await runProcess(process.execPath, [cli, "machines", "--json"], {
        env: { ...process.env, HOSTFACTORY_ADDRESS: h.address },
      });
      assert.equal(result.code, 0, cli);
      assert.ok(Array.isArray(JSON.parse(result.stdout).machines), cli);
    }
  });

  test("lists the admin commands in its usage, and each has its own help with exit codes", async () => {
    const usage = await runClient(["--help"]);
    for (const name of [
      "requests",
      "request",
      "machines",
      "watch",
      "templates",
      "doctor",
      "input",
    ]) {
      assert.match(usage.stdout, new RegExp(`\\b${name}\\b`), name);
    }
    const help = await runClient(["watch", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /3 {2}the command worked and found a problem/);
    const unknown = await runClient(["requests", "--colour"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option --colour/);
  });

  test("the sidecar down is exit 1, with the address in the message", async () => {
    const result = await admin(["requests"], { address: `unix://${join(h.dir, "nobody.sock")}` });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /not reachable at unix:\/\/.*nobody\.sock: is it running\?/);
  });
});

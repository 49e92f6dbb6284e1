// The Go client, generated from proto/ and written against the contract alone, against a real
// sidecar: refusals of bad input, a request the cluster cannot satisfy, and a sidecar restarted
// while the client follows its request.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { type Harness, healthStatus, startHarness } from "../e2e/harness.ts";
import { runProcess } from "../tools/run-process.ts";
import { waitFor } from "../tools/wait-for.ts";
import { goBuild, goSkipReason } from "./go-build.ts";

/** Stops a hung build or run; a first build takes minutes on a busy machine. */
const TIMEOUT_MS = 20 * 60_000;
/** How long the sidecar stays down while the client follows its request. */
const OUTAGE_MS = 1_500;
const SERVICE = "hostfactory.v1.ProviderService";

const skip = goSkipReason();
let h: Harness;
let client = "";

describe("the Go client against a sidecar", { skip }, () => {
  before(async () => {
    client = await goBuild("./go-client", "go-client");
    // Pods start slowly enough that a request is still running when its sidecar is killed.
    h = await startHarness({ simulator: { podStartDelayMs: 3_000 } });
  });
  after(async () => {
    await h?.close();
  });

  const goClient = (...args: string[]) => runProcess(client, ["--address", h.address, ...args]);

  test("bad flags and a template the sidecar does not offer exit 2 and ask for nothing", {
    timeout: TIMEOUT_MS,
  }, async () => {
    const cases: [string[], RegExp][] = [
      [["--count", "2"], /--template is required/],
      [["--template", "compute-small", "--count", "0"], /--count must be at least 1, found 0/],
      [
        ["--template", "compute-gpu"],
        /template compute-gpu is not offered; the sidecar offers compute-small, compute-huge/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await goClient(...args);
      assert.equal(result.code, 2, args.join(" "));
      assert.match(result.stderr, message);
    }
    assert.equal(h.configMapCount(), 0, "no request was recorded");
  });

  test("a refusal names the call and its gRPC code and exits 3", async () => {
    const result = await goClient("--template", "compute-small", "--count", "11");
    assert.equal(result.code, 3, result.stdout + result.stderr);
    assert.match(
      result.stderr,
      /RequestMachines failed with ResourceExhausted: template 'compute-small' has 10 of 10 machines available; 11 requested/,
    );
  });

  test("a request the cluster cannot satisfy ends complete_with_error, exit 1, nothing left behind", {
    timeout: TIMEOUT_MS,
  }, async () => {
    const result = await goClient("--template", "compute-huge", "--count", "1");
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /req-[a-z0-9]{10} complete_with_error: 0 of 1 machines ready/);
    assert.match(result.stdout, / terminated fail Pod stayed Pending for 2s/);
    assert.match(result.stderr, /req-[a-z0-9]{10} ended complete_with_error/);
    await waitFor("the failed machine's pod to go", () => h.pods().length === 0);
  });

  test("the client follows its request across a sidecar killed and started again", {
    timeout: TIMEOUT_MS,
  }, async () => {
    await h.stopSidecar();
    const serving = async () => {
      const sidecar = h.spawnSidecar();
      await waitFor("the sidecar to serve", () =>
        healthStatus(h.address, SERVICE).then(
          (status) => status === "SERVING",
          () => false,
        ),
      );
      return sidecar;
    };
    const first = await serving();
    const child = spawn(client, [
      "--address",
      h.address,
      "--template",
      "compute-small",
      "--count",
      "2",
    ]);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await waitFor("the first status", () => / running: /.test(stdout));
    first.kill("SIGKILL");
    await new Promise((resolve) => first.on("exit", resolve));
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    const followed = stdout;
    await serving();
    assert.equal(await exited, 0, stdout + stderr);
    assert.doesNotMatch(
      followed,
      / complete: /,
      "the request was still running when the sidecar died",
    );
    assert.match(stdout, /req-[a-z0-9]{10} complete: 2 of 2 machines ready/);
    assert.match(stdout, /ret-[a-z0-9]{10} complete: 2 of 2 machines gone/);
    assert.deepEqual(h.pods(), [], "the returned machines' pods are gone");
  });
});

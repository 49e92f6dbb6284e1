// Runs the examples of docs/api.md against a real sidecar (the e2e harness's, on a Unix socket,
// with the example templates `npm start` serves): grpcurl built from the Go module proxy lists the
// services through reflection and calls GetAvailableTemplates, RequestMachines and WatchRequest,
// and the Go client generated from proto/ requests, follows and returns machines. What each
// prints must be what the page shows, up to the ids and addresses a run makes anew.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Harness, startHarness } from "../e2e/harness.ts";
import { type ProcessResult, runProcess } from "../tools/run-process.ts";
import { type DocExample, docExample, docExamples } from "./doc-examples.ts";
import { BIN_DIR, goSkipReason, MODULE_DIR } from "./go-build.ts";

const ROOT = join(import.meta.dirname, "..", "..");
/** The address and request id the page's examples use, replaced by this run's. */
const DOC_ADDRESS = "unix:///tmp/hostfactory-k8s.sock";
const DOC_REQUEST_ID = "req-1ozdkdzy5b";
/** Stops a hung build or run; a first build of grpcurl takes minutes on a busy machine. */
const TIMEOUT_MS = 20 * 60_000;

const skip = goSkipReason();
const examples = docExamples();
let h: Harness;
let requestId = "";

describe("docs/api.md examples, run against a sidecar", { skip }, () => {
  before(async () => {
    h = await startHarness({ templates: join(ROOT, "examples", "templates.json") });
  });
  after(async () => {
    await h?.close();
  });

  /** Runs an example's command as a reader would, with this run's address and request id. */
  function run(example: DocExample, replace: [string, string][] = []): Promise<ProcessResult> {
    let command = example.text.replaceAll(DOC_ADDRESS, h.address);
    if (requestId) command = command.replaceAll(DOC_REQUEST_ID, requestId);
    for (const [from, to] of replace) command = command.replaceAll(from, to);
    return runProcess("sh", ["-c", command], {
      cwd: ROOT,
      env: { ...process.env, PATH: `${BIN_DIR}:${process.env.PATH}` },
    });
  }

  /** grpcurl prints a stream as JSON documents one after another. */
  function jsonStream(text: string): Record<string, unknown>[] {
    return text
      .trim()
      .split(/\n(?=\{)/)
      .map((document) => JSON.parse(document));
  }

  interface WatchedRequest {
    requestId: string;
    status: string;
    machines?: Record<string, unknown>[];
  }
  const requestOf = (update: Record<string, unknown>) => update.request as WatchedRequest;

  test("grpcurl builds from the version go.mod pins, with the page's command", {
    timeout: TIMEOUT_MS,
  }, async () => {
    const result = await run(docExample("build-grpcurl", examples), [
      ['"$HOME/.local/bin/grpcurl"', join(BIN_DIR, "grpcurl")],
    ]);
    assert.equal(result.code, 0, result.stderr);
  });

  test("grpcurl lists the services and the provider's RPCs through reflection", async () => {
    for (const name of ["list", "list-provider"]) {
      const example = docExample(name, examples);
      const result = await run(example);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), example.output?.trim(), name);
    }
  });

  test("grpcurl calls GetAvailableTemplates and gets what the page shows", async () => {
    const example = docExample("templates", examples);
    const result = await run(example);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), JSON.parse(example.output ?? ""));
  });

  test("grpcurl requests machines and follows them with WatchRequest to COMPLETE", async () => {
    const request = docExample("request", examples);
    const requested = await run(request);
    assert.equal(requested.code, 0, requested.stderr);
    const answer = JSON.parse(requested.stdout);
    const shown = JSON.parse(request.output ?? "");
    assert.match(answer.requestId, /^req-[a-z0-9]{10}$/);
    assert.equal(answer.message, shown.message);
    requestId = answer.requestId;

    const watch = docExample("watch", examples);
    const watched = await run(watch);
    assert.equal(watched.code, 0, watched.stderr);
    const updates = jsonStream(watched.stdout).map(requestOf);
    const page = jsonStream(watch.output ?? "").map(requestOf);
    assert.ok(updates.length >= 2, `${updates.length} updates`);
    assert.equal(updates[0]?.status, page[0]?.status);
    const final = updates.at(-1);
    assert.equal(final?.status, page.at(-1)?.status);
    assert.equal(final?.requestId, requestId);
    assert.deepEqual(
      final?.machines?.map((machine) => machine.name),
      page
        .at(-1)
        ?.machines?.map((machine) => String(machine.name).replace(DOC_REQUEST_ID, requestId)),
    );
    for (const [index, machine] of (final?.machines ?? []).entries()) {
      assert.deepEqual(Object.keys(machine), Object.keys(page.at(-1)?.machines?.[index] ?? {}));
      assert.equal(machine.result, "MACHINE_RESULT_SUCCEED");
      const pod = h.simulator.store.get("pods", "default", String(machine.name));
      assert.equal(machine.machineId, pod?.metadata.uid, "the machine id is its pod's UID");
    }
  });

  test("grpcurl shows a refusal as the page does, and exits 64 plus the gRPC code", async () => {
    const example = docExample("refused", examples);
    const result = await run(example);
    assert.equal(result.code, 64 + 5, "NOT_FOUND is 5");
    assert.equal(result.stderr.trim(), example.output?.trim());
  });

  function files(dir: string): string[] {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
      .sort();
  }

  test("the Go code in test/api-clients/gen is what the page's buf command makes of proto/ now", {
    timeout: TIMEOUT_MS,
  }, async () => {
    const scratch = mkdtempSync(join(tmpdir(), "hostfactory-gen-go-"));
    try {
      const example = docExample("generate-go", examples);
      const result = await run({ ...example, text: `${example.text} --output ${scratch}` });
      assert.equal(result.code, 0, result.stderr);
      const committed = join(MODULE_DIR, "gen");
      const fresh = join(scratch, "test", "api-clients", "gen");
      assert.deepEqual(files(fresh), files(committed));
      for (const file of files(committed)) {
        assert.equal(
          readFileSync(join(fresh, file), "utf8"),
          readFileSync(join(committed, file), "utf8"),
          `test/api-clients/gen/${file} is stale: run \`${example.text}\` and commit`,
        );
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  /** The Go client's output with what a run makes anew (ids, addresses) made stable. */
  function stable(output: string): string[] {
    return output
      .trim()
      .split("\n")
      .map((line) =>
        line
          .replace(/\breq-[a-z0-9]{10}\b/g, "req-ID")
          .replace(/\bret-[a-z0-9]{10}\b/g, "ret-ID")
          .replace(/\b\d+\.\d+\.\d+\.\d+\b/g, "IP")
          .replace(/\d+ of (\d+) machines available/, "N of $1 machines available"),
      )
      .filter((line) => !/ running: /.test(line));
  }

  test("the Go client requests, follows and returns machines, printing what the page shows", {
    timeout: TIMEOUT_MS,
  }, async () => {
    const example = docExample("go-client", examples);
    const result = await run(example);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(stable(result.stdout), stable(example.output ?? ""));
    assert.match(result.stdout, / running: 0 of 2 machines ready\n/);
    const names = [...result.stdout.matchAll(/^ {2}(\S+) /gm)].map((match) => match[1]);
    assert.equal(names.length, 2);
    const left = h.pods().filter((pod) => names.includes(pod.name));
    assert.deepEqual(left, [], "the returned machines' pods are gone");
  });

  test("the service config on the page is the Go client's", () => {
    const dial = readFileSync(join(MODULE_DIR, "go-client", "dial.go"), "utf8");
    const inGo = /const serviceConfig = `([^`]*)`/.exec(dial)?.[1] ?? "";
    assert.deepEqual(JSON.parse(docExample("service-config", examples).text), JSON.parse(inGo));
  });
});

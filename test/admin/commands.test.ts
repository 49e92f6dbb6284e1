// The operators' commands against a real sidecar and the simulated cluster: requests, request,
// machines, watch (on a terminal and not), templates, input.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO } from "../client/run-cli.ts";
import { type Harness, INSTANCE, startHarness } from "../e2e/harness.ts";
import { admin } from "./_run-admin.ts";

let h: Harness;
let run: typeof admin;
before(async () => {
  h = await startHarness();
  run = (args, options = {}) => admin(args, { address: h.address, ...options });
});
after(async () => {
  await h.close();
});

async function requestMachines(templateId: string, machineCount: number): Promise<string> {
  const result = await h.script("requestMachines", { template: { templateId, machineCount } });
  assert.equal(result.code, 0, result.stdout);
  return String(result.json?.requestId);
}

type Json = Record<string, unknown>;

describe("requests, request and machines", () => {
  let requestId = "";
  before(async () => {
    requestId = await requestMachines("compute-small", 2);
    const done = await run(["watch", requestId, "--json"]);
    assert.equal(done.code, 0, done.stderr);
  });

  test("requests prints a table of requests with counts and age", async () => {
    const result = await run(["requests"]);
    assert.equal(result.code, 0, result.stderr);
    const [header, ...rows] = result.stdout.trimEnd().split("\n");
    assert.match(
      header ?? "",
      /^REQUEST\s+KIND\s+TEMPLATE\s+STATUS\s+MACHINES\s+EXECUTING\s+SUCCEEDED\s+FAILED\s+AGE$/,
    );
    const row = rows.find((line) => line.startsWith(requestId));
    assert.match(row ?? "", /create\s+compute-small\s+complete\s+2\s+0\s+2\s+0\s+\d+s$/);
  });

  test("requests --json gives the same in HostFactory's words; filters apply", async () => {
    const result = await run([
      "requests",
      "--json",
      "--kind",
      "create",
      "--template",
      "compute-small",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const request = result.json.requests.find((r: Json) => r.requestId === requestId);
    assert.equal(request?.status, "complete");
    assert.equal(request?.kind, "create");
    assert.equal(request?.succeeded, 2);
    assert.match(String(request?.createdAt), /^\d{4}-\d\d-\d\dT/);
    const running = await run(["requests", "--json", "--running"]);
    assert.deepEqual(running.json?.requests, []);
    const none = await run(["requests", "--kind", "return"]);
    assert.equal(none.stdout, "No requests.\n");
  });

  test("request <id> shows the machines, their pods and the timeline", async () => {
    const result = await run(["request", requestId]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^Request\\s+${requestId}$`, "m"));
    assert.match(result.stdout, /^Status\s+complete$/m);
    assert.match(result.stdout, /^Machines\s+2 \(0 executing, 2 succeeded, 0 failed\)$/m);
    assert.match(result.stdout, /^MACHINE\s+RESULT\s+STATUS\s+POD\s+NODE\s+IP\s+MESSAGE$/m);
    assert.match(
      result.stdout,
      new RegExp(`^hf-${requestId}-0\\s+succeed\\s+running\\s+Running\\s+node-\\d\\s+10\\.`, "m"),
    );
    assert.match(result.stdout, /^Timeline \(from .*\):$/m);
    assert.match(result.stdout, /\+0\.0s\s+-\s+requested\s+2 machines of template compute-small/);
    assert.match(result.stdout, new RegExp(`hf-${requestId}-1\\s+ready`));
    assert.match(result.stdout, /-\s+complete\s*$/m);
  });

  test("request <id> --json; an unknown id exits 2 with the sidecar's message", async () => {
    const result = await run(["request", requestId, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.json.machines.length, 2);
    assert.equal(result.json.pods[0]?.phase, "Running");
    assert.ok(result.json.timeline.some((e: Json) => e.source === "event"));
    const unknown = await run(["request", "req-0000000000", "--json"]);
    assert.equal(unknown.code, 2);
    assert.match(String(unknown.json?.message), /has no record/);
    assert.match(unknown.stderr, /^hostfactory request: request 'req-0000000000' has no record/);
  });

  test("machines lists pods with phase, readiness, node, IP, age, request and template", async () => {
    const result = await run(["machines", "--request", requestId]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    assert.match(
      lines[0] ?? "",
      /^MACHINE\s+PHASE\s+READY\s+NODE\s+IP\s+AGE\s+REQUEST\s+TEMPLATE\s+NOTE$/,
    );
    assert.equal(lines.length, 3);
    assert.match(
      lines[1] ?? "",
      new RegExp(
        `^hf-${requestId}-0\\s+Running\\s+yes\\s+node-\\d\\s+10\\.\\S+\\s+\\d+s\\s+${requestId}\\s+compute-small$`,
      ),
    );
    const json = await run(["machines", "--json", "--template", "compute-small"]);
    const machine = json.json.machines.find((m: Json) => m.name === `hf-${requestId}-1`);
    assert.equal(machine?.ready, true);
    assert.equal(machine?.orphan, false);
    assert.deepEqual(
      (await run(["machines", "--template", "compute-huge"])).stdout,
      "No machines.\n",
    );
  });

  test("machines naming a request or template the provider does not know is an error, exit 2", async () => {
    const malformed = await run(["machines", "--request", "req-nope"]);
    assert.equal(malformed.code, 2, malformed.stdout);
    assert.match(malformed.stderr, /^hostfactory machines: 'req-nope' is not a request id/);
    const request = await run(["machines", "--request", "req-0000000000"]);
    assert.equal(request.code, 2, request.stdout);
    assert.equal(request.stdout, "");
    assert.match(
      request.stderr,
      /^hostfactory machines: request 'req-0000000000' has no record and no machines/,
    );
    const template = await run(["machines", "--template", "compute-nope", "--json"]);
    assert.equal(template.code, 2, template.stdout);
    assert.match(
      String(template.json?.message),
      /template 'compute-nope' not found .*available: compute-small/,
    );
  });
});

describe("watch", () => {
  /** A request whose pods are created only after a second, so that a watch sees it running. */
  async function slowRequest(count: number): Promise<string> {
    const lift = h.simulator.faults.addLatency({
      verbs: ["create"],
      resources: ["pods"],
      delayMs: 1000,
    });
    setTimeout(lift, 1000);
    return requestMachines("compute-small", count);
  }

  test("on a pipe: one line per change, ending complete, exit 0", async () => {
    const requestId = await slowRequest(3);
    const result = await run(["watch", requestId]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    assert.ok(lines.length >= 2, result.stdout);
    assert.match(lines[0] ?? "", new RegExp(`^\\S+Z ${requestId} running \\d/3 done, 0 failed`));
    assert.match(
      lines.at(-1) ?? "",
      new RegExp(`^\\S+Z ${requestId} complete 3/3 done, 0 failed$`),
    );
    assert.ok(!result.stdout.includes("\u001b"), "no terminal codes on a pipe");
  });

  test("on a terminal: a progress bar redrawn in place, then how it ended", async () => {
    const requestId = await slowRequest(2);
    const result = await run(["watch", requestId], { tty: true });
    assert.equal(result.code, 0, result.stderr);
    const frames = result.stdout.split("\r\x1b[2K").filter(Boolean);
    assert.ok(frames.length >= 2, JSON.stringify(result.stdout));
    assert.match(
      frames[0] ?? "",
      new RegExp(`^${requestId} \\[[█░]{30}\\] \\d/2 done, 0 failed  running  \\d+\\.\\ds$`),
    );
    const last = frames.at(-1) ?? "";
    assert.match(
      last,
      new RegExp(
        `^${requestId} \\[█{30}\\] 2/2 done, 0 failed  complete  \\d+\\.\\ds\\ncomplete after \\d+\\.\\ds\\n$`,
      ),
    );
    assert.ok(
      frames.every((frame) => (frame.split("\n")[0] ?? "").length < 100),
      "fits the terminal",
    );
  });

  test("--json: one document per change; a request that fails ends complete_with_error, exit 3", async () => {
    const requestId = await requestMachines("compute-huge", 1);
    const result = await run(["watch", requestId, "--json"]);
    assert.equal(result.code, 3, result.stderr);
    const updates = result.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as Json);
    assert.equal(updates[0]?.status, "running");
    const last = updates.at(-1);
    assert.equal(last?.status, "complete_with_error");
    assert.match(String(last?.message), /^1 of 1 machines failed: /);
    assert.equal((last?.machines as Json[] | undefined)?.[0]?.result, "fail");
  });

  test("an unknown request exits 2 with the sidecar's message; a return request counts what is gone", async () => {
    const unknown = await run(["watch", "req-0000000000"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /not known to this provider/);
    const requestId = await requestMachines("compute-small", 1);
    await run(["watch", requestId]);
    const returned = await h.script("requestReturnMachines", {
      machines: [{ name: `hf-${requestId}-0` }],
    });
    const result = await run(["watch", String(returned.json?.requestId)]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /complete 1\/1 gone, 0 failed\n$/);
  });
});

describe("templates", () => {
  test("templates lists the templates in use with their limits and settings", async () => {
    const result = await run(["templates"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^TEMPLATE\s+MAX\s+AVAILABLE\s+IN USE\s+NCPUS\s+NRAM\s+PENDING\s+HOSTNAME\s+DRAIN\s+PRIORITY CLASS$/m,
    );
    assert.match(
      result.stdout,
      /^compute-huge\s+4\s+4\s+0\s+64\s+1024\s+2s\s+short\s+immediate\s+-$/m,
    );
    const json = await run(["templates", "list", "--json"]);
    const small = json.json.templates.find((t: Json) => t.templateId === "compute-small");
    assert.deepEqual(small?.attributes.ncpus, ["Numeric", "1"]);
  });

  test("templates validate checks a file offline, as the sidecar would", async () => {
    const good = await admin(["templates", "validate", join(REPO, "examples", "templates.json")]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /valid, 3 templates: compute-small, compute-large, compute-huge/);
    const file = join(h.dir, "bad-templates.json");
    writeFileSync(
      file,
      JSON.stringify({
        templates: [
          { templateId: "ok", maxNumber: 1, podSpec: { containers: [{ name: "c", image: "i" }] } },
          { templateId: "no-pod", maxNumber: 0, podSpecFile: "missing.yaml" },
        ],
      }),
    );
    const bad = await admin(["templates", "validate", file, "--json"]);
    assert.equal(bad.code, 3);
    assert.equal(bad.json?.valid, false);
    assert.deepEqual(
      bad.json.problems.map((p: string) => p.split(":")[0]),
      [
        "template 'ok'.attributes.ncpus",
        "template 'ok'.attributes.nram",
        "template 'no-pod'.maxNumber",
        "template 'no-pod'.podSpecFile",
      ],
    );
    writeFileSync(
      file,
      JSON.stringify({
        templates: [
          {
            templateId: "named",
            maxNumber: 1,
            attributes: { ncpus: ["Numeric", "1"], nram: ["Numeric", "1024"] },
            podSpec: { containers: [{ name: "Bad_Name", image: "i" }] },
          },
        ],
      }),
    );
    const refused = await admin(["templates", "validate", file]);
    assert.equal(refused.code, 3, refused.stdout);
    assert.match(
      refused.stdout + refused.stderr,
      /container name 'Bad_Name' is not a DNS-1123 label/,
    );
  });

  test("templates validate --dry-run has the API server judge each template's Pod too", async () => {
    const file = join(REPO, "examples", "templates.json");
    const podsBefore = h.pods().length;
    const good = await run(["templates", "validate", file, "--dry-run"]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /valid \(offline, and by the API server in a dry run\), 3 templates/);
    const lift = h.simulator.faults.injectErrors({
      verbs: ["create"],
      resources: ["pods"],
      code: 403,
      message:
        "pods is forbidden: exceeded quota: compute, requested: cpu=4, used: cpu=8, limited: cpu=8",
    });
    try {
      const refused = await run(["templates", "validate", file, "--dry-run", "--json"]);
      assert.equal(refused.code, 3, refused.stdout);
      assert.equal(refused.json?.valid, false);
      assert.match(
        refused.json.problems[0],
        /^template 'compute-small': the API server refuses its Pod: .*exceeded quota/,
      );
      assert.equal(refused.json.problems.length, 3);
    } finally {
      lift();
    }
    assert.equal(h.pods().length, podsBefore, "nothing was created");
  });

  test("templates render prints the Pod as YAML; --dry-run has the API server judge it", async () => {
    const result = await run(["templates", "render", "compute-small", "--index", "3"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^apiVersion: v1\nkind: Pod\n/);
    assert.match(result.stdout, /name: hf-req-example000-3/);
    assert.match(result.stdout, new RegExp(`hostfactory-k8s/instance: ${INSTANCE}`));
    const dry = await run(["templates", "render", "compute-small", "--dry-run", "--json"]);
    assert.equal(dry.code, 0);
    assert.deepEqual(dry.json?.dryRun, { accepted: true, error: "" });
    const lift = h.simulator.authorization.deny({ verbs: ["create"], resources: ["pods"] });
    try {
      const refused = await run(["templates", "render", "compute-small", "--dry-run"]);
      assert.equal(refused.code, 3);
      assert.match(refused.stderr, /dry run: the API server refuses this Pod: .*forbidden/);
    } finally {
      lift();
    }
    const unknown = await run(["templates", "render", "gpu"]);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /template 'gpu' not found; available: compute-small, compute-huge/,
    );
  });
});

describe("input", () => {
  test("writes each operation's input document, tab-indented, as HostFactory does", async () => {
    const cases: [string[], unknown][] = [
      [["getAvailableTemplates"], {}],
      [
        ["request-machines", "compute-small", "3", "--rc-account", "risk"],
        { template: { templateId: "compute-small", machineCount: 3, rc_account: "risk" } },
      ],
      [
        ["requestReturnMachines", "hf-a", "hf-b"],
        {
          machines: [
            { name: "hf-a", machineId: "" },
            { name: "hf-b", machineId: "" },
          ],
        },
      ],
      [
        ["getRequestStatus", "req-a", "ret-b"],
        { requests: [{ requestId: "req-a" }, { requestId: "ret-b" }] },
      ],
      [["getReturnRequests"], { machines: [] }],
    ];
    for (const [args, expected] of cases) {
      const result = await admin(["input", ...args]);
      assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
      assert.deepEqual(result.json, expected, args.join(" "));
      if (Object.keys(expected as object).length > 0) assert.match(result.stdout, /^\{\n\t"/);
    }
  });

  test("asks the sidecar for a request's machines or every machine, and the scripts accept the result", async () => {
    const requestId = await requestMachines("compute-small", 2);
    await run(["watch", requestId]);
    const toReturn = await run(["input", "requestReturnMachines", "--request", requestId]);
    assert.equal(toReturn.code, 0, toReturn.stderr);
    const machines = toReturn.json?.machines as { name: string; machineId: string }[];
    assert.deepEqual(
      machines.map((m) => m.name),
      [`hf-${requestId}-0`, `hf-${requestId}-1`],
    );
    assert.ok(machines.every((m) => m.machineId !== ""));
    const all = await run(["input", "getReturnRequests", "--all"]);
    const held = all.json.machines.map((m: Json) => m.name);
    assert.ok(machines.every((m) => held.includes(m.name)));
    const returned = await h.script("requestReturnMachines", toReturn.stdout);
    assert.equal(returned.code, 0, returned.stdout);
    assert.match(String(returned.json?.requestId), /^ret-/);
  });

  test("refuses what HostFactory would not send, with exit 2", async () => {
    for (const args of [
      ["requestMachines", "compute-small", "0"],
      ["requestMachines", "compute-small"],
      ["getRequestStatus"],
      ["requestReturnMachines"],
      ["getAvailableTemplates", "extra"],
      ["fly"],
    ]) {
      const result = await admin(["input", ...args]);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stdout}`);
      assert.notEqual(result.stderr, "");
    }
  });
});

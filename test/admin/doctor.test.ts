// `hostfactory doctor` against the simulated cluster: all well, then one seeded misconfiguration
// of each kind it checks, each reported with what to fix.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { install } from "../../client/install.ts";
import { REPO } from "../client/run-cli.ts";
import { type Harness, startHarness, TEST_TEMPLATES } from "../e2e/harness.ts";
import { waitFor } from "../tools/wait-for.ts";
import { admin } from "./_run-admin.ts";

type Check = { check: string; status: string; message: string; fix?: string };

let h: Harness;
let dir: string;
let templatesFile: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "doctor-"));
  templatesFile = join(dir, "templates.json");
  copyFileSync(TEST_TEMPLATES, templatesFile);
  h = await startHarness({ templates: templatesFile });
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

async function doctor(args: string[] = [], address = h.address) {
  const result = await admin(["doctor", "--json", ...args], { address });
  assert.ok(result.json, result.stdout + result.stderr);
  return { code: result.code, checks: result.json.checks as Check[], ok: result.json.ok };
}
const find = (checks: Check[], name: string) => checks.filter((c) => c.check === name);
const failures = (checks: Check[]) => checks.filter((c) => c.status === "fail");

describe("the sidecar's side", () => {
  test("a sound deployment passes every check, and says so in words", async () => {
    await waitFor("a leader", async () => (await doctor()).ok);
    const { code, checks } = await doctor();
    assert.equal(code, 0);
    assert.deepEqual(
      checks.map((c) => `${c.status} ${c.check}`),
      [
        "ok sidecar reachable",
        "ok cluster",
        "ok health",
        "ok caches",
        "ok leader",
        "ok permissions",
        "ok templates",
        "ok template references",
        "skip HostFactory configuration",
      ],
    );
    const text = await admin(["doctor"], { address: h.address });
    assert.match(text.stdout, /^ok {4}leader: .* holds Lease hostfactory-k8s-e2e$/m);
    assert.match(text.stdout, /^All checks passed\.$/m);
  });

  test("a sidecar that is not there: reported, the checks that need it skipped, exit 3", async () => {
    const { code, checks } = await doctor([], `unix://${join(dir, "nobody.sock")}`);
    assert.equal(code, 3);
    const [reachable] = find(checks, "sidecar reachable");
    assert.equal(reachable?.status, "fail");
    assert.match(reachable?.message ?? "", /not reachable at unix:\/\/.*nobody\.sock/);
    assert.match(reachable?.fix ?? "", /HOSTFACTORY_ADDRESS/);
    for (const name of [
      "cluster",
      "health",
      "caches",
      "leader",
      "permissions",
      "templates",
      "template references",
    ]) {
      assert.equal(find(checks, name)[0]?.status, "skip", name);
    }
  });

  test("root causes come first: a quota that refuses pods, with what to do", async () => {
    const lift = h.simulator.faults.injectErrors({
      verbs: ["create"],
      resources: ["pods"],
      code: 403,
      message:
        'pods "hf-req-example000-0" is forbidden: exceeded quota: compute, requested: cpu=100m, used: cpu=8, limited: cpu=8',
    });
    try {
      const { code, checks } = await doctor();
      assert.equal(code, 3);
      assert.deepEqual(
        checks.slice(0, 2).map((c) => `${c.status} ${c.check}`),
        ["ok sidecar reachable", "fail cluster: quota"],
      );
      assert.match(
        checks[1]?.message ?? "",
        /a ResourceQuota in namespace default refuses a pod: .*exceeded quota: compute/,
      );
      assert.match(checks[1]?.fix ?? "", /kubectl -n default describe resourcequota/);
    } finally {
      lift();
    }
  });

  test("root causes come first: the sidecar may not create pods (RBAC)", async () => {
    const lift = h.simulator.authorization.deny({ verbs: ["create"], resources: ["pods"] });
    try {
      const { code, checks } = await doctor();
      assert.equal(code, 3);
      assert.equal(`${checks[1]?.status} ${checks[1]?.check}`, "fail cluster: RBAC");
      assert.match(checks[1]?.message ?? "", /may not create pods in namespace default/);
      assert.match(checks[1]?.fix ?? "", /resources \["pods"\], verbs \["create"\]/);
    } finally {
      lift();
    }
  });

  /** A sidecar of its own, started as an operator would, with `args` for what is misconfigured. */
  async function misconfigured(name: string, args: string[]) {
    const address = `unix://${join(dir, `${name}.sock`)}`;
    const child = spawn(
      process.execPath,
      [
        join(REPO, "sidecar", "main.ts"),
        ...["--listen", address, "--templates", TEST_TEMPLATES, "--instance", name],
        ...["--log-level", "silent", ...args],
      ],
      { stdio: "ignore" },
    );
    try {
      return await waitFor(
        "the sidecar to answer",
        async () => {
          const answer = await doctor([], address);
          return find(answer.checks, "sidecar reachable")[0]?.status === "ok" && answer;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    } finally {
      child.kill("SIGKILL");
    }
  }

  test("root causes come first: the namespace does not exist", async () => {
    const { code, checks } = await misconfigured("nons", [
      ...["--kubeconfig", h.kubeconfigPath, "--namespace", "hf-missing"],
    ]);
    assert.equal(code, 3);
    assert.equal(`${checks[1]?.status} ${checks[1]?.check}`, "fail cluster: namespace missing");
    assert.match(checks[1]?.message ?? "", /namespace hf-missing does not exist/);
    assert.match(checks[1]?.fix ?? "", /kubectl create namespace hf-missing/);
    const [leader] = find(checks, "leader");
    if (leader?.status === "fail") assert.match(leader.fix ?? "", /cluster check above first/);
  });

  test("root causes come first: a kubeconfig whose context points at no API server", async () => {
    const kubeconfig = join(dir, "wrong-context.kubeconfig");
    writeFileSync(
      kubeconfig,
      readFileSync(h.kubeconfigPath, "utf8").replace(/server: \S+/, "server: http://127.0.0.1:9"),
    );
    const { code, checks } = await misconfigured("nocluster", ["--kubeconfig", kubeconfig]);
    assert.equal(code, 3);
    assert.equal(
      `${checks[1]?.status} ${checks[1]?.check}`,
      "fail cluster: Kubernetes API unreachable",
      JSON.stringify(checks[1]),
    );
    assert.match(checks[1]?.fix ?? "", /kubeconfig and its current context/);
  });

  test("a missing permission fails, a missing optional one warns, each with the rule to grant", async () => {
    const lifts = [
      h.simulator.authorization.deny({ verbs: ["delete"], resources: ["pods"] }),
      h.simulator.authorization.deny({ verbs: ["list"], resources: ["events"] }),
    ];
    try {
      const { code, checks } = await doctor();
      assert.equal(code, 3);
      const [pods] = find(checks, "permission delete pods");
      assert.equal(pods?.status, "fail");
      assert.match(
        pods?.message ?? "",
        /may not delete pods in namespace default: the reconciler deletes/,
      );
      assert.match(
        pods?.fix ?? "",
        /Role rule: apiGroups \[""\], resources \["pods"\], verbs \["delete"\]/,
      );
      assert.equal(find(checks, "permission list events")[0]?.status, "warn");
      assert.deepEqual(find(checks, "permissions"), []);
    } finally {
      for (const lift of lifts) lift();
    }
  });

  test("an invalid templates file: the sidecar's and one given with --templates", async () => {
    const good = readFileSync(templatesFile, "utf8");
    writeFileSync(templatesFile, '{"templates": []}');
    try {
      const reported = await waitFor("the reload to fail", async () => {
        const { checks } = await doctor();
        return find(checks, "templates")[0]?.status === "fail" && checks;
      });
      const [templates] = find(reported, "templates");
      assert.match(
        templates?.message ?? "",
        /keeps its last good set of 2 templates: .*no templates/,
      );
      assert.match(templates?.fix ?? "", /hostfactory templates validate/);

      const { code, checks } = await doctor(["--templates", templatesFile]);
      assert.equal(code, 3);
      assert.equal(find(checks, "templates file")[0]?.status, "fail");
      assert.equal(
        find((await doctor(["--templates", TEST_TEMPLATES])).checks, "templates file")[0]?.status,
        "ok",
      );
    } finally {
      writeFileSync(templatesFile, good);
      await waitFor("the reload", async () => (await doctor()).ok);
    }
  });

  test("a sidecar that cannot sync its caches: not serving, not synced, no leader", async () => {
    const stalled = await startHarness({ sidecar: false });
    try {
      // Listing pods hangs for a while: the sidecar serves gRPC, but has nothing to serve from.
      stalled.simulator.faults.addLatency({ verbs: ["list"], resources: ["pods"], delayMs: 4000 });
      const starting = stalled.startSidecar();
      const { code, checks } = await waitFor("the sidecar to listen", async () => {
        const answer = await doctor([], stalled.address);
        return find(answer.checks, "sidecar reachable")[0]?.status === "ok" && answer;
      });
      assert.equal(code, 3);
      assert.deepEqual(
        failures(checks).map((c) => c.check),
        ["health", "caches", "leader"],
      );
      assert.match(find(checks, "health")[0]?.message ?? "", /NOT_SERVING/);
      assert.match(
        find(checks, "caches")[0]?.message ?? "",
        /not synced: pods not synced, records/,
      );
      assert.match(find(checks, "leader")[0]?.message ?? "", /no replica holds Lease/);
      await starting;
    } finally {
      await stalled.close();
    }
  });
});

describe("HostFactory's configuration", () => {
  const PROVIDER = "k8sinst";
  let confdir: string;

  async function installed(): Promise<string> {
    confdir = mkdtempSync(join(dir, "hf-conf-"));
    await install({ hfConfdir: confdir, provider: PROVIDER, plugin: "k8s", address: h.address });
    return confdir;
  }
  const scripts = () => join(confdir, "providers", PROVIDER, "scripts");
  /** Changes our entry in a HostFactory registration file. */
  const editEntry = (kind: "providers" | "providerplugins", change: Record<string, unknown>) => {
    const file =
      kind === "providers"
        ? join(confdir, "providers", "hostProviders.json")
        : join(confdir, "providerplugins", "hostProviderPlugins.json");
    const document = JSON.parse(readFileSync(file, "utf8"));
    Object.assign(document[kind][0], change);
    writeFileSync(file, JSON.stringify(document));
  };
  const hostFactory = async (args: string[] = ["--provider", PROVIDER]) => {
    const { code, checks } = await doctor(["--hf-confdir", confdir, ...args]);
    const own = checks.filter((c) =>
      /^(HostFactory|scripts|client|provider confPath)/.test(c.check),
    );
    return { code, checks: own };
  };

  test("an installed provider passes: entries, scripts, client location, client config", async () => {
    await installed();
    const { code, checks } = await hostFactory();
    assert.equal(code, 0, JSON.stringify(checks));
    assert.deepEqual(
      checks.map((c) => `${c.status} ${c.check}`),
      ["ok HostFactory provider", "ok scripts", "ok client location", "ok client config"],
    );
    const withoutName = await hostFactory([]);
    assert.equal(withoutName.code, 0, "the only provider is found without --provider");
  });

  const cases: {
    name: string;
    seed: () => void;
    args?: string[];
    check: string;
    status: "fail" | "warn";
    message: RegExp;
    fix?: RegExp;
  }[] = [
    {
      name: "a registration file that is not JSON",
      seed: () => writeFileSync(join(confdir, "providerplugins", "hostProviderPlugins.json"), "{"),
      check: "HostFactory providerplugins/hostProviderPlugins.json",
      status: "fail",
      message: /hostProviderPlugins\.json: .*JSON/,
      fix: /hostfactory install/,
    },
    {
      name: "a provider that is not registered",
      seed: () => {},
      args: ["--provider", "other"],
      check: "HostFactory provider",
      status: "fail",
      message: /no provider other in .*hostProviders\.json \(providers: k8sinst\)/,
    },
    {
      name: "a provider naming a plugin that is not registered",
      seed: () => editEntry("providers", { plugin: "gone" }),
      check: "HostFactory provider",
      status: "fail",
      message: /names plugin gone, which .* does not list/,
    },
    {
      name: "a disabled provider",
      seed: () => editEntry("providers", { enabled: 0 }),
      check: "HostFactory provider",
      status: "warn",
      message: /provider k8sinst disabled/,
      fix: /"enabled": 1/,
    },
    {
      name: "a plugin scriptPath that is not a directory",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: HostFactory's own variable syntax
      seed: () => editEntry("providerplugins", { scriptPath: "${HF_TOP}/nowhere/" }),
      check: "scripts",
      status: "fail",
      message: /is not a directory \(unset: HF_TOP\)/,
    },
    {
      name: "a script that is missing",
      seed: () => rmSync(join(scripts(), "getReturnRequests.sh")),
      check: "scripts",
      status: "fail",
      message: /missing in .*: getReturnRequests\.sh/,
    },
    {
      name: "a script that is not executable",
      seed: () => chmodSync(join(scripts(), "requestMachines.sh"), 0o644),
      check: "scripts",
      status: "fail",
      message: /not executable in .*: requestMachines\.sh: HostFactory cannot run them/,
      fix: /^chmod \+x .*requestMachines\.sh$/,
    },
    {
      name: "scripts that would not find the client",
      seed: () =>
        writeFileSync(
          join(scripts(), "hostfactory-k8s.env"),
          `HOSTFACTORY_CLI='${join(dir, "no-client.cjs")}'\nHOSTFACTORY_NODE='${process.execPath}'\n`,
        ),
      check: "client location",
      status: "fail",
      message: /HOSTFACTORY_CLI .*no-client\.cjs is missing/,
    },
    {
      name: "a client config that is not valid",
      seed: () =>
        writeFileSync(
          join(confdir, "providers", PROVIDER, "hostfactory-k8s.json"),
          '{"address": "nowhere"}',
        ),
      check: "client config",
      status: "fail",
      message: /address "nowhere" is not host:port/,
    },
    {
      name: "a confPath that does not exist",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: HostFactory's own variable syntax
      seed: () => editEntry("providers", { confPath: "${HF_CONFDIR}/providers/gone/" }),
      check: "provider confPath",
      status: "fail",
      message: /providers\/gone is not a directory/,
    },
  ];
  for (const seeded of cases) {
    test(seeded.name, async () => {
      await installed();
      seeded.seed();
      const { code, checks } = await hostFactory(seeded.args);
      const [found] = find(checks, seeded.check);
      assert.equal(found?.status, seeded.status, JSON.stringify(checks));
      assert.match(found?.message ?? "", seeded.message);
      if (seeded.fix) assert.match(found?.fix ?? "", seeded.fix);
      assert.equal(code, seeded.status === "fail" ? 3 : 0);
    });
  }
});

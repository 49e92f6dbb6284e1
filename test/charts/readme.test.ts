// The chart's README: what `helm show readme` gives an administrator, with every value the chart
// takes, both topologies and the upgrade notes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadYaml } from "@kubernetes/client-node";
import { CHART, runHelm } from "./_helm.ts";

const readme = readFileSync(join(CHART, "README.md"), "utf8");

test("helm show readme prints the chart's README", () => {
  const shown = runHelm(["show", "readme", CHART]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.equal(shown.stdout.trim(), readme.trim());
});

test("the README documents every top-level value, both topologies and upgrading", () => {
  const values = loadYaml(readFileSync(join(CHART, "values.yaml"), "utf8")) as Record<
    string,
    unknown
  >;
  const documented = readme.slice(readme.indexOf("## Values"), readme.indexOf("## Upgrading"));
  for (const key of Object.keys(values)) {
    assert.match(
      documented,
      new RegExp(`\\| \`${key}[\`.]|, \`${key}\``),
      `the values table has ${key}`,
    );
  }
  for (const heading of ["## Install", "## Topologies", "## Values", "## Upgrading"]) {
    assert.ok(readme.includes(`\n${heading}\n`), `the README has ${heading}`);
  }
  assert.match(readme, /\*\*`standalone`\*\*/);
  assert.match(readme, /\*\*`beside-hostfactory`\*\*/);
});

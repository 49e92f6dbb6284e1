import assert from "node:assert/strict";
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { createTemplatesSource } from "../../sidecar/templates-source.ts";
import { waitFor } from "../e2e/harness.ts";

const pod = {
  containers: [{ name: "c", image: "i", resources: { requests: { cpu: "1", memory: "1Gi" } } }],
};
const document = (...ids: string[]) =>
  JSON.stringify({
    templates: ids.map((templateId) => ({ templateId, maxNumber: 5, podSpec: pod })),
  });

test("the templates file is followed: a good edit is picked up, a bad one keeps the last good set", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hostfactory-templates-"));
  const file = join(dir, "templates.json");
  writeFileSync(file, document("a"));
  const reloads: string[] = [];
  const source = createTemplatesSource(
    file,
    { pendingTimeoutSeconds: 600 },
    pino({ level: "silent" }),
    (outcome) => reloads.push(outcome),
  );
  try {
    assert.deepEqual(
      source.templates.map((t) => t.templateId),
      ["a"],
    );
    // Replace the file the way a ConfigMap volume update does: a new file renamed into place.
    writeFileSync(join(dir, "next"), document("a", "b"));
    renameSync(join(dir, "next"), file);
    await waitFor("the edit to be picked up", () => source.get("b"));
    assert.deepEqual(reloads, ["changed"]);

    writeFileSync(file, '{"templates": [{"templateId": "c"}]}');
    await waitFor("the bad edit to be reported", () => source.lastError);
    assert.match(source.lastError ?? "", /template 'c'/);
    assert.deepEqual(reloads, ["changed", "invalid"]);
    assert.deepEqual(
      source.templates.map((t) => t.templateId),
      ["a", "b"],
      "the last good set stays",
    );

    writeFileSync(file, "{not json");
    assert.equal(source.reload(), false);
    assert.match(source.lastError ?? "", /cannot read templates file/);
  } finally {
    source.close();
  }
});

test("an invalid templates file at start is an error that lists the problems", () => {
  const dir = mkdtempSync(join(tmpdir(), "hostfactory-templates-"));
  const file = join(dir, "templates.json");
  writeFileSync(file, '{"templates": []}');
  assert.throws(
    () => createTemplatesSource(file, { pendingTimeoutSeconds: 600 }, pino({ level: "silent" })),
    /at least one/,
  );
});

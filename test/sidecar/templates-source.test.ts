import assert from "node:assert/strict";
import { type FSWatcher, mkdtempSync, renameSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { createTemplatesSource } from "../../sidecar/templates-source.ts";
import { waitFor } from "../tools/wait-for.ts";

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

test("a failing directory watcher is logged and re-armed; the templates in use stay and edits are still followed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hostfactory-templates-"));
  const file = join(dir, "templates.json");
  writeFileSync(file, document("a"));
  const watchers: FSWatcher[] = [];
  const logs: { msg: string; err?: string }[] = [];
  const logger = pino({ level: "error" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const source = createTemplatesSource(file, { pendingTimeoutSeconds: 600 }, logger, () => {}, {
    watchDirectory: (directory, onChange) => {
      const watcher = watch(directory, onChange);
      watchers.push(watcher);
      return watcher;
    },
    rewatchDelayMs: 10,
  });
  try {
    // What inotify running out of watches, or a vanished volume on some platforms, looks like.
    const failure = Object.assign(new Error("EMFILE: too many open files, watch"), {
      code: "EMFILE",
    });
    watchers[0]?.emit("error", failure);
    assert.deepEqual(
      source.templates.map((t) => t.templateId),
      ["a"],
      "the templates in use stay",
    );
    assert.match(logs[0]?.msg ?? "", /watcher failed/);
    assert.equal(logs[0]?.err, failure.message);
    await waitFor("the watcher to be re-armed", () => watchers.length === 2);

    writeFileSync(join(dir, "next"), document("a", "b"));
    renameSync(join(dir, "next"), file);
    await waitFor("the edit to be picked up by the new watcher", () => source.get("b"));
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

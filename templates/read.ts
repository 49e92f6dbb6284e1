// Reading a templates file and the pod spec files it names, JSON or YAML, as plain data: what
// the sidecar loads and what `hostfactory templates validate` judges, with no Kubernetes client.
// Nothing is dropped on the way (a typed Pod model would drop the fields it does not know):
// the pod schema check reports an unknown field where the API server's strict field validation
// would refuse it.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { load } from "js-yaml";
import { parseTemplates, type Template, type TemplateDefaults } from "./parse.ts";

/** A JSON file by its name, else YAML (JSON is YAML too, but JSON's own errors read better). */
function readDocument(path: string): unknown {
  const text = readFileSync(path, "utf8");
  return path.endsWith(".json") ? JSON.parse(text) : load(text);
}

/** Reads and validates the whole file; throws a TemplateError with every problem, or an Error
 * when the file itself cannot be read. */
export function readTemplatesFile(path: string, defaults: TemplateDefaults): Template[] {
  const base = dirname(path);
  let document: unknown;
  try {
    document = readDocument(path);
  } catch (error) {
    throw new Error(`cannot read templates file ${path}: ${(error as Error).message}`);
  }
  return parseTemplates(
    document,
    (file) => {
      const full = isAbsolute(file) ? file : resolve(base, file);
      try {
        return readDocument(full);
      } catch (error) {
        throw new Error(`cannot read ${full}: ${(error as Error).message}`);
      }
    },
    defaults,
  );
}

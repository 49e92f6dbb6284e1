// A template's Pod checked against the Kubernetes OpenAPI schema of the pinned version
// (gen/pod-schema.json, made by generate-pod-schema.ts), offline, the way the API server's
// strict decoding judges it: unknown fields, a value of the wrong type (int-or-string and
// quantities included), integers out of their range, fields the schema requires. It does not
// run the API server's validation rules beyond that (names, ranges, cross-field rules), nor
// admission; those are the dry run's (`hostfactory templates validate --dry-run`).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseQuantity } from "./quantity.ts";

export const POD_SCHEMA_FILE = join(import.meta.dirname, "gen", "pod-schema.json");
export const POD = "io.k8s.api.core.v1.Pod";
export const POD_SPEC = "io.k8s.api.core.v1.PodSpec";
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const INT32 = 2 ** 31;
const INT64 = 2 ** 63;

interface Schema {
  $ref?: string;
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  format?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  oneOf?: Schema[];
}

/** One problem: where it is (a JSON path in the document checked) and what is wrong. */
export interface SchemaProblem {
  path: string;
  message: string;
}

let schemas: Record<string, Schema> | undefined;
/** Read when first needed, not when the module loads. */
function loadSchemas(): Record<string, Schema> {
  schemas ??= (
    JSON.parse(readFileSync(POD_SCHEMA_FILE, "utf8")) as { schemas: Record<string, Schema> }
  ).schemas;
  return schemas;
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a number";
  return `a ${typeof value}`;
}

const EXPECTED: Record<NonNullable<Schema["type"]>, string> = {
  object: "an object",
  array: "a list",
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "a boolean",
};

/** Why `value` is not of `type`, or undefined when it is. */
function typeProblem(value: unknown, schema: Schema): string | undefined {
  const { type, format } = schema;
  const fits =
    type === undefined ||
    (type === "object" && typeof value === "object" && !Array.isArray(value)) ||
    (type === "array" && Array.isArray(value)) ||
    (type === "string" && typeof value === "string") ||
    (type === "integer" && Number.isInteger(value)) ||
    (type === "number" && typeof value === "number") ||
    (type === "boolean" && typeof value === "boolean");
  if (!fits)
    return `expected ${EXPECTED[type as NonNullable<Schema["type"]>]}, found ${kindOf(value)} ${JSON.stringify(value)}`;
  if (format === "int32" && ((value as number) < -INT32 || (value as number) >= INT32)) {
    return `${value} is out of range for a 32-bit integer`;
  }
  if (format === "int64" && ((value as number) < -INT64 || (value as number) >= INT64)) {
    return `${value} is out of range for a 64-bit integer`;
  }
  return undefined;
}

function check(
  value: unknown,
  schema: Schema,
  path: string,
  problems: SchemaProblem[],
  name?: string,
): void {
  // An explicit null is the API server's "not set".
  if (value === null) return;
  if (schema.$ref !== undefined) {
    const target = loadSchemas()[schema.$ref];
    if (target) check(value, target, path, problems, schema.$ref);
    return;
  }
  const at = (child: string) => (path === "" ? child : `${path}.${child}`);
  if (schema.oneOf) {
    const alternatives = schema.oneOf;
    if (alternatives.every((alternative) => typeProblem(value, alternative) !== undefined)) {
      const types = alternatives.map((a) => EXPECTED[a.type as NonNullable<Schema["type"]>]);
      problems.push({
        path,
        message: `expected ${types.join(" or ")}, found ${kindOf(value)} ${JSON.stringify(value)}`,
      });
    } else if (
      name === QUANTITY &&
      typeof value === "string" &&
      (value !== value.trim() || parseQuantity(value) === undefined)
    ) {
      problems.push({
        path,
        message: `${JSON.stringify(value)} is not a quantity (like "500m", "2", "4Gi")`,
      });
    }
    return;
  }
  const wrong = typeProblem(value, schema);
  if (wrong) {
    problems.push({ path, message: wrong });
    return;
  }
  if (schema.type === "array" && schema.items) {
    (value as unknown[]).forEach((item, i) => {
      check(item, schema.items as Schema, `${path}[${i}]`, problems);
    });
  }
  if (schema.type === "object") {
    const object = value as Record<string, unknown>;
    for (const [key, item] of Object.entries(object)) {
      const property = schema.properties?.[key];
      if (property) check(item, property, at(key), problems);
      else if (typeof schema.additionalProperties === "object") {
        check(item, schema.additionalProperties, at(key), problems);
      } else if (schema.properties) problems.push({ path: at(key), message: "unknown field" });
    }
    for (const key of schema.required ?? []) {
      if (object[key] === undefined || object[key] === null) {
        problems.push({ path: at(key), message: "required field missing" });
      }
    }
  }
}

/** Every problem of `value` as a `root` (a Pod, or a bare PodSpec), in document order. */
export function podSchemaProblems(
  value: unknown,
  root: typeof POD | typeof POD_SPEC,
): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  check(value, { $ref: root }, "", problems);
  return problems;
}

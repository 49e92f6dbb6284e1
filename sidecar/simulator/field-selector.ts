import type { KubeObject } from "./object-types.ts";
import { badRequest } from "./status-error.ts";

/** Reads one selectable field of an object as the string the selector compares with. */
export type FieldGetter = (object: KubeObject) => string;

export interface FieldRequirement {
  field: string;
  operator: "=" | "!=";
  value: string;
}

export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
  readonly empty: boolean;
  matches(object: KubeObject): boolean;
}

const EVERYTHING: FieldSelector = { requirements: [], empty: true, matches: () => true };

/** Splits on unescaped commas; `\,`, `\=` and `\\` escape, as in the API server's parser. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (ch === "\\" && i + 1 < text.length) {
      current += ch + text.charAt(++i);
    } else if (ch === ",") {
      terms.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  terms.push(current);
  return terms;
}

function unescapeValue(text: string): string {
  return text.replace(/\\(.)/g, "$1");
}

/** The first unescaped occurrence of `operator` in `term`, or -1. */
function findOperator(term: string, operator: string): number {
  for (let i = 0; i < term.length; i++) {
    if (term.charAt(i) === "\\") {
      i++;
    } else if (term.startsWith(operator, i)) {
      return i;
    }
  }
  return -1;
}

/**
 * Parses a fieldSelector query parameter against the fields `getters` supports; throws a 400
 * StatusError for bad syntax or an unsupported field, as the API server does.
 */
export function parseFieldSelector(
  text: string | null | undefined,
  getters: Readonly<Record<string, FieldGetter>>,
): FieldSelector {
  if (!text?.trim()) return EVERYTHING;
  const requirements: FieldRequirement[] = [];
  for (const term of splitTerms(text)) {
    if (term === "") continue;
    let requirement: FieldRequirement | undefined;
    for (const [operator, normalized] of [
      ["!=", "!="],
      ["==", "="],
      ["=", "="],
    ] as const) {
      const at = findOperator(term, operator);
      if (at >= 0) {
        requirement = {
          field: term.slice(0, at).trim(),
          operator: normalized,
          value: unescapeValue(term.slice(at + operator.length)),
        };
        break;
      }
    }
    if (!requirement) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    if (!Object.hasOwn(getters, requirement.field)) {
      throw badRequest(`field label not supported: ${requirement.field}`);
    }
    requirements.push(requirement);
  }
  if (requirements.length === 0) return EVERYTHING;
  const compiled = requirements.map((requirement) => ({
    ...requirement,
    get: getters[requirement.field] as FieldGetter,
  }));
  return {
    requirements,
    empty: false,
    matches: (object) =>
      compiled.every(({ get, operator, value }) =>
        operator === "=" ? get(object) === value : get(object) !== value,
      ),
  };
}

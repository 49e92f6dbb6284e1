import { badRequest } from "./status-error.ts";

/**
 * Label selectors in the full string grammar of the API ("a=b,c!=d,e in (f,g),h notin (i),j,!k",
 * plus "l>1" and "l<1"), parsed once per request and matched against each object's labels.
 */
export interface LabelRequirement {
  key: string;
  operator: "=" | "!=" | "in" | "notin" | "exists" | "!" | ">" | "<";
  values: string[];
}

export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
  /** True when the selector selects everything (empty string). */
  readonly empty: boolean;
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

const EVERYTHING: LabelSelector = { requirements: [], empty: true, matches: () => true };

type Token =
  | { kind: "identifier"; text: string }
  | { kind: "operator"; text: string }
  | { kind: "punct"; text: "(" | ")" | "," | "!" };

const OPERATORS = ["==", "!=", "=", ">", "<"];
const IDENTIFIER_END = /[\s,()!=<>]/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const operator = OPERATORS.find((op) => text.startsWith(op, i));
    if (operator) {
      tokens.push({ kind: "operator", text: operator });
      i += operator.length;
    } else if (ch === "(" || ch === ")" || ch === "," || ch === "!") {
      tokens.push({ kind: "punct", text: ch });
      i++;
    } else {
      let end = i;
      while (end < text.length && !IDENTIFIER_END.test(text.charAt(end))) end++;
      tokens.push({ kind: "identifier", text: text.slice(i, end) });
      i = end;
    }
  }
  return tokens;
}

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label key, or undefined when it is. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  }
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function labelValueError(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63) return "must be no more than 63 characters";
  if (!LABEL_NAME.test(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
  }
  return undefined;
}

function parseError(detail: string) {
  return badRequest(`unable to parse requirement: ${detail}`);
}

/** Parses a labelSelector query parameter; throws a 400 StatusError on bad syntax. */
export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  if (!text?.trim()) return EVERYTHING;
  const tokens = tokenize(text);
  const requirements: LabelRequirement[] = [];
  let pos = 0;
  const peek = () => tokens[pos];
  const identifier = (what: string) => {
    const token = tokens[pos++];
    if (token?.kind !== "identifier") {
      throw parseError(`found '${token?.text ?? ""}', expected: ${what}`);
    }
    return token.text;
  };
  const checkKey = (key: string) => {
    const error = labelKeyError(key);
    if (error) throw parseError(`key: Invalid value: "${key}": ${error}`);
    return key;
  };
  const checkValue = (value: string) => {
    const error = labelValueError(value);
    if (error) throw parseError(`values[0]: Invalid value: "${value}": ${error}`);
    return value;
  };

  while (pos < tokens.length) {
    const first = peek();
    if (first?.kind === "punct" && first.text === "!") {
      pos++;
      requirements.push({
        key: checkKey(identifier("identifier after '!'")),
        operator: "!",
        values: [],
      });
    } else {
      const key = checkKey(identifier("identifier"));
      const next = peek();
      if (next === undefined || (next.kind === "punct" && next.text === ",")) {
        requirements.push({ key, operator: "exists", values: [] });
      } else if (next.kind === "operator") {
        pos++;
        const after = peek();
        // "a=" selects an empty value: the identifier is simply absent.
        const value = after?.kind === "identifier" ? identifier("value") : "";
        if ((next.text === ">" || next.text === "<") && !/^-?\d+$/.test(value)) {
          throw parseError(`for 'Gt', 'Lt' operators, the value must be an integer`);
        }
        const operator = next.text === "==" ? "=" : (next.text as LabelRequirement["operator"]);
        requirements.push({ key, operator, values: [checkValue(value)] });
      } else if (next.kind === "identifier" && (next.text === "in" || next.text === "notin")) {
        pos++;
        const open = tokens[pos++];
        if (open?.kind !== "punct" || open.text !== "(") {
          throw parseError(`found '${open?.text ?? ""}', expected: '('`);
        }
        const values: string[] = [];
        const closing = tokens[pos];
        if (closing?.kind === "punct" && closing.text === ")") {
          throw parseError(`for 'in', 'notin' operators, values set can't be empty`);
        }
        for (;;) {
          let token = tokens[pos];
          if (token?.kind === "identifier") {
            values.push(checkValue(token.text));
            token = tokens[++pos];
          } else {
            values.push("");
          }
          pos++;
          if (token?.kind === "punct" && token.text === ")") break;
          if (token?.kind !== "punct" || token.text !== ",") {
            throw parseError(`found '${token?.text ?? ""}', expected: ',', ')' or identifier`);
          }
        }
        requirements.push({ key, operator: next.text, values });
      } else {
        throw parseError(`found '${next.text}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    const separator = tokens[pos];
    if (separator === undefined) break;
    if (separator.kind !== "punct" || separator.text !== ",") {
      throw parseError(`found '${separator.text}', expected: ','`);
    }
    pos++;
    if (pos === tokens.length) throw parseError("found '', expected: identifier");
  }
  return {
    requirements,
    empty: false,
    matches: (labels) =>
      requirements.every((requirement) => matchesRequirement(requirement, labels)),
  };
}

function matchesRequirement(
  { key, operator, values }: LabelRequirement,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const has = labels !== undefined && Object.hasOwn(labels, key);
  const value = has ? labels[key] : undefined;
  switch (operator) {
    case "=":
      return has && value === values[0];
    case "!=":
      return !has || value !== values[0];
    case "in":
      return has && values.includes(value as string);
    case "notin":
      return !has || !values.includes(value as string);
    case "exists":
      return has;
    case "!":
      return !has;
    case ">":
    case "<": {
      if (!has || !/^-?\d+$/.test(value as string)) return false;
      const actual = Number(value);
      const bound = Number(values[0]);
      return operator === ">" ? actual > bound : actual < bound;
    }
  }
}

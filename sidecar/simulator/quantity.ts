/**
 * Kubernetes resource quantities ("500m", "2", "1.5Gi", "1e3") reduced to the integer units the
 * scheduler compares: millicores for cpu, bytes for memory, plain counts for the rest.
 */

const BINARY_SUFFIXES: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const DECIMAL_SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY = /^([+-]?[0-9.]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

/** The value of a quantity as a float, or undefined when it is not a valid quantity. */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text.trim());
  if (!match?.[1] || !/^[+-]?(\d+\.?\d*|\.\d+)$/.test(match[1])) return undefined;
  const number = Number(match[1]);
  if (match[2]) return number * 10 ** Number(match[2].slice(1));
  const suffix = match[3] ?? "";
  return number * (BINARY_SUFFIXES[suffix] ?? DECIMAL_SUFFIXES[suffix] ?? 1);
}

/** Integer units of a resource: millicores for cpu, whole units (bytes, pods) otherwise. */
export function resourceUnits(resource: string, text: string): number {
  const value = parseQuantity(text) ?? 0;
  return Math.ceil(resource === "cpu" ? value * 1000 : value);
}

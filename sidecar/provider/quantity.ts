// Kubernetes resource quantities ("500m", "2", "1.5Gi", "1e3"), parsed to plain numbers so that a
// template's ncpus and nram can be derived from its pod's resource requests.

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
const QUANTITY =
  /^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([eE][+-]?[0-9]+)|(n|u|m|k|M|G|T|P|E)?)$/;

/** The quantity's value in base units (cores, bytes), or undefined when it is not a quantity. */
export function parseQuantity(quantity: string | number): number | undefined {
  if (typeof quantity === "number") return Number.isFinite(quantity) ? quantity : undefined;
  const match = QUANTITY.exec(quantity.trim());
  if (!match) return undefined;
  const [, digits, binary, exponent, decimal] = match;
  const value = Number(digits);
  if (binary) return value * (BINARY_SUFFIXES[binary] as number);
  if (exponent) return value * 10 ** Number(exponent.slice(1));
  return value * (DECIMAL_SUFFIXES[decimal ?? ""] as number);
}

/** Quantities are exact to the nano-unit (the API server's smallest scale); 1 unit in nanos. */
const NANOS = 10n ** 9n;
const BINARY_POWERS: Record<string, bigint> = { Ki: 1n, Mi: 2n, Gi: 3n, Ti: 4n, Pi: 5n, Ei: 6n };
const DECIMAL_POWERS: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

/**
 * The quantity exactly, in nano-units (nanocores, nanobytes), rounded up as the API server rounds
 * anything finer; undefined when it is not a quantity. Quota arithmetic needs it exact: in floating
 * point 300m less 100m and 100m is not room for two more 100m machines.
 */
export function parseQuantityNanos(quantity: string | number): bigint | undefined {
  const text = typeof quantity === "number" ? String(quantity) : quantity.trim();
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const [, digits = "", binary, exponent, decimal] = match;
  const [whole = "", fraction = ""] = digits.replace(/^[+-]/, "").split(".");
  let numerator = BigInt(`${whole}${fraction}` || "0") * NANOS;
  let denominator = 10n ** BigInt(fraction.length);
  if (binary) numerator *= 1024n ** (BINARY_POWERS[binary] as bigint);
  else {
    const power = exponent ? Number(exponent.slice(1)) : (DECIMAL_POWERS[decimal ?? ""] as number);
    if (power >= 0) numerator *= 10n ** BigInt(power);
    else denominator *= 10n ** BigInt(-power);
  }
  const value = (numerator + denominator - 1n) / denominator;
  return digits.startsWith("-") ? -value : value;
}

const DECIMAL_SUFFIXES_BY_POWER: [bigint, string][] = [
  [18n, "E"],
  [15n, "P"],
  [12n, "T"],
  [9n, "G"],
  [6n, "M"],
  [3n, "k"],
  [0n, ""],
  [-3n, "m"],
  [-6n, "u"],
  [-9n, "n"],
];
const BINARY_SUFFIXES_BY_POWER: [bigint, string][] = [
  [6n, "Ei"],
  [5n, "Pi"],
  [4n, "Ti"],
  [3n, "Gi"],
  [2n, "Mi"],
  [1n, "Ki"],
];

/**
 * A quantity in nano-units written as the API server writes it: the largest suffix that keeps the
 * number whole ("200m", "2", "1k"); `binary` for one that came in binary units ("1536Mi", "1Gi"),
 * which, below 1024 or not a whole number, is written in decimal units as well.
 */
export function formatQuantityNanos(nanos: bigint, binary = false): string {
  if (nanos === 0n) return "0";
  const sign = nanos < 0n ? "-" : "";
  const value = nanos < 0n ? -nanos : nanos;
  if (binary && value % NANOS === 0n && value >= 1024n * NANOS) {
    const units = value / NANOS;
    for (const [power, suffix] of BINARY_SUFFIXES_BY_POWER) {
      const size = 1024n ** power;
      if (units % size === 0n) return `${sign}${units / size}${suffix}`;
    }
    return `${sign}${units}`;
  }
  for (const [power, suffix] of DECIMAL_SUFFIXES_BY_POWER) {
    const size = 10n ** (power + 9n);
    if (value % size === 0n) return `${sign}${value / size}${suffix}`;
  }
  return `${sign}${value}n`;
}

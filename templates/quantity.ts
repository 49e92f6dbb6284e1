// Kubernetes resource quantities ("500m", "2", "1.5Gi", "1e3"), parsed to plain numbers so that a
// template's ncpus and nram can be derived from its pod's resource requests.

/** Binary suffixes, as powers of 1024. */
const BINARY_POWERS: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
/** Decimal suffixes, as powers of 10. */
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
const QUANTITY =
  /^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([eE][+-]?[0-9]+)|(n|u|m|k|M|G|T|P|E)?)$/;

/** The quantity's value in base units (cores, bytes), or undefined when it is not a quantity. */
export function parseQuantity(quantity: string | number): number | undefined {
  if (typeof quantity === "number") return Number.isFinite(quantity) ? quantity : undefined;
  const match = QUANTITY.exec(quantity.trim());
  if (!match) return undefined;
  const [, digits, binary, exponent, decimal] = match;
  const value = Number(digits);
  if (binary) return value * 1024 ** (BINARY_POWERS[binary] as number);
  if (exponent) return value * 10 ** Number(exponent.slice(1));
  return value * 10 ** (DECIMAL_POWERS[decimal ?? ""] as number);
}

/** Quantities are exact to the nano-unit (the API server's smallest scale); 1 unit in nanos. */
const NANOS = 10n ** 9n;
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
  if (binary) numerator *= 1024n ** BigInt(BINARY_POWERS[binary] as number);
  else {
    const power = exponent ? Number(exponent.slice(1)) : (DECIMAL_POWERS[decimal ?? ""] as number);
    if (power >= 0) numerator *= 10n ** BigInt(power);
    else denominator *= 10n ** BigInt(-power);
  }
  const value = (numerator + denominator - 1n) / denominator;
  return digits.startsWith("-") ? -value : value;
}

/** Suffixes by power, largest first, for writing a quantity with the largest that fits. */
const byPowerDescending = (powers: Record<string, number>): [bigint, string][] =>
  Object.entries(powers)
    .sort(([, a], [, b]) => b - a)
    .map(([suffix, power]) => [BigInt(power), suffix]);
const DECIMAL_SUFFIXES_BY_POWER = byPowerDescending(DECIMAL_POWERS);
const BINARY_SUFFIXES_BY_POWER = byPowerDescending(BINARY_POWERS);

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

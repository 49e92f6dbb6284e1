import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatQuantityNanos,
  parseQuantity,
  parseQuantityNanos,
} from "../../templates/quantity.ts";

test("quantities parse in every suffix family", () => {
  const cases: [string | number, number | undefined][] = [
    ["500m", 0.5],
    ["2", 2],
    ["1.5", 1.5],
    [".5", 0.5],
    ["1Ki", 1024],
    ["2Gi", 2 * 2 ** 30],
    ["1G", 1e9],
    ["128974848", 128974848],
    ["1e3", 1000],
    ["129e6", 129e6],
    [4, 4],
    ["", undefined],
    ["1GB", undefined],
    ["abc", undefined],
    ["1.2.3", undefined],
  ];
  for (const [input, expected] of cases)
    assert.equal(parseQuantity(input), expected, String(input));
});

test("quantities parse exactly to nano-units, finer amounts rounded up", () => {
  const cases: [string | number, bigint | undefined][] = [
    ["100m", 100_000_000n],
    ["0.1", 100_000_000n],
    ["1e-1", 100_000_000n],
    ["2", 2_000_000_000n],
    ["1.5Gi", 1_610_612_736n * 10n ** 9n],
    ["1G", 10n ** 18n],
    ["1n", 1n],
    ["0.1n", 1n],
    ["1E", 10n ** 27n],
    [4, 4_000_000_000n],
    ["1GB", undefined],
  ];
  for (const [input, expected] of cases) {
    assert.equal(parseQuantityNanos(input), expected, String(input));
  }
});

test("quantities are written as the API server writes them", () => {
  const cases: [string, boolean, string][] = [
    ["0", false, "0"],
    ["200m", false, "200m"],
    ["0.5", false, "500m"],
    ["1000", false, "1k"],
    ["1500m", false, "1500m"],
    ["1Gi", true, "1Gi"],
    ["1.5Gi", true, "1536Mi"],
    ["1G", true, "1000000000"],
    ["1G", false, "1G"],
    ["512", true, "512"],
    ["100m", true, "100m"],
  ];
  for (const [input, binary, expected] of cases) {
    const nanos = parseQuantityNanos(input) as bigint;
    assert.equal(formatQuantityNanos(nanos, binary), expected, `${input} ${binary}`);
  }
});

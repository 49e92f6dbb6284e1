import assert from "node:assert/strict";
import { test } from "node:test";
import { parseQuantity } from "../../../sidecar/provider/quantity.ts";

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

import { describe, expect, it } from "vitest";
import { formatUsd, formatUsdExact, parseUsd, sumNanos, toNanos, usdLimit } from "../src/lib/money";

describe("formatUsd", () => {
  it.each([
    [0, "$0.00"],
    [1_000_000_000, "$1.00"],
    [1_234_567_890_123, "$1,234.57"],
    [1_234_564_999_999, "$1,234.56"],
    [12_345_000, "$0.0123"], // cents and up: four decimals under a dollar
    [12_345, "$0.000012"], // sub-cent: six decimals
    [5, "$0.000000"],
    [500, "$0.000001"], // half rounds away from zero
    [-2_500_000_000, "-$2.50"],
  ])("%s nanos → %s", (n, want) => {
    expect(formatUsd(n)).toBe(want);
  });

  it("takes explicit decimals and bigints", () => {
    expect(formatUsd(1_999_999_999n, 2)).toBe("$2.00");
    expect(formatUsd(123_456_789, 9)).toBe("$0.123456789");
    expect(formatUsd(9_007_199_254_740_991n * 1000n, 2)).toBe("$9,007,199,254.74");
  });

  it("refuses floats instead of rounding them silently", () => {
    expect(() => formatUsd(0.1)).toThrow(RangeError);
    expect(() => toNanos("1.5")).toThrow(RangeError);
  });
});

describe("exact sums", () => {
  it("adds nanos without float drift", () => {
    // 0.1 + 0.2 in dollars is 0.30000000000000004 as floats.
    expect(formatUsdExact(sumNanos([100_000_000, 200_000_000]))).toBe("$0.30");
    const many = Array.from({ length: 10_000 }, () => 123_456_789);
    expect(sumNanos(many)).toBe(1_234_567_890_000n);
    expect(formatUsdExact(sumNanos(many))).toBe("$1,234.56789");
  });

  it("formats every digit", () => {
    expect(formatUsdExact(12_345)).toBe("$0.000012345");
    expect(formatUsdExact(-1)).toBe("-$0.000000001");
    expect(formatUsdExact(3_000_000_000)).toBe("$3.00");
  });
});

describe("parseUsd", () => {
  it.each([
    ["25", 25_000_000_000n],
    ["$1,000.5", 1_000_500_000_000n],
    ["0.000000001", 1n],
    ["12.", 12_000_000_000n],
    ["abc", null],
    ["1.0000000001", null],
    ["-3", null],
    // An outsider's entries: exponents, commas out of place, a tenth of a nano-dollar.
    ["1e3", null],
    ["1,2,3", null],
    ["0.0000000004", null],
    ["1,234,567.891", 1_234_567_891_000_000n],
  ])("%s", (text, want) => {
    expect(parseUsd(text)).toBe(want);
  });
});

describe("usdLimit", () => {
  it.each([
    ["$1,234.5", 1234.5],
    ["0", 0],
    ["9007199.254740991", 9007199.254740991],
    ["1e3", null],
    [" ", null],
  ])("%s", (text, want) => {
    expect(usdLimit(text)).toBe(want);
  });
});

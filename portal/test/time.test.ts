import { describe, expect, it } from "vitest";
import { formatDateTime, formatHour, parseLocalInput, toLocalInput } from "../src/lib/time";
import { formatMs, formatPercent, successRate } from "../src/lib/format";

describe("times in the admin's zone", () => {
  const t = Date.UTC(2025, 2, 30, 0, 30, 0); // 2025-03-30 00:30 UTC, Europe's DST day

  it.each([
    ["UTC", "Mar 30, 2025, 00:30:00"],
    ["Europe/Berlin", "Mar 30, 2025, 01:30:00"], // still CET (+1) at 00:30 UTC
    ["America/New_York", "Mar 29, 2025, 20:30:00"], // EDT (-4), the day before
    ["Asia/Kolkata", "Mar 30, 2025, 06:00:00"], // +05:30
  ])("%s", (tz, want) => {
    expect(formatDateTime(t, tz)).toBe(want);
  });

  it("follows the DST switch", () => {
    const after = Date.UTC(2025, 2, 30, 1, 30, 0); // CEST (+2) from 01:00 UTC
    expect(formatDateTime(after, "Europe/Berlin")).toBe("Mar 30, 2025, 03:30:00");
    expect(formatHour(after, "Europe/Berlin")).toBe("Mar 30, 03:30");
  });

  it("round-trips datetime-local inputs in the browser zone", () => {
    const ms = new Date(2025, 0, 15, 13, 45).getTime();
    expect(toLocalInput(ms)).toBe("2025-01-15T13:45");
    expect(parseLocalInput("2025-01-15T13:45")).toBe(ms);
    expect(parseLocalInput("")).toBeUndefined();
  });
});

describe("numbers", () => {
  it("formats rates and latencies", () => {
    expect(successRate(0, 0)).toBe("—");
    expect(successRate(955, 1000)).toBe("95.50%");
    expect(formatPercent(0.0123)).toBe("1.23%");
    expect(formatMs(950)).toBe("950 ms");
    expect(formatMs(12_345)).toBe("12.3 s");
    expect(formatMs(null)).toBe("> 64 s");
  });
});

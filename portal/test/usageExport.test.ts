import { describe, expect, it } from "vitest";
import type { SeriesPoint } from "../src/data/api";
import { usageCsv, usageFileName, usageJson } from "../src/pages/usage/UsageExport";

const point = (periodKey: string, periodStart: number, costNanoUsd: number): SeriesPoint => ({
  periodKey,
  periodStart,
  requests: 3,
  successful: 2,
  failed: 1,
  promptTokens: 10,
  completionTokens: 5,
  totalTokens: 15,
  costNanoUsd,
  costUsd: costNanoUsd / 1e9,
  avgProcessingMs: 400,
});

describe("usage export", () => {
  // Out of order on purpose: the file is oldest first.
  const points = [point("2024-01-16", Date.UTC(2024, 0, 16), 7), point("2024-01-15", Date.UTC(2024, 0, 15), 1_000_000_001)];

  it("writes one CSV row per period, labelled by its period key, cost exact", () => {
    expect(usageCsv(points)).toBe(
      "periodKey,periodStart,requests,successful,failed,promptTokens,completionTokens,totalTokens,costUsd,avgProcessingMs\n" +
        "2024-01-15,2024-01-15T00:00:00.000Z,3,2,1,10,5,15,1.000000001,400\n" +
        "2024-01-16,2024-01-16T00:00:00.000Z,3,2,1,10,5,15,0.000000007,400\n",
    );
  });

  it("prefixes a period key that a spreadsheet would run with ', numbers untouched", () => {
    expect(usageCsv([point("=1+1", Date.UTC(2024, 0, 15), 7)]).split("\n")[1]).toBe(
      "'=1+1,2024-01-15T00:00:00.000Z,3,2,1,10,5,15,0.000000007,400",
    );
  });

  it("writes the window, zone, filter and points as JSON", () => {
    const j = JSON.parse(usageJson({ from: Date.UTC(2024, 0, 15), to: Date.UTC(2024, 0, 17), period: "daily", timeZone: "UTC", modelSlug: "m/a", points }));
    expect(j).toEqual({
      from: "2024-01-15T00:00:00.000Z",
      to: "2024-01-17T00:00:00.000Z",
      timeZone: "UTC",
      period: "daily",
      modelSlug: "m/a",
      points: [points[1], points[0]],
    });
  });
});

describe("usage export file name", () => {
  // The reporting days the window covers, both included, as the range picker
  // shows them: the window's start is midnight of its first day in the
  // reporting zone, which in Kolkata (+05:30) is the UTC day before, and its
  // end is the start of the day after the last.
  it.each([
    ["UTC", Date.UTC(2024, 0, 1), Date.UTC(2024, 1, 1), "usage-daily-2024-01-01-2024-01-31.csv"],
    ["Asia/Kolkata", Date.parse("2023-12-31T18:30:00Z"), Date.parse("2024-01-31T18:30:00Z"), "usage-daily-2024-01-01-2024-01-31.csv"],
    ["America/Los_Angeles", Date.parse("2024-01-01T08:00:00Z"), Date.parse("2024-02-01T08:00:00Z"), "usage-daily-2024-01-01-2024-01-31.csv"],
    ["Pacific/Kiritimati", Date.parse("2023-12-31T10:00:00Z"), Date.parse("2024-01-01T10:00:00Z"), "usage-daily-2024-01-01-2024-01-01.csv"],
  ])("%s", (timeZone, from, to, want) => {
    expect(usageFileName({ from, to, period: "daily", timeZone, points: [] }, "csv")).toBe(want);
  });

  it("names the user or model filtered on", () => {
    const v = { from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 0, 2), period: "hourly", timeZone: "UTC", points: [] };
    expect(usageFileName({ ...v, modelSlug: "openai/gpt-4o:free" }, "json")).toBe("usage-hourly-2024-01-01-2024-01-01-model-openai_gpt-4o_free.json");
    expect(usageFileName({ ...v, userId: "u_1" }, "csv")).toBe("usage-hourly-2024-01-01-2024-01-01-user-u_1.csv");
  });
});

import { describe, expect, it } from "vitest";
import type { SeriesPoint } from "../src/data/api";
import { usageCsv, usageJson } from "../src/pages/usage/UsageExport";

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

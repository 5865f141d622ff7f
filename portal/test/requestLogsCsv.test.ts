import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { RequestLog } from "../src/data/api";
import { csvLine, nanosToUsdText, REQUEST_LOG_COLUMNS, requestLogRecord } from "../src/pages/requests/requestLogsCsv";

// The Go export's golden files (internal/adminapi/export_golden_test.go):
// Convex mode's CSV must be byte for byte the service's.
// vitest runs from portal/ (npm test).
const testdata = (name: string) => resolve(process.cwd(), "../internal/adminapi/testdata", name);

describe("request-log CSV", () => {
  it("writes the same bytes as the service's export", () => {
    const page = JSON.parse(readFileSync(testdata("requestlogs_page.json"), "utf8")) as { page: RequestLog[] };
    const csv = csvLine(REQUEST_LOG_COLUMNS) + page.page.map((r) => csvLine(requestLogRecord(r))).join("");
    expect(csv).toBe(readFileSync(testdata("requestlogs.csv"), "utf8"));
  });

  it("formats nano-USD exactly", () => {
    expect(nanosToUsdText(0)).toBe("0.000000000");
    expect(nanosToUsdText(7)).toBe("0.000000007");
    expect(nanosToUsdText(1_000_000_000)).toBe("1.000000000");
    expect(nanosToUsdText(-1_234_567_891)).toBe("-1.234567891");
    expect(nanosToUsdText(Number.MAX_SAFE_INTEGER)).toBe("9007199.254740991");
    expect(() => nanosToUsdText(0.5)).toThrow(RangeError);
  });
});

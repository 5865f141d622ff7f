/**
 * The request-log CSV, as the service's export endpoint writes it
 * (internal/adminapi/export.go, RequestLogColumns and RequestLogRecord):
 * Convex mode builds the same file in the browser from the same pages. A
 * golden file (internal/adminapi/testdata/) holds both writers to the same
 * bytes.
 */
import type { RequestLog } from "../../data/api";
import { csvSafeText } from "../../lib/csvSafe";

export const REQUEST_LOG_COLUMNS = [
  "time", "requestId", "status", "statusCode", "userId", "apiKeyId", "conversationId", "messageId", "model",
  "generationId", "promptTokens", "completionTokens", "totalTokens", "cachedTokens", "reasoningTokens",
  "costUsd", "costStatus", "processingTimeMs", "timeToFirstTokenMs", "requestSize", "responseSize",
  "errorType", "errorMessage", "method", "endpoint", "userAgent", "ipAddress",
] as const;

/** The most rows one export holds (ExportMaxRows). */
export const EXPORT_MAX_ROWS = 1_000_000;

const text = (v: string | number | undefined) => (v === undefined ? "" : String(v));

/** Exact USD with nine decimals from integer nano-USD, as Go's money.Nanos.String. */
export function nanosToUsdText(nanos: number): string {
  if (!Number.isSafeInteger(nanos)) throw new RangeError(`not an exact nano amount: ${nanos}`);
  let s = String(Math.abs(nanos));
  if (s.length <= 9) s = "0".repeat(10 - s.length) + s;
  return `${nanos < 0 ? "-" : ""}${s.slice(0, -9)}.${s.slice(-9)}`;
}

/**
 * One row's fields in REQUEST_LOG_COLUMNS order. Text cells go through
 * csvSafeText (ids, models, user agents and error messages come from
 * callers), numbers stay raw, as in the service's RequestLogRecord.
 */
export function requestLogRecord(r: RequestLog): string[] {
  const u = r.usage;
  const t = (v: string | undefined) => csvSafeText(text(v));
  return [
    new Date(r.timestamp).toISOString(), t(r.requestId), t(r.status), text(r.statusCode), t(r.userId), t(r.apiKeyId),
    t(r.conversationId), t(r.messageId), t(r.model), t(r.generationId), text(u?.promptTokens),
    text(u?.completionTokens), text(u?.totalTokens), text(u?.cachedTokens), text(u?.reasoningTokens),
    u === undefined ? "" : nanosToUsdText(u.costNanoUsd), t(u?.costStatus), text(r.processingTime),
    text(r.timeToFirstToken), text(r.requestSize), text(r.responseSize), t(r.errorType), t(r.errorMessage),
    t(r.method), t(r.endpoint), t(r.userAgent), t(r.ipAddress),
  ];
}

// Go's unicode.IsSpace: a field starting with one is quoted (encoding/csv).
const LEADING_SPACE = /^[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/;

/** One CSV line with its "\n", quoted exactly where Go's encoding/csv quotes. */
export function csvLine(fields: readonly string[]): string {
  return (
    fields
      .map((f) => {
        if (f === "") return f;
        if (f === "\\." || /[",\r\n]/.test(f) || LEADING_SPACE.test(f)) return `"${f.replace(/"/g, '""')}"`;
        return f;
      })
      .join(",") + "\n"
  );
}

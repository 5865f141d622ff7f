import type { SeriesPoint } from "../../data/api";
import { dateKeyOf } from "../../lib/calendar";
import { csvSafeText } from "../../lib/csvSafe";
import { downloadText } from "../../lib/download";
import { csvLine, nanosToUsdText } from "../requests/requestLogsCsv";

/** What the Usage page shows: the window, its period and filter, and the series. */
export interface UsageView {
  from: number;
  to: number;
  period: string;
  timeZone: string | undefined;
  userId?: string;
  modelSlug?: string;
  points: SeriesPoint[];
}

export const USAGE_COLUMNS = [
  "periodKey", "periodStart", "requests", "successful", "failed", "promptTokens", "completionTokens", "totalTokens",
  "costUsd", "avgProcessingMs",
] as const;

/**
 * The series as CSV, one row per period in the reporting time zone (its
 * periodKey, as reports and the CLI name it), oldest first; cost exact from
 * nano-USD. The window and filter are in the file name.
 */
export function usageCsv(points: SeriesPoint[]): string {
  const rows = [...points].sort((a, b) => a.periodStart - b.periodStart);
  return (
    csvLine(USAGE_COLUMNS) +
    rows
      .map((p) =>
        csvLine([
          csvSafeText(p.periodKey), new Date(p.periodStart).toISOString(), String(p.requests), String(p.successful), String(p.failed),
          String(p.promptTokens), String(p.completionTokens), String(p.totalTokens), nanosToUsdText(p.costNanoUsd),
          String(p.avgProcessingMs),
        ]),
      )
      .join("")
  );
}

/** The view as JSON: the window, period, filter and every point as the function answered it. */
export function usageJson(v: UsageView): string {
  return JSON.stringify(
    {
      from: new Date(v.from).toISOString(),
      to: new Date(v.to).toISOString(),
      timeZone: v.timeZone ?? null,
      period: v.period,
      ...(v.userId !== undefined ? { userId: v.userId } : {}),
      ...(v.modelSlug !== undefined ? { modelSlug: v.modelSlug } : {}),
      points: [...v.points].sort((a, b) => a.periodStart - b.periodStart),
    },
    null,
    2,
  );
}

/**
 * "usage-daily-2024-01-01-2024-01-31.csv": the first and the last reporting
 * day the window covers (both included, as the range picker names them),
 * in the reporting zone, never the UTC dates of its ends.
 */
export function usageFileName(v: UsageView, ext: string): string {
  const tz = v.timeZone ?? "UTC";
  const scope = v.userId !== undefined ? `-user-${v.userId}` : v.modelSlug !== undefined ? `-model-${v.modelSlug.replace(/[^\w.-]+/g, "_")}` : "";
  return `usage-${v.period}-${dateKeyOf(v.from, tz)}-${dateKeyOf(Math.max(v.from, v.to - 1), tz)}${scope}.${ext}`;
}

/** "Export CSV" and "Export JSON" of the series the page shows. */
export function UsageExport({ view }: { view: UsageView | undefined }) {
  return (
    <span className="downloads">
      <button
        type="button"
        className="btn"
        disabled={!view}
        onClick={() => view && downloadText(usageFileName(view, "csv"), usageCsv(view.points), "text/csv;charset=utf-8")}
      >
        Export usage CSV
      </button>
      <button
        type="button"
        className="btn"
        disabled={!view}
        onClick={() => view && downloadText(usageFileName(view, "json"), usageJson(view), "application/json")}
      >
        Export usage JSON
      </button>
    </span>
  );
}

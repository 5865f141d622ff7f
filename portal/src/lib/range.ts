import { HOUR_MS } from "./time";
import { parseDateKey, startOfDay, startOfHour, wallOf } from "./calendar";

/**
 * The time ranges the pages offer. "today", "7d", "30d", "month" and
 * "lastmonth" are calendar periods in the reporting time zone (the zone of
 * the periodKeys), "24h" the last 24 whole hours, "custom" whole reporting
 * days from one date to another (both included), "all" no window (Requests).
 */
export type RangeKey = "today" | "24h" | "7d" | "30d" | "month" | "lastmonth" | "custom" | "all";

export type RangeSpec = { key: Exclude<RangeKey, "custom"> } | { key: "custom"; from: string; to: string };

export const RANGES: { key: RangeKey; label: string }[] = [
  { key: "today", label: "Today" },
  { key: "24h", label: "24 h" },
  { key: "7d", label: "7 d" },
  { key: "30d", label: "30 d" },
  { key: "month", label: "This month" },
  { key: "lastmonth", label: "Last month" },
  { key: "custom", label: "Custom" },
  { key: "all", label: "Any time" },
];

export interface Window {
  from: number;
  to: number;
}

/**
 * The window of a range at `now` in the reporting zone `tz`, or null for
 * "all" and for a custom range whose dates are not valid. Every end is the
 * start of a reporting period (hour or day), so the admin functions'
 * whole-period rule keeps every hour or day the range covers (weeks and
 * months: wholePeriods), and the arguments change only when the hour or the
 * day does. Calendar ranges end at the start of the next day, so today
 * counts.
 */
export function windowFor(spec: RangeSpec, now: number, tz: string): Window | null {
  const w = wallOf(now, tz);
  const day = (offset: number) => startOfDay(w.y, w.mo, w.d + offset, tz);
  switch (spec.key) {
    case "24h": {
      const to = startOfHour(now, tz) + HOUR_MS;
      return { from: to - 24 * HOUR_MS, to };
    }
    case "today":
      return { from: day(0), to: day(1) };
    case "7d":
      return { from: day(-6), to: day(1) };
    case "30d":
      return { from: day(-29), to: day(1) };
    case "month":
      return { from: startOfDay(w.y, w.mo, 1, tz), to: startOfDay(w.y, w.mo + 1, 1, tz) };
    case "lastmonth":
      return { from: startOfDay(w.y, w.mo - 1, 1, tz), to: startOfDay(w.y, w.mo, 1, tz) };
    case "custom": {
      const a = parseDateKey(spec.from);
      const b = parseDateKey(spec.to);
      if (!a || !b || spec.from > spec.to) return null;
      return { from: startOfDay(a[0], a[1], a[2], tz), to: startOfDay(b[0], b[1], b[2] + 1, tz) };
    }
    case "all":
      return null;
  }
}

/**
 * The window a weekly or monthly series needs to show every week or month
 * that `win` touches: the admin functions return the periods that start in
 * the window, so a range from a Tuesday, or "30 d" by month, would lose its
 * first period. It runs from the start of the week (Monday, as the server's
 * periods) or month holding `win.from` to the end of the one holding the
 * window's last instant, in the reporting zone. Hourly and daily windows
 * are whole already (windowFor).
 */
export function wholePeriods(win: Window, period: "hourly" | "daily" | "weekly" | "monthly", tz: string): Window {
  if (period !== "weekly" && period !== "monthly") return win;
  const bounds = (ts: number): Window => {
    const w = wallOf(ts, tz);
    if (period === "monthly") return { from: startOfDay(w.y, w.mo, 1, tz), to: startOfDay(w.y, w.mo + 1, 1, tz) };
    const monday = w.d - ((new Date(Date.UTC(w.y, w.mo - 1, w.d)).getUTCDay() + 6) % 7);
    return { from: startOfDay(w.y, w.mo, monday, tz), to: startOfDay(w.y, w.mo, monday + 7, tz) };
  };
  return { from: bounds(win.from).from, to: bounds(win.to - 1).to };
}

const KEYS = new Set<string>(RANGES.map((r) => r.key));

/** The range in a query string (?range=custom&from=2024-01-01&to=2024-01-31), or `dflt`. */
export function parseRange(params: URLSearchParams, dflt: RangeSpec): RangeSpec {
  const key = params.get("range");
  if (key === null || !KEYS.has(key)) return dflt;
  if (key === "custom") {
    const from = params.get("from") ?? "";
    const to = params.get("to") ?? "";
    return parseDateKey(from) && parseDateKey(to) && from <= to ? { key, from, to } : dflt;
  }
  return { key: key as Exclude<RangeKey, "custom"> };
}

/** The query parameters of a range (undefined removes a parameter). */
export function rangeParams(spec: RangeSpec): Record<string, string | undefined> {
  return spec.key === "custom" ? { range: "custom", from: spec.from, to: spec.to } : { range: spec.key, from: undefined, to: undefined };
}

export function sameRange(a: RangeSpec, b: RangeSpec): boolean {
  return a.key === b.key && (a.key !== "custom" || (b.key === "custom" && a.from === b.from && a.to === b.to));
}

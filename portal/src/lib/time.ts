/**
 * Times are shown in the admin's browser time zone (or an explicit one, for
 * tests). Timestamps are ms since the epoch.
 */

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

const cache = new Map<string, Intl.DateTimeFormat>();
function fmt(key: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", opts);
    cache.set(key, f);
  }
  return f;
}

/** "Mar 31, 2025, 15:04:05" in timeZone (default: the browser's). */
export function formatDateTime(ms: number, timeZone = browserTimeZone()): string {
  return fmt(`dt|${timeZone}`, {
    timeZone, year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  }).format(ms);
}

/** "Mar 31, 15:00" — chart labels for hourly points. */
export function formatHour(ms: number, timeZone = browserTimeZone()): string {
  return fmt(`h|${timeZone}`, {
    timeZone, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).format(ms);
}

/** "Mar 31, 2025" */
export function formatDate(ms: number, timeZone = browserTimeZone()): string {
  return fmt(`d|${timeZone}`, { timeZone, year: "numeric", month: "short", day: "numeric" }).format(ms);
}

/** "Mar 2025" */
export function formatMonth(ms: number, timeZone = browserTimeZone()): string {
  return fmt(`m|${timeZone}`, { timeZone, year: "numeric", month: "short" }).format(ms);
}

/** "5 min ago", "3 h ago", "2 d ago"; "just now" under a minute. */
export function formatRelative(ms: number, now = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** The value of an <input type="datetime-local"> (browser zone) as ms, or undefined. */
export function parseLocalInput(value: string): number | undefined {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

/** ms → "2025-03-31T15:04" for an <input type="datetime-local"> (browser zone). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/**
 * Instants (a request's time, an alert's) are shown in the admin's browser
 * time zone (or an explicit one, for tests). Reporting periods are not: they
 * are labelled from their periodKey (labelOfPeriodKey), which is in the
 * reporting time zone, so the portal agrees with reports and the CLI
 * whatever the browser's zone. Timestamps are ms since the epoch.
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

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * The label of a reporting period, from its periodKey alone (never from a
 * timestamp, which would be formatted in the browser's zone):
 * "2024-01-15T13" → "Jan 15, 13:00"; "2024-01-15" → "Jan 15, 2024";
 * "2024-W03" → "Week 3, 2024"; "2024-01" → "Jan 2024". An unknown shape is
 * shown as it is.
 */
export function labelOfPeriodKey(key: string): string {
  const mon = (mm: string) => MONTHS[Number(mm) - 1] ?? mm;
  let m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})$/.exec(key);
  if (m) return `${mon(m[2])} ${Number(m[3])}, ${m[4]}:00`;
  m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(key);
  if (m) return `${mon(m[2])} ${Number(m[3])}, ${m[1]}`;
  m = /^(\d{4})-W(\d{2})$/.exec(key);
  if (m) return `Week ${Number(m[2])}, ${m[1]}`;
  m = /^(\d{4})-(\d{2})$/.exec(key);
  if (m) return `${mon(m[2])} ${m[1]}`;
  return key;
}

/**
 * Calendar arithmetic in the reporting time zone (REPORTING_TZ, told by
 * llmmeter:settings), by the same rule as the engines (packages/convex/src/lib/periods.ts,
 * internal/periods): a period starts at the first instant whose wall-clock
 * time in the zone is its start; when that wall time falls in a DST gap, at
 * the first instant after the gap. Nothing here uses the browser's zone.
 */

const DAY = 86_400_000;
const fmts = new Map<string, Intl.DateTimeFormat>();

function fmt(timeZone: string): Intl.DateTimeFormat {
  let f = fmts.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    fmts.set(timeZone, f);
  }
  return f;
}

export interface Wall {
  y: number;
  mo: number; // 1..12
  d: number;
  h: number;
  mi: number;
  s: number;
}

/** The wall-clock fields of an instant in timeZone. */
export function wallOf(ts: number, timeZone: string): Wall {
  const f: Record<string, number> = {};
  for (const p of fmt(timeZone).formatToParts(new Date(ts))) if (p.type !== "literal") f[p.type] = Number(p.value);
  return { y: f.year, mo: f.month, d: f.day, h: f.hour % 24, mi: f.minute, s: f.second };
}

/** The wall-clock time of an instant in timeZone, encoded as if it were UTC. */
function wallMs(ts: number, timeZone: string): number {
  const w = wallOf(ts, timeZone);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s, ((ts % 1000) + 1000) % 1000);
}

/** The first instant whose wall time in timeZone is `wall` (UTC-encoded), or the first after a DST gap. */
export function startOfWall(wall: number, timeZone: string): number {
  let best: number | undefined;
  const candidates = [wall - DAY, wall, wall + DAY].map((probe) => wall - (wallMs(probe, timeZone) - probe));
  for (const c of candidates) if (wallMs(c, timeZone) === wall && (best === undefined || c < best)) best = c;
  if (best !== undefined) return best;
  let lo = Math.min(...candidates) - DAY;
  let hi = Math.max(...candidates) + DAY;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallMs(mid, timeZone) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Start of the local day y-mo-d (mo 1-based; overflowing days roll over as in Date.UTC). */
export function startOfDay(y: number, mo: number, d: number, timeZone: string): number {
  return startOfWall(Date.UTC(y, mo - 1, d), timeZone);
}

/** Start of the local hour containing ts. */
export function startOfHour(ts: number, timeZone: string): number {
  const w = wallOf(ts, timeZone);
  return ts - (w.mi * 60 + w.s) * 1000 - (((ts % 1000) + 1000) % 1000);
}

/** "2024-01-15" → [2024, 1, 15] if it is a real date, else null. */
export function parseDateKey(key: string): [number, number, number] | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(key);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return null;
  return [y, mo, d];
}

/** The local date key ("2024-01-15") of an instant in timeZone. */
export function dateKeyOf(ts: number, timeZone: string): string {
  const w = wallOf(ts, timeZone);
  return `${String(w.y).padStart(4, "0")}-${String(w.mo).padStart(2, "0")}-${String(w.d).padStart(2, "0")}`;
}

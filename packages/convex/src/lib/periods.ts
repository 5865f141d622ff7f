/**
 * Reporting periods in the reporting time zone (env REPORTING_TZ, default
 * "UTC"), computed with Intl so that Convex, Node and browsers agree.
 *
 * A period is identified by its `periodStart` (ms since the epoch, the first
 * instant whose local wall-clock time is inside the period); `periodKey` is its
 * display label:
 * - hourly  "2024-01-15T13": the local hour. During a DST fall-back the
 *   repeated local hour is two periods with the same key and different
 *   periodStart (periodStart is the identity, the key is a label).
 * - daily   "2024-01-15": the local calendar day (23, 24 or 25 hours long).
 * - weekly  "2024-W03": the ISO-8601 week (Monday start) of the local date;
 *   the year is the ISO week-year ("2020-W53", "2025-W01" on 2024-12-30).
 * - monthly "2024-01": the local calendar month.
 * When local midnight does not exist (a DST gap at 00:00) the day starts at
 * the first existing instant of that date.
 */
import { ConvexError } from "convex/values";
import { envVar } from "./env";

export const PERIODS = ["hourly", "daily", "weekly", "monthly"] as const;
export type Period = (typeof PERIODS)[number];

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Nominal period lengths, used only to bound the number of points of a series. */
export const NOMINAL_PERIOD_MS: Record<Period, number> = {
  hourly: HOUR,
  daily: DAY,
  weekly: 7 * DAY,
  monthly: 31 * DAY,
};

export type PeriodInfo = { period: Period; periodKey: string; periodStart: number };

type Wall = { y: number; mo: number; d: number; h: number; mi: number; s: number; ms: number };

const pad2 = (n: number) => String(n).padStart(2, "0");
const pad4 = (n: number) => String(n).padStart(4, "0");

/** Period arithmetic for one IANA time zone. Construct through {@link calendar}. */
export class ReportingCalendar {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly startCache = new Map<number, number>();
  private readonly hourCache = new Map<string, number>();

  constructor(readonly timeZone: string) {
    this.fmt = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
  }

  /** Local wall-clock fields of an instant. */
  wall(ts: number): Wall {
    const f: Record<string, number> = {};
    for (const part of this.fmt.formatToParts(new Date(ts))) {
      if (part.type !== "literal") f[part.type] = Number(part.value);
    }
    const ms = ((ts % 1000) + 1000) % 1000;
    return { y: f["year"]!, mo: f["month"]!, d: f["day"]!, h: f["hour"]! % 24, mi: f["minute"]!, s: f["second"]!, ms };
  }

  /** Local wall-clock time of an instant, encoded as if it were UTC. */
  wallMs(ts: number): number {
    const w = this.wall(ts);
    return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s, w.ms);
  }

  /**
   * The first instant whose local wall-clock time is `wall` (encoded as UTC
   * ms), or, when that wall time falls in a DST gap, the first instant after
   * the gap.
   */
  startOfWall(wall: number): number {
    const cached = this.startCache.get(wall);
    if (cached !== undefined) return cached;
    const candidates = new Set<number>();
    for (const probe of [wall - DAY, wall, wall + DAY]) candidates.add(wall - (this.wallMs(probe) - probe));
    let best: number | undefined;
    for (const c of candidates) if (this.wallMs(c) === wall && (best === undefined || c < best)) best = c;
    if (best === undefined) {
      // DST gap: binary-search the first instant whose wall time is >= wall.
      let lo = Math.min(...candidates) - DAY; // wall(lo) < wall
      let hi = Math.max(...candidates) + DAY; // wall(hi) >= wall
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (this.wallMs(mid) >= wall) hi = mid;
        else lo = mid;
      }
      best = hi;
    }
    if (this.startCache.size > 10_000) this.startCache.clear();
    this.startCache.set(wall, best);
    return best;
  }

  /**
   * Start of the local hour containing `ts` (wall fields `w`): the instant its
   * wall clock showed :00 at ts's UTC offset, unless the offset changed since
   * (a half-hour DST shift, as in Australia/Lord_Howe, where clocks go from
   * 02:00 back to 01:30): then the hour began at the change, found by
   * bisection, so that hours never overlap. The Go calendar
   * (internal/periods) computes the same instant.
   */
  private hourStart(ts: number, w: Wall): number {
    const start = ts - ((w.mi * 60 + w.s) * 1000 + w.ms);
    if (start === ts) return ts;
    const off = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s, w.ms) - ts;
    const key = `${start}/${off}`;
    const cached = this.hourCache.get(key);
    if (cached !== undefined) return cached;
    let found = start;
    if (this.wallMs(start) - start !== off) {
      let lo = start; // offset differs
      let hi = ts; // offset is off
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (this.wallMs(mid) - mid === off) hi = mid;
        else lo = mid;
      }
      found = hi;
    }
    if (this.hourCache.size > 10_000) this.hourCache.clear();
    this.hourCache.set(key, found);
    return found;
  }

  /** The four periods containing `ts`. */
  periodsOf(ts: number): Record<Period, PeriodInfo> {
    const w = this.wall(ts);
    const hourStart = this.hourStart(ts, w);
    const dayWall = Date.UTC(w.y, w.mo - 1, w.d);
    const dow = (new Date(dayWall).getUTCDay() + 6) % 7; // Monday = 0
    const mondayWall = dayWall - dow * DAY;
    const thursday = new Date(mondayWall + 3 * DAY);
    const isoYear = thursday.getUTCFullYear();
    const week = 1 + Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * DAY));
    const date = `${pad4(w.y)}-${pad2(w.mo)}-${pad2(w.d)}`;
    return {
      hourly: { period: "hourly", periodKey: `${date}T${pad2(w.h)}`, periodStart: hourStart },
      daily: { period: "daily", periodKey: date, periodStart: this.startOfWall(dayWall) },
      weekly: {
        period: "weekly",
        periodKey: `${pad4(isoYear)}-W${pad2(week)}`,
        periodStart: this.startOfWall(mondayWall),
      },
      monthly: {
        period: "monthly",
        periodKey: `${pad4(w.y)}-${pad2(w.mo)}`,
        periodStart: this.startOfWall(Date.UTC(w.y, w.mo - 1, 1)),
      },
    };
  }

  /** The period of kind `period` containing `ts`. */
  periodOf(period: Period, ts: number): PeriodInfo {
    return this.periodsOf(ts)[period];
  }

  /** Start of the period after the one containing `ts` (daily or monthly). */
  nextStart(period: "daily" | "monthly", ts: number): number {
    const w = this.wall(ts);
    return period === "daily"
      ? this.startOfWall(Date.UTC(w.y, w.mo - 1, w.d + 1))
      : this.startOfWall(Date.UTC(w.y, w.mo, 1));
  }
}

const calendars = new Map<string, ReportingCalendar>();

/** The calendar of a time zone; throws RangeError for an unknown zone. */
export function calendar(timeZone: string): ReportingCalendar {
  let c = calendars.get(timeZone);
  if (!c) {
    c = new ReportingCalendar(timeZone);
    calendars.set(timeZone, c);
  }
  return c;
}

/** The reporting time zone from env REPORTING_TZ (default "UTC"), or null if invalid. */
export function reportingTimeZone(): string | null {
  const tz = envVar("REPORTING_TZ") || "UTC";
  try {
    calendar(tz);
    return tz;
  } catch {
    return null;
  }
}

/** The reporting calendar; throws ConvexError code "misconfigured" for an invalid REPORTING_TZ. */
export function reportingCalendar(): ReportingCalendar {
  const tz = reportingTimeZone();
  if (tz === null) {
    throw new ConvexError({ code: "misconfigured", message: "REPORTING_TZ is not a valid IANA time zone" });
  }
  return calendar(tz);
}

/** Period keys and starts at boundaries, in UTC and non-UTC reporting time zones (incl. DST). */
import { afterEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import { calendar } from "../packages/convex/src/lib/periods";
import { ADMIN, makeUsers, newBackend, post, requestLog, SECRET, usage } from "./test.setup";

const iso = (ms: number) => new Date(ms).toISOString();
function periods(tz: string, at: string) {
  const p = calendar(tz).periodsOf(Date.parse(at));
  return [p.hourly, p.daily, p.weekly, p.monthly].map((x) => [x.periodKey, iso(x.periodStart)]);
}

describe("period keys", () => {
  test.each([
    // [time zone, instant, [hourly, daily, weekly, monthly] as [key, start]]
    // an ordinary instant
    ["UTC", "2024-01-15T13:45:12.345Z", [["2024-01-15T13", "2024-01-15T13:00:00.000Z"], ["2024-01-15", "2024-01-15T00:00:00.000Z"], ["2024-W03", "2024-01-15T00:00:00.000Z"], ["2024-01", "2024-01-01T00:00:00.000Z"]]],
    // last ms of a year: ISO week belongs to the next week-year
    ["UTC", "2024-12-31T23:59:59.999Z", [["2024-12-31T23", "2024-12-31T23:00:00.000Z"], ["2024-12-31", "2024-12-31T00:00:00.000Z"], ["2025-W01", "2024-12-30T00:00:00.000Z"], ["2024-12", "2024-12-01T00:00:00.000Z"]]],
    // first ms of a year
    ["UTC", "2025-01-01T00:00:00.000Z", [["2025-01-01T00", "2025-01-01T00:00:00.000Z"], ["2025-01-01", "2025-01-01T00:00:00.000Z"], ["2025-W01", "2024-12-30T00:00:00.000Z"], ["2025-01", "2025-01-01T00:00:00.000Z"]]],
    // a Sunday in week 53 of the previous week-year
    ["UTC", "2021-01-03T12:00:00Z", [["2021-01-03T12", "2021-01-03T12:00:00.000Z"], ["2021-01-03", "2021-01-03T00:00:00.000Z"], ["2020-W53", "2020-12-28T00:00:00.000Z"], ["2021-01", "2021-01-01T00:00:00.000Z"]]],
    // leap day, last hour
    ["UTC", "2024-02-29T23:00:00Z", [["2024-02-29T23", "2024-02-29T23:00:00.000Z"], ["2024-02-29", "2024-02-29T00:00:00.000Z"], ["2024-W09", "2024-02-26T00:00:00.000Z"], ["2024-02", "2024-02-01T00:00:00.000Z"]]],
    // Berlin: UTC midnight of New Year is already 01:00 local; month starts at 23:00Z
    ["Europe/Berlin", "2024-01-01T00:00:00Z", [["2024-01-01T01", "2024-01-01T00:00:00.000Z"], ["2024-01-01", "2023-12-31T23:00:00.000Z"], ["2024-W01", "2023-12-31T23:00:00.000Z"], ["2024-01", "2023-12-31T23:00:00.000Z"]]],
    // Berlin: the last second of the old year locally
    ["Europe/Berlin", "2023-12-31T22:59:59Z", [["2023-12-31T23", "2023-12-31T22:00:00.000Z"], ["2023-12-31", "2023-12-30T23:00:00.000Z"], ["2023-W52", "2023-12-24T23:00:00.000Z"], ["2023-12", "2023-11-30T23:00:00.000Z"]]],
    // New York spring forward: last instant before the gap (01:59:59.999 EST)
    ["America/New_York", "2024-03-10T06:59:59.999Z", [["2024-03-10T01", "2024-03-10T06:00:00.000Z"], ["2024-03-10", "2024-03-10T05:00:00.000Z"], ["2024-W10", "2024-03-04T05:00:00.000Z"], ["2024-03", "2024-03-01T05:00:00.000Z"]]],
    // New York spring forward: first instant after the gap is 03:00 EDT
    ["America/New_York", "2024-03-10T07:00:00Z", [["2024-03-10T03", "2024-03-10T07:00:00.000Z"], ["2024-03-10", "2024-03-10T05:00:00.000Z"], ["2024-W10", "2024-03-04T05:00:00.000Z"], ["2024-03", "2024-03-01T05:00:00.000Z"]]],
    // New York fall back: first 01:xx (EDT)
    ["America/New_York", "2024-11-03T05:30:00Z", [["2024-11-03T01", "2024-11-03T05:00:00.000Z"], ["2024-11-03", "2024-11-03T04:00:00.000Z"], ["2024-W44", "2024-10-28T04:00:00.000Z"], ["2024-11", "2024-11-01T04:00:00.000Z"]]],
    // New York fall back: second 01:xx (EST) — same key, different periodStart
    ["America/New_York", "2024-11-03T06:30:00Z", [["2024-11-03T01", "2024-11-03T06:00:00.000Z"], ["2024-11-03", "2024-11-03T04:00:00.000Z"], ["2024-W44", "2024-10-28T04:00:00.000Z"], ["2024-11", "2024-11-01T04:00:00.000Z"]]],
    // Santiago: local midnight does not exist (00:00 -04 → 01:00 -03); the day starts at 01:00
    ["America/Santiago", "2024-09-08T05:00:00Z", [["2024-09-08T02", "2024-09-08T05:00:00.000Z"], ["2024-09-08", "2024-09-08T04:00:00.000Z"], ["2024-W36", "2024-09-02T04:00:00.000Z"], ["2024-09", "2024-09-01T04:00:00.000Z"]]],
    // Kolkata: half-hour offset, hours start at :30 UTC
    ["Asia/Kolkata", "2024-01-15T13:45:00Z", [["2024-01-15T19", "2024-01-15T13:30:00.000Z"], ["2024-01-15", "2024-01-14T18:30:00.000Z"], ["2024-W03", "2024-01-14T18:30:00.000Z"], ["2024-01", "2023-12-31T18:30:00.000Z"]]],
  ])("%s %s", (tz, at, expected) => {
    expect(periods(tz, at)).toEqual(expected);
  });

  test("next period starts across DST (quota reset dates)", () => {
    const c = calendar("America/New_York");
    expect(iso(c.nextStart("daily", Date.parse("2024-03-10T12:00:00Z")))).toBe("2024-03-11T04:00:00.000Z");
    expect(iso(c.nextStart("monthly", Date.parse("2024-03-10T12:00:00Z")))).toBe("2024-04-01T04:00:00.000Z");
    expect(iso(c.nextStart("daily", Date.parse("2024-11-03T12:00:00Z")))).toBe("2024-11-04T05:00:00.000Z");
    expect(iso(calendar("UTC").nextStart("monthly", Date.parse("2024-12-31T23:59:59.999Z")))).toBe("2025-01-01T00:00:00.000Z");
  });

  // Australia/Lord_Howe shifts by half an hour: on 2024-04-07 from 02:00
  // (+11) back to 01:30 (+10:30), so hour 01 comes twice, the second time
  // from the change; on 2024-10-06 from 02:00 (+10:30) to 02:30 (+11), so
  // hour 02 lasts half an hour. The hours abut and never overlap, as in
  // the Go calendar (internal/periods TestHalfHourDSTHours).
  test.each([
    ["2024-04-06T13:00:00Z", [["2024-04-07T00", "2024-04-06T13:00:00.000Z"], ["2024-04-07T01", "2024-04-06T14:00:00.000Z"], ["2024-04-07T01", "2024-04-06T15:00:00.000Z"], ["2024-04-07T02", "2024-04-06T15:30:00.000Z"], ["2024-04-07T03", "2024-04-06T16:30:00.000Z"]]],
    ["2024-10-05T13:30:00Z", [["2024-10-06T00", "2024-10-05T13:30:00.000Z"], ["2024-10-06T01", "2024-10-05T14:30:00.000Z"], ["2024-10-06T02", "2024-10-05T15:30:00.000Z"], ["2024-10-06T03", "2024-10-05T16:00:00.000Z"], ["2024-10-06T04", "2024-10-05T17:00:00.000Z"]]],
  ])("half-hour DST hours from %s", (from, want) => {
    const c = calendar("Australia/Lord_Howe");
    const seen: string[][] = [];
    let prev: { periodKey: string; periodStart: number } | undefined;
    for (let ts = Date.parse(from); ts < Date.parse(from) + want.length * 3_600_000 - 30 * 60_000; ts += 5 * 60_000) {
      const h = c.periodOf("hourly", ts);
      expect(h.periodStart).toBeLessThanOrEqual(ts);
      if (prev === undefined || h.periodStart !== prev.periodStart) {
        if (prev !== undefined) expect(h.periodStart).toBeGreaterThan(prev.periodStart);
        seen.push([h.periodKey, iso(h.periodStart)]);
        prev = h;
      }
    }
    expect(seen).toEqual(want);
  });

  test("every hour of a DST year maps to a period containing it", () => {
    const c = calendar("Europe/Berlin");
    for (let ts = Date.UTC(2024, 0, 1); ts < Date.UTC(2025, 0, 1); ts += 3 * 3_600_000 + 61_000) {
      for (const p of Object.values(c.periodsOf(ts))) {
        expect(p.periodStart).toBeLessThanOrEqual(ts);
        expect(c.periodOf(p.period, p.periodStart).periodStart).toBe(p.periodStart);
        expect(c.periodOf(p.period, p.periodStart).periodKey).toBe(p.periodKey);
      }
    }
  });
});

describe("aggregates in a non-UTC reporting time zone", () => {
  afterEach(() => vi.unstubAllEnvs());

  test("fall-back hour yields two hourly rows with one key; the day has 25 hours", async () => {
    vi.stubEnv("INGEST_SECRET", SECRET);
    vi.stubEnv("REPORTING_TZ", "America/New_York");
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const ts = ["2024-11-03T04:00:00Z", "2024-11-03T05:30:00Z", "2024-11-03T06:30:00Z", "2024-11-04T04:59:59Z"].map(Date.parse);
    const r = await post(t, "/ingest", { requestLogs: ts.map((timestamp) => requestLog(u, { timestamp })) });
    expect(r.status).toBe(200);
    const series = await t.withIdentity(ADMIN).query(api.llmmeter.usageSeries, {
      period: "hourly",
      from: Date.parse("2024-11-03T04:00:00Z"),
      to: Date.parse("2024-11-04T05:00:00Z"),
    });
    expect(series.map((p) => [p.periodKey, iso(p.periodStart), p.requests])).toEqual([
      ["2024-11-03T00", "2024-11-03T04:00:00.000Z", 1],
      ["2024-11-03T01", "2024-11-03T05:00:00.000Z", 1],
      ["2024-11-03T01", "2024-11-03T06:00:00.000Z", 1],
      ["2024-11-03T23", "2024-11-04T04:00:00.000Z", 1],
    ]);
    const daily = await t.withIdentity(ADMIN).query(api.llmmeter.usageSeries, {
      period: "daily",
      from: Date.parse("2024-11-01T00:00:00Z"),
      to: Date.parse("2024-11-05T00:00:00Z"),
    });
    expect(daily.map((p) => [p.periodKey, iso(p.periodStart), p.requests])).toEqual([
      ["2024-11-03", "2024-11-03T04:00:00.000Z", 4],
    ]);
  });

  test("an invalid REPORTING_TZ answers 503 and writes nothing", async () => {
    vi.stubEnv("INGEST_SECRET", SECRET);
    vi.stubEnv("REPORTING_TZ", "Mars/Olympus_Mons");
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const r = await post(t, "/ingest", { requestLogs: [requestLog(u)], usage: [usage(u)] });
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe("misconfigured");
  });
});

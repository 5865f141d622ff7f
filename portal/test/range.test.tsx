import { act, fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { labelOfPeriodKey } from "../src/lib/time";
import { parseRange, rangeParams, type RangeSpec, wholePeriods, windowFor } from "../src/lib/range";
import { patchSearch } from "../src/router/router";
import { UsagePage } from "../src/pages/UsagePage";
import { UsersPage } from "../src/pages/UsersPage";
import { fakeService } from "./fakeService";

const t = (iso: string) => Date.parse(iso);

describe("period labels come from the periodKey, never from a timestamp", () => {
  it.each([
    ["2026-11-29", "Nov 29, 2026"], // the UTC day of 29 Nov; the old label (browser in Los Angeles) was "Nov 28"
    ["2024-03-31T03", "Mar 31, 03:00"], // hourly, the hour after Berlin's spring-forward gap
    ["2024-10-27T02", "Oct 27, 02:00"], // the repeated fall-back hour: both periods carry the same label
    ["2020-W53", "Week 53, 2020"], // ISO week-year
    ["2024-01", "Jan 2024"],
    ["2024-13", "13 2024"], // an impossible month is shown, not turned into "undefined"
    ["something else", "something else"],
  ])("%s → %s", (key, want) => {
    expect(labelOfPeriodKey(key)).toBe(want);
  });

  it("a daily point of UTC 29 Nov is labelled 29 Nov whatever process.env.TZ says", () => {
    // labelOfPeriodKey reads only the string; this test would fail if it parsed a Date in the local zone.
    const prev = process.env.TZ;
    process.env.TZ = "America/Los_Angeles";
    try {
      expect(labelOfPeriodKey("2026-11-29")).toBe("Nov 29, 2026");
    } finally {
      process.env.TZ = prev;
    }
  });
});

describe("ranges are calendar periods in the reporting zone", () => {
  const ny = "America/New_York";
  const berlin = "Europe/Berlin";
  it.each<[string, RangeSpec, number, string, { from: string; to: string } | null]>([
    // 02:30 UTC on 15 Jan is still 14 Jan in New York (EST, -5).
    ["today in New York before UTC midnight's day", { key: "today" }, t("2025-01-15T02:30:00Z"), ny, { from: "2025-01-14T05:00:00Z", to: "2025-01-15T05:00:00Z" }],
    ["today in UTC at the same instant", { key: "today" }, t("2025-01-15T02:30:00Z"), "UTC", { from: "2025-01-15T00:00:00Z", to: "2025-01-16T00:00:00Z" }],
    // Berlin's 23-hour day (spring-forward, 2024-03-31): the window is 23 hours.
    ["today on Berlin's spring-forward day", { key: "today" }, t("2024-03-31T12:00:00Z"), berlin, { from: "2024-03-30T23:00:00Z", to: "2024-03-31T22:00:00Z" }],
    // Berlin's 25-hour day (fall-back, 2024-10-27).
    ["today on Berlin's fall-back day", { key: "today" }, t("2024-10-27T12:00:00Z"), berlin, { from: "2024-10-26T22:00:00Z", to: "2024-10-27T23:00:00Z" }],
    // This month in New York across the DST change of March: from EST midnight to EDT midnight.
    ["this month in New York, March", { key: "month" }, t("2025-03-20T12:00:00Z"), ny, { from: "2025-03-01T05:00:00Z", to: "2025-04-01T04:00:00Z" }],
    // Last month across the year change, at 1 Jan 03:00 UTC = 31 Dec in New York: last month is November.
    ["last month when New York is still in December", { key: "lastmonth" }, t("2025-01-01T03:00:00Z"), ny, { from: "2024-11-01T04:00:00Z", to: "2024-12-01T05:00:00Z" }],
    ["last month in January (UTC)", { key: "lastmonth" }, t("2025-01-10T00:00:00Z"), "UTC", { from: "2024-12-01T00:00:00Z", to: "2025-01-01T00:00:00Z" }],
    // 7 d = the last seven reporting days, today included.
    ["7 d", { key: "7d" }, t("2025-01-15T13:20:00Z"), "UTC", { from: "2025-01-09T00:00:00Z", to: "2025-01-16T00:00:00Z" }],
    ["30 d", { key: "30d" }, t("2025-01-15T13:20:00Z"), "UTC", { from: "2024-12-17T00:00:00Z", to: "2025-01-16T00:00:00Z" }],
    // 24 h ends at the next whole reporting hour: in Kolkata (+05:30) hours start at :30 UTC.
    ["24 h in UTC", { key: "24h" }, t("2025-01-15T13:20:00Z"), "UTC", { from: "2025-01-14T14:00:00Z", to: "2025-01-15T14:00:00Z" }],
    ["24 h in Kolkata", { key: "24h" }, t("2025-01-15T13:20:00Z"), "Asia/Kolkata", { from: "2025-01-14T13:30:00Z", to: "2025-01-15T13:30:00Z" }],
    // Custom: whole reporting days, both dates included.
    ["custom in Berlin over the spring-forward", { key: "custom", from: "2024-03-30", to: "2024-03-31" }, 0, berlin, { from: "2024-03-29T23:00:00Z", to: "2024-03-31T22:00:00Z" }],
    ["custom with an impossible date", { key: "custom", from: "2024-02-30", to: "2024-03-01" }, 0, "UTC", null],
    ["any time has no window", { key: "all" }, 0, "UTC", null],
  ])("%s", (_name, spec, now, tz, want) => {
    const w = windowFor(spec, now, tz);
    expect(w && { from: new Date(w.from).toISOString().replace(".000", ""), to: new Date(w.to).toISOString().replace(".000", "") }).toEqual(want);
  });

  it("a day whose midnight does not exist starts at the first instant after the gap", () => {
    // America/Santiago springs forward at 00:00 local on 2024-09-08 (to 01:00, -03).
    const w = windowFor({ key: "custom", from: "2024-09-08", to: "2024-09-08" }, 0, "America/Santiago");
    expect(new Date(w!.from).toISOString()).toBe("2024-09-08T04:00:00.000Z");
    expect(new Date(w!.to).toISOString()).toBe("2024-09-09T03:00:00.000Z");
  });

  it("the window does not move within the hour (stable query arguments)", () => {
    const now = t("2025-01-15T13:20:00Z");
    expect(windowFor({ key: "24h" }, now + 30 * 60_000, "UTC")).toEqual(windowFor({ key: "24h" }, now, "UTC"));
  });
});

describe("the range and filters round-trip through the URL", () => {
  it.each<[string, RangeSpec]>([
    ["a preset", { key: "lastmonth" }],
    ["custom dates", { key: "custom", from: "2024-01-01", to: "2024-01-31" }],
    ["any time", { key: "all" }],
  ])("%s", (_name, spec) => {
    const search = patchSearch("?user=u_1", rangeParams(spec));
    expect(parseRange(new URLSearchParams(search), { key: "30d" })).toEqual(spec);
    expect(new URLSearchParams(search).get("user")).toBe("u_1"); // other parameters are kept
  });

  it.each([
    ["?range=bogus", "an unknown range"],
    ["?range=custom&from=2024-01-31&to=2024-01-01", "a custom range that ends before it starts"],
    ["?range=custom&from=2024-01-01", "a custom range without its end"],
  ])("%s (%s) falls back to the default", (search) => {
    expect(parseRange(new URLSearchParams(search), { key: "7d" })).toEqual({ key: "7d" });
  });

  it("switching back to a preset drops the custom dates, and keys are sorted so a view has one URL", () => {
    const custom = patchSearch("", rangeParams({ key: "custom", from: "2024-01-01", to: "2024-01-02" }));
    expect(custom).toBe("?from=2024-01-01&range=custom&to=2024-01-02");
    expect(patchSearch(custom, rangeParams({ key: "today" }))).toBe("?range=today");
  });

  it("the Users page reads its range and ranking from the URL, writes changes back, and follows back/forward", async () => {
    window.history.replaceState(null, "", "/admin/users?by=tokens&range=lastmonth");
    const svc = fakeService({ "llmmeter:topUsers": () => [] });
    render(
      <svc.Providers>
        <UsersPage />
      </svc.Providers>,
    );
    await screen.findByText("No user activity in this range");
    const first = svc.calls.filter((c) => c.path === "llmmeter:topUsers").at(-1)!.args;
    expect(first.by).toBe("tokens");
    // The fake reports UTC: last month of now, in UTC.
    const now = new Date();
    expect(first.from).toBe(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    expect(first.to).toBe(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    expect(screen.getByRole("button", { name: "Last month" }).getAttribute("aria-pressed")).toBe("true");

    await act(async () => screen.getByRole("button", { name: "Today" }).click());
    expect(window.location.search).toBe("?by=tokens&range=today");
    fireEvent.change(screen.getByLabelText("Rank by"), { target: { value: "cost" } });
    expect(window.location.search).toBe("?range=today"); // the default ranking is not spelled out

    // Back restores the previous view.
    await act(async () => {
      window.history.back();
      await new Promise((r) => setTimeout(r, 50));
    });
    expect(window.location.search).toBe("?by=tokens&range=today");
    expect((screen.getByLabelText("Rank by") as HTMLSelectElement).value).toBe("tokens");
  });

  it("custom dates are whole reporting days in the reporting zone, not the browser's", async () => {
    window.history.replaceState(null, "", "/admin/usage?range=custom&from=2024-03-30&to=2024-03-31&period=hourly&model=m%2Fx");
    const svc = fakeService({
      "llmmeter:settings": () => ({ reportingTz: "Europe/Berlin" }),
      "llmmeter:usageSeries": () => [
        { periodKey: "2024-03-31T01", periodStart: t("2024-03-31T00:00:00Z"), requests: 1, successful: 1, failed: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, costNanoUsd: 0, costUsd: 0, avgProcessingMs: 1 },
        { periodKey: "2024-03-31T03", periodStart: t("2024-03-31T01:00:00Z"), requests: 1, successful: 1, failed: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, costNanoUsd: 0, costUsd: 0, avgProcessingMs: 1 },
      ],
      "llmmeter:topUsers": () => [],
      "llmmeter:modelStats": () => [],
    });
    render(
      <svc.Providers>
        <UsagePage />
      </svc.Providers>,
    );
    const cells = await within(await screen.findByTestId("usage-table")).findAllByText(/^Mar 31, 0[13]:00$/);
    expect(cells.map((c) => c.getAttribute("data-period-key")).sort()).toEqual(["2024-03-31T01", "2024-03-31T03"]);
    expect(svc.calls.find((c) => c.path === "llmmeter:usageSeries")?.args).toEqual({
      period: "hourly", from: t("2024-03-29T23:00:00Z"), to: t("2024-03-31T22:00:00Z"), modelSlug: "m/x",
    });
  });

  it("custom dates typed out of order wait as a draft, then become the range (found by the e2e run)", async () => {
    window.history.replaceState(null, "", "/admin/users?from=2024-10-01&range=custom&to=2024-10-31");
    const svc = fakeService({ "llmmeter:topUsers": () => [] });
    render(
      <svc.Providers>
        <UsersPage />
      </svc.Providers>,
    );
    await screen.findByText("No user activity in this range");
    fireEvent.change(screen.getByLabelText("From date"), { target: { value: "2024-11-01" } });
    expect(window.location.search).toBe("?from=2024-10-01&range=custom&to=2024-10-31"); // from > to: not a range yet
    expect((screen.getByLabelText("From date") as HTMLInputElement).value).toBe("2024-11-01");
    fireEvent.change(screen.getByLabelText("To date"), { target: { value: "2024-11-29" } });
    expect(window.location.search).toBe("?from=2024-11-01&range=custom&to=2024-11-29");
    await act(async () => {});
    const last = svc.calls.filter((c) => c.path === "llmmeter:topUsers").at(-1)!.args;
    expect([last.from, last.to]).toEqual([Date.UTC(2024, 10, 1), Date.UTC(2024, 10, 30)]);
  });
});

describe("weekly and monthly series cover every week or month the range touches", () => {
  const w = (from: string, to: string) => ({ from: t(from), to: t(to) });
  it.each<[string, "hourly" | "daily" | "weekly" | "monthly", { from: string; to: string }, string, { from: string; to: string }]>([
    // "This month" from Tuesday 1 Dec 2026: the week of Monday 30 Nov, through the week holding 31 Dec (to Monday 4 Jan).
    ["this month by week", "weekly", { from: "2026-12-01T00:00:00Z", to: "2027-01-01T00:00:00Z" }, "UTC", { from: "2026-11-30T00:00:00Z", to: "2027-01-04T00:00:00Z" }],
    // "30 d" by month: November as well as December.
    ["30 d by month", "monthly", { from: "2026-11-02T00:00:00Z", to: "2026-12-02T00:00:00Z" }, "UTC", { from: "2026-11-01T00:00:00Z", to: "2027-01-01T00:00:00Z" }],
    // New York: the week holding Tue 3 Nov 2026 began on Monday 2 Nov at EST midnight, after the fall-back of 1 Nov.
    ["a New York week after the fall-back", "weekly", { from: "2026-11-03T05:00:00Z", to: "2026-11-05T05:00:00Z" }, "America/New_York", { from: "2026-11-02T05:00:00Z", to: "2026-11-09T05:00:00Z" }],
    // A New York month across the spring-forward: from EST midnight to EDT midnight.
    ["a New York month across the spring-forward", "monthly", { from: "2025-03-20T04:00:00Z", to: "2025-03-21T04:00:00Z" }, "America/New_York", { from: "2025-03-01T05:00:00Z", to: "2025-04-01T04:00:00Z" }],
    // Whole already: unchanged.
    ["last month by month", "monthly", { from: "2024-11-01T00:00:00Z", to: "2024-12-01T00:00:00Z" }, "UTC", { from: "2024-11-01T00:00:00Z", to: "2024-12-01T00:00:00Z" }],
    ["whole weeks", "weekly", { from: "2026-11-30T00:00:00Z", to: "2026-12-14T00:00:00Z" }, "UTC", { from: "2026-11-30T00:00:00Z", to: "2026-12-14T00:00:00Z" }],
    // A Sunday belongs to the week that began the Monday before.
    ["a Sunday", "weekly", { from: "2026-12-06T00:00:00Z", to: "2026-12-07T00:00:00Z" }, "UTC", { from: "2026-11-30T00:00:00Z", to: "2026-12-07T00:00:00Z" }],
    // Hours and days are whole in any window windowFor makes.
    ["daily", "daily", { from: "2026-12-01T00:00:00Z", to: "2026-12-02T00:00:00Z" }, "UTC", { from: "2026-12-01T00:00:00Z", to: "2026-12-02T00:00:00Z" }],
  ])("%s", (_, period, win, tz, want) => {
    expect(wholePeriods(w(win.from, win.to), period, tz)).toEqual(w(want.from, want.to));
  });

  it("the Usage page asks for the whole weeks and says so", async () => {
    window.history.replaceState(null, "", "/admin/usage?range=custom&from=2026-12-01&to=2026-12-09&period=weekly");
    const svc = fakeService({
      "llmmeter:settings": () => ({ reportingTz: "UTC" }),
      "llmmeter:usageSeries": () => [],
      "llmmeter:topUsers": () => [],
      "llmmeter:modelStats": () => [],
    });
    render(
      <svc.Providers>
        <UsagePage />
      </svc.Providers>,
    );
    expect((await screen.findByTestId("whole-periods")).textContent).toBe("Whole weeks: Nov 30, 2026 to Dec 13, 2026, wider than the range.");
    expect(svc.calls.filter((c) => c.path === "llmmeter:usageSeries").at(-1)?.args).toEqual({ period: "weekly", from: t("2026-11-30T00:00:00Z"), to: t("2026-12-14T00:00:00Z") });
  });
});

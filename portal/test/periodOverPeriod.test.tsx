import { render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PeriodOverPeriod } from "../src/pages/usage/PeriodOverPeriod";
import { fakeService } from "./fakeService";

/** Generous: the full suite runs on a busy 2-core machine. */
const WAIT = { timeout: 30_000 };

const side = (periodKey: string) => ({ periodKey, periodStart: 0, requests: 1, totalTokens: 1, costNanoUsd: 1, costUsd: 0 });

afterEach(() => {
  vi.useRealTimers();
});

describe("this period against the last: the instant asked about", () => {
  // 00:10 on 1 December in Kolkata (UTC+05:30) is 18:40 UTC on 30 November,
  // and 00:20 on 2 December in Chatham (UTC+13:45) is 10:35 UTC on 1 December.
  // The UTC hour holding them (18:00Z, 10:00Z) is still the reporting zone's
  // day before: floored to it, the comparison was of November (or of 1
  // December) in the first half hour (three quarters) of the new day.
  it.each([
    ["Asia/Kolkata", "2026-11-30T18:40:00Z", "2026-11-30T18:30:00Z"],
    ["Pacific/Chatham", "2026-12-01T10:35:00Z", "2026-12-01T10:15:00Z"],
    ["UTC", "2026-12-01T00:10:00Z", "2026-12-01T00:00:00Z"],
  ])("%s at %s asks about the reporting zone's hour from %s", async (tz, now, hour) => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date(now));
    const svc = fakeService({
      "llmmeter:settings": () => ({ reportingTz: tz }),
      "llmmeter:periodOverPeriod": (a) => ({
        period: a.period,
        day: 1,
        current: side(a.period === "weekly" ? "2026-W49" : "2026-12"),
        previous: side(a.period === "weekly" ? "2026-W48" : "2026-11"),
        change: { requests: 0, totalTokens: 0, costNanoUsd: 0 },
      }),
    });
    render(
      <svc.Providers>
        <PeriodOverPeriod />
      </svc.Providers>,
    );
    await screen.findByText(/Dec 2026 against Nov 2026/, {}, WAIT);
    await screen.findByText(/Week 49, 2026 against Week 48, 2026/, {}, WAIT);
    const asked = svc.calls.filter((c) => c.path === "llmmeter:periodOverPeriod").map((c) => c.args.at);
    expect(asked.length).toBeGreaterThan(0);
    for (const at of asked) expect(at).toBe(Date.parse(hour));
  });
});

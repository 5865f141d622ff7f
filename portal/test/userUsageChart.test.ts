import { describe, expect, it } from "vitest";
import { windowFor } from "../src/lib/range";
import { periodFor } from "../src/pages/users/UserUsageChart";

describe("the user's usage chart reads the periods the admin reads count", () => {
  const now = Date.parse("2026-12-01T12:00:00Z");
  it.each([
    // 92 local days over New York's fall-back are 92 days and an hour: still days, as the engines read them
    ["America/New_York", "2026-10-20", "2027-01-19", "daily"],
    ["UTC", "2026-10-20", "2027-01-19", "daily"],
    // 93 days: months
    ["America/New_York", "2026-10-20", "2027-01-20", "monthly"],
    // two local days over the fall-back (49 h): days
    ["America/New_York", "2026-10-31", "2026-11-01", "daily"],
    ["UTC", "2026-10-31", "2026-11-01", "hourly"],
  ])("%s %s..%s → %s", (tz, from, to, want) => {
    const win = windowFor({ key: "custom", from, to }, now, tz)!;
    expect(periodFor(win)).toBe(want);
  });
});

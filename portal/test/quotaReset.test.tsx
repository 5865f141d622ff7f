import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Quota } from "../src/data/api";
import { browserTimeZone, formatDateTime } from "../src/lib/time";
import { useReportingTz } from "../src/lib/useRange";
import { BlockedNotice } from "../src/pages/users/BlockedNotice";
import { QuotaTable } from "../src/pages/users/QuotaTable";
import { fakeService } from "./fakeService";

/** Generous: the full suite runs on a busy machine. */
const WAIT = { timeout: 30_000 };

/** Shows the reporting zone once llmmeter:settings has answered. */
function ReportingTz() {
  return <span data-testid="reporting-tz">{useReportingTz() ?? ""}</span>;
}

describe("quota reset times", () => {
  it("are instants: shown in the browser's zone (the footer's 'times in'), not the reporting zone", async () => {
    // A reporting zone other than the browser's, so the two formats differ.
    const reportingTz = browserTimeZone() === "Asia/Tokyo" ? "America/New_York" : "Asia/Tokyo";
    const resetDate = Date.UTC(2025, 3, 1, 0, 0, 0); // midnight UTC: 09:00 in Tokyo, 20:00 the day before in New York
    expect(formatDateTime(resetDate)).not.toBe(formatDateTime(resetDate, reportingTz));
    const quota: Quota = {
      id: "q1" as Quota["id"], userId: "u_1" as Quota["userId"], quotaType: "daily_requests", limit: 10, used: 10, limitNanoUsd: null, usedNanoUsd: null,
      resetDate, isActive: true, updatedAt: 0,
    };
    const svc = fakeService({ "llmmeter:settings": () => ({ reportingTz }) });
    render(
      <svc.Providers>
        <ReportingTz />
        <BlockedNotice quotas={[quota]} />
        <QuotaTable userId="u_1" quotas={[quota]} />
      </svc.Providers>,
    );
    // Once the reporting zone is known, the reset is still in the browser's zone.
    await within(await screen.findByTestId("reporting-tz", {}, WAIT)).findByText(reportingTz, {}, WAIT);
    const row = screen.getByTestId("quota-table").querySelector("tbody tr")!;
    expect(within(row as HTMLElement).getByText(formatDateTime(resetDate))).toBeTruthy();
    expect(screen.getByTestId("user-blocked").textContent).toContain(`is used up until ${formatDateTime(resetDate)}.`);
  });
});

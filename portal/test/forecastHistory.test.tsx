import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ForecastPage } from "../src/pages/ForecastPage";
import { fakeService } from "./fakeService";

const WAIT = { timeout: 30_000 };

const row = (over: Record<string, unknown>) => ({
  scope: "system",
  userId: null,
  userName: null,
  month: "2026-12",
  method: "trend+weekday",
  costNanoUsd: 122_500_000_000,
  costUsd: 122.5,
  costLowNanoUsd: 122_500_000_000,
  costHighNanoUsd: 122_500_000_000,
  tokens: 1000,
  tokensLow: 1000,
  tokensHigh: 1000,
  backtestMape: null,
  historyDays: null,
  ...over,
});

function renderWith(rows: ReturnType<typeof row>[]) {
  window.history.replaceState(null, "", "/admin/forecast");
  const svc = fakeService({
    "llmmeter:overview": () => ({ costNanoUsd: 0 }),
    "llmmeter:topUsers": () => [],
    "llmmeter:forecast": () => ({ createdAt: 1, rows }),
    "llmmeter:quotas": () => [],
  });
  return render(
    <svc.Providers>
      <ForecastPage />
    </svc.Providers>,
  );
}

describe("Budget page: a projection from little history", () => {
  // The page showed a projection from two days of data with the same
  // confidence as one from eight weeks.
  it("says so on the system projection", async () => {
    renderWith([row({ historyDays: 2 })]);
    const note = await screen.findByTestId("forecast-history", {}, WAIT);
    expect(note.textContent).toBe("Low confidence. Based on 2 days of data; projections firm up after 7 days.");
  });

  it("says less than a day when the history is only today", async () => {
    renderWith([row({ historyDays: 0 })]);
    const note = await screen.findByTestId("forecast-history", {}, WAIT);
    expect(note.textContent).toContain("Based on less than a day of data");
  });

  it("says nothing from a week on, nor for a run that did not record its history", async () => {
    for (const historyDays of [7, 56, null]) {
      const { unmount } = renderWith([row({ historyDays })]);
      await screen.findByTestId("forecast-cost", {}, WAIT);
      expect(screen.queryByTestId("forecast-history")).toBeNull();
      unmount();
    }
  });

  it("flags each user's row by its own history", async () => {
    renderWith([
      row({ historyDays: 56 }),
      row({ scope: "user", userId: "u_new", userName: "New", historyDays: 1 }),
      row({ scope: "user", userId: "u_old", userName: "Old", historyDays: 30, costNanoUsd: 1 }),
    ]);
    const table = await screen.findByTestId("user-projections", {}, WAIT);
    expect(screen.queryByTestId("forecast-history")).toBeNull();
    const fresh = table.querySelector('[data-user-id="u_new"]') as HTMLElement;
    const old = table.querySelector('[data-user-id="u_old"]') as HTMLElement;
    expect(within(fresh).getByTestId("user-history-thin").textContent).toBe("1 day · low confidence");
    expect(within(fresh).getByTestId("user-history-thin").getAttribute("title")).toBe(
      "Based on 1 day of data; projections firm up after 7 days.",
    );
    expect(within(old).queryByTestId("user-history-thin")).toBeNull();
    expect(old.textContent).toContain("30 days");
    expect(screen.getByText(/Rows marked low confidence rest on fewer than 7 days of data/)).toBeTruthy();
  });
});

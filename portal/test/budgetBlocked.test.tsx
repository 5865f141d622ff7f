import { act, fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ForecastPage } from "../src/pages/ForecastPage";
import { fakeService } from "./fakeService";
import { systemBudget as budget } from "./fixtures";

const WAIT = { timeout: 30_000 };

function service(limitNanoUsd: number, usedNanoUsd: number) {
  return fakeService({
    "llmmeter:overview": () => ({ costNanoUsd: usedNanoUsd }),
    "llmmeter:topUsers": () => [],
    "llmmeter:forecast": () => ({ createdAt: null, rows: [] }),
    "llmmeter:quotas": () => [budget(limitNanoUsd, usedNanoUsd)],
  });
}

describe("Budget page: a used-up system budget", () => {
  // With $0.10 spent against a $0.05 budget every call got 429, and the
  // page said only "now $0.05" (and "over budget" beside a projection).
  it("says that every user's calls are refused", async () => {
    window.history.replaceState(null, "", "/admin/forecast");
    const svc = service(50_000_000, 98_586_451);
    render(
      <svc.Providers>
        <ForecastPage />
      </svc.Providers>,
    );
    const box = await screen.findByTestId("budget-blocked", {}, WAIT);
    expect(box.textContent).toContain("$0.10 of $0.05");
    expect(box.textContent).toContain("refused with 429");
  });

  it("says nothing while there is room", async () => {
    window.history.replaceState(null, "", "/admin/forecast");
    const svc = service(500_000_000_000, 98_586_451);
    render(
      <svc.Providers>
        <ForecastPage />
      </svc.Providers>,
    );
    await screen.findByText("now $500.00", {}, WAIT);
    expect(screen.queryByTestId("budget-blocked")).toBeNull();
  });
});

describe("Budget editor: a budget that would block everyone at once", () => {
  it("is saved only when submitted a second time", async () => {
    window.history.replaceState(null, "", "/admin/forecast");
    const svc = fakeService({
      "llmmeter:overview": () => ({ costNanoUsd: 5_000_000_000 }),
      "llmmeter:topUsers": () => [],
      "llmmeter:forecast": () => ({ createdAt: null, rows: [] }),
      "llmmeter:quotas": () => [budget(500_000_000_000, 5_000_000_000)],
      "llmmeter:setQuota": () => ({ quotaId: "q_1", created: false }),
    });
    render(
      <svc.Providers>
        <ForecastPage />
      </svc.Providers>,
    );
    await screen.findByText("now $500.00", {}, WAIT);
    const sets = () => svc.calls.filter((c) => c.path === "llmmeter:setQuota");
    const save = async (text: string) => {
      fireEvent.change(screen.getByLabelText(/Monthly system budget/), { target: { value: text } });
      await act(async () => screen.getByText("Save budget").click());
    };
    await save("5");
    expect(sets()).toHaveLength(0);
    expect(screen.getByText(/\$5\.00 is not more than this month's spend \(\$5\.00\)/)).toBeTruthy();
    await save("4"); // another value asks again
    expect(sets()).toHaveLength(0);
    await save("4");
    expect(sets().map((c) => c.args.limit)).toEqual([4]);
    await save("6"); // above the spend: at once
    expect(sets().map((c) => c.args.limit)).toEqual([4, 6]);
  });
});

describe("Budget editor: removing the system budget", () => {
  // llmmeter:deleteQuota removes the budget on both engines, but the page
  // that sets it had no way to remove it.
  it("asks first, says what it means, then deletes it with no userId", async () => {
    window.history.replaceState(null, "", "/admin/forecast");
    let stored = true;
    const svc = fakeService({
      "llmmeter:overview": () => ({ costNanoUsd: 5_000_000_000 }),
      "llmmeter:topUsers": () => [],
      "llmmeter:forecast": () => ({ createdAt: null, rows: [] }),
      "llmmeter:quotas": () => (stored ? [budget(500_000_000_000, 5_000_000_000)] : []),
      "llmmeter:deleteQuota": () => {
        stored = false;
        return { deleted: true };
      },
    });
    render(
      <svc.Providers>
        <ForecastPage />
      </svc.Providers>,
    );
    await screen.findByText("now $500.00", {}, WAIT);
    const deletes = () => svc.calls.filter((c) => c.path === "llmmeter:deleteQuota");
    await act(async () => screen.getByRole("button", { name: "Remove budget" }).click());
    expect(deletes()).toHaveLength(0); // one click only asks
    expect(screen.getByTestId("delete-quota-consequence").textContent).toContain("Calls are no longer limited by a system budget.");
    await act(async () => screen.getByTestId("confirm-delete-quota").click());
    expect(deletes().map((c) => c.args)).toEqual([{ quotaType: "system_monthly_cost_usd" }]);
    // The page reads the budget alone, not every quota.
    expect(svc.calls.filter((c) => c.path === "llmmeter:quotas").every((c) => c.args.system === true)).toBe(true);
    await screen.findByText("not set", {}, WAIT);
    expect(screen.queryByRole("button", { name: "Remove budget" })).toBeNull();
  });

  it("is not offered while no budget is set", async () => {
    window.history.replaceState(null, "", "/admin/forecast");
    const svc = fakeService({
      "llmmeter:overview": () => ({ costNanoUsd: 0 }),
      "llmmeter:topUsers": () => [],
      "llmmeter:forecast": () => ({ createdAt: null, rows: [] }),
      "llmmeter:quotas": () => [],
    });
    render(
      <svc.Providers>
        <ForecastPage />
      </svc.Providers>,
    );
    await screen.findByText("not set", {}, WAIT);
    expect(screen.queryByRole("button", { name: "Remove budget" })).toBeNull();
  });
});

describe("Budget editor: an inactive system budget", () => {
  // llmmeter:quotas {system: true} answers an inactive budget on both
  // engines (contract case 13), but the page kept only an active one: an
  // inactive budget read "not set" and could be neither re-activated nor
  // removed from the portal.
  const inactiveService = (limitNanoUsd: number, spentNanoUsd: number) => {
    let stored = { ...budget(limitNanoUsd, 0), isActive: false };
    return fakeService({
      "llmmeter:overview": () => ({ costNanoUsd: spentNanoUsd }),
      "llmmeter:topUsers": () => [],
      "llmmeter:forecast": () => ({ createdAt: null, rows: [] }),
      "llmmeter:quotas": () => [stored],
      "llmmeter:setQuota": (args: { isActive?: boolean }) => {
        if (args.isActive !== undefined) stored = { ...stored, isActive: args.isActive, usedNanoUsd: spentNanoUsd, used: spentNanoUsd / 1e9 };
        return { quotaId: "q_1", created: false };
      },
    });
  };
  const show = (svc: ReturnType<typeof fakeService>) => {
    window.history.replaceState(null, "", "/admin/forecast");
    render(
      <svc.Providers>
        <ForecastPage />
      </svc.Providers>,
    );
  };

  it("is shown as inactive and re-activated at its limit after a confirmation", async () => {
    const svc = inactiveService(2_500_000_000, 1_000_000_000);
    show(svc);
    await screen.findByText("inactive: $2.50, not enforced", {}, WAIT);
    const sets = () => svc.calls.filter((c) => c.path === "llmmeter:setQuota");
    await act(async () => screen.getByRole("button", { name: "Re-activate budget" }).click());
    expect(sets()).toHaveLength(0); // one click only asks
    expect(screen.getByTestId("reactivate-budget-consequence").textContent).toBe(
      "Re-activate the $2.50 budget? Calls are refused once this month's spend ($1.00 so far) reaches it.",
    );
    await act(async () => screen.getByTestId("confirm-reactivate-budget").click());
    expect(sets().map((c) => c.args)).toEqual([{ quotaType: "system_monthly_cost_usd", limit: 2.5, isActive: true }]);
    await screen.findByText("now $2.50", {}, WAIT);
    expect(screen.queryByRole("button", { name: "Re-activate budget" })).toBeNull();
  });

  it("warns when re-activated at or below this month's spend, and Keep leaves it inactive", async () => {
    const svc = inactiveService(2_500_000_000, 3_000_000_000);
    show(svc);
    await screen.findByText("inactive: $2.50, not enforced", {}, WAIT);
    // Inactive, it refuses nothing, used up or not: no "Blocked".
    expect(screen.queryByTestId("budget-blocked")).toBeNull();
    await act(async () => screen.getByRole("button", { name: "Re-activate budget" }).click());
    expect(screen.getByTestId("reactivate-budget-consequence").textContent).toContain(
      "This month's spend ($3.00 so far) is not below it: every user's calls would be refused",
    );
    await act(async () => screen.getByRole("button", { name: /^Keep/ }).click());
    expect(svc.calls.filter((c) => c.path === "llmmeter:setQuota")).toHaveLength(0);
    expect(screen.getByText("inactive: $2.50, not enforced")).toBeTruthy();
  });

  it("can be removed, saying what that means", async () => {
    const svc = inactiveService(2_500_000_000, 0);
    show(svc);
    await screen.findByText("inactive: $2.50, not enforced", {}, WAIT);
    await act(async () => screen.getByRole("button", { name: "Remove budget" }).click());
    expect(screen.getByTestId("delete-quota-consequence").textContent).toContain("Remove the inactive system budget?");
  });

  it("keeps its state when a new limit is saved, without the spend check", async () => {
    const svc = inactiveService(2_500_000_000, 3_000_000_000);
    show(svc);
    await screen.findByText("inactive: $2.50, not enforced", {}, WAIT);
    fireEvent.change(screen.getByLabelText(/Monthly system budget/), { target: { value: "1" } });
    await act(async () => screen.getByText("Save budget").click());
    // Below the spend, but an inactive budget refuses nothing: saved at once, isActive left out.
    expect(svc.calls.filter((c) => c.path === "llmmeter:setQuota").map((c) => c.args)).toEqual([{ quotaType: "system_monthly_cost_usd", limit: 1 }]);
    expect(screen.getByText("Budget set to $1.00; it stays inactive until re-activated.")).toBeTruthy();
  });
});

import { act, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { UserPage } from "../src/pages/UserPage";
import { fakeService } from "./fakeService";
import { systemBudget as budget } from "./fixtures";

const WAIT = { timeout: 30_000 };

const totals = {
  requests: 3, successful: 3, failed: 0, promptTokens: 30, completionTokens: 15, totalTokens: 45, cachedTokens: 0,
  reasoningTokens: 0, costNanoUsd: 3000, costUsd: 0.000003, avgProcessingMs: 400, p95ProcessingMs: 400, modelsUsed: 1,
};

/** Alice, with a monthly cost quota far from its limit. */
const detail = () => ({
  user: { id: "u_1", clerkUserId: null, externalId: "alice", email: "alice@example.com", name: "Alice", role: null, createdAt: 0 },
  totals,
  quotas: [
    { id: "q1", userId: "u_1", quotaType: "monthly_cost_usd", limit: 10, used: 0, limitNanoUsd: 10_000_000_000, usedNanoUsd: 3000, resetDate: Date.UTC(2030, 0, 1), isActive: true, updatedAt: 0 },
  ],
  recentActivity: [],
});

function renderWithBudget(b: ReturnType<typeof budget> | null) {
  window.history.replaceState(null, "", "/admin/users/u_1");
  const svc = fakeService({
    "llmmeter:userDetail": detail,
    "llmmeter:quotas": (a) => {
      // Only the budget: the user's page must not read every quota.
      if (a.system !== true) throw { code: "bad_request", message: "expected system: true" };
      return b === null ? [] : [b];
    },
  });
  render(
    <svc.Providers>
      <UserPage userId="u_1" />
    </svc.Providers>,
  );
  return svc;
}

describe("User page: the system budget used up", () => {
  // Every call was refused (429, X-Quota-Type system_monthly_cost_usd), yet
  // the page showed only the user's own quotas, all fine.
  it("marks the user blocked, says why and links to the budget", async () => {
    const svc = renderWithBudget(budget(50_000_000, 98_586_451));
    const box = await screen.findByTestId("user-blocked-system", {}, WAIT);
    expect(box.textContent).toContain("The system budget is used up ($0.10 of $0.05)");
    expect(box.textContent).toContain("refused with 429");
    expect(within(box).getByRole("link", { name: "the budget" }).getAttribute("href")).toBe("/forecast");
    expect(screen.getByText("blocked")).toBeTruthy();
    expect(svc.calls.filter((c) => c.path === "llmmeter:quotas").every((c) => c.args.system === true)).toBe(true);
  });

  it("says nothing while the budget has room, or none is set", async () => {
    for (const b of [budget(500_000_000_000, 98_586_451), null]) {
      const svc = renderWithBudget(b);
      await screen.findByText("Alice", {}, WAIT);
      // Once the budget was asked for and its answer rendered.
      await waitFor(() => expect(svc.calls.some((c) => c.path === "llmmeter:quotas")).toBe(true), WAIT);
      await act(async () => {});
      expect(screen.queryByTestId("user-blocked")).toBeNull();
      expect(screen.queryByText("blocked")).toBeNull();
      document.body.innerHTML = "";
    }
  });
});

import { act, render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { dateKeyOf } from "../src/lib/calendar";
import { labelOfPeriodKey } from "../src/lib/time";
import { UsersPage } from "../src/pages/UsersPage";
import { fakeService } from "./fakeService";

const TZ = "Asia/Tokyo";
const users = [
  { userId: "u_1", name: "Alice", email: null, requests: 9, totalTokens: 90, costNanoUsd: 3_000_000_000, costUsd: 3 },
  { userId: "u_2", name: "Bob", email: null, requests: 5, totalTokens: 50, costNanoUsd: 2_000_000_000, costUsd: 2 },
  { userId: "u_3", name: "Carol", email: null, requests: 1, totalTokens: 10, costNanoUsd: 1_000_000_000, costUsd: 1 },
];
/** Generous: the full suite runs on a busy 2-core machine. */
const WAIT = { timeout: 30_000 };
const monthNanos: Record<string, number> = { u_1: 1_500_000_000, u_2: 2_250_000_000, u_3: 0 };

const names = () =>
  within(screen.getByTestId("users-table"))
    .getAllByRole("link")
    .map((a) => a.textContent);

describe("Users page: cost this month", () => {
  it("asks for the listed users' costs in the reporting zone's current month, shows them, and sorts by them", async () => {
    window.history.replaceState(null, "", "/admin/users?range=30d");
    const svc = fakeService({
      "llmmeter:settings": () => ({ reportingTz: TZ }),
      "llmmeter:topUsers": () => users,
      "llmmeter:userMonthCosts": (a) => ({
        month: a.month,
        from: 0,
        to: 1,
        users: (a.userIds as string[]).map((userId) => ({ userId, requests: 0, totalTokens: 0, costNanoUsd: monthNanos[userId], costUsd: monthNanos[userId] / 1e9 })),
      }),
    });
    render(
      <svc.Providers>
        <UsersPage />
      </svc.Providers>,
    );
    const month = dateKeyOf(Date.now(), TZ).slice(0, 7);
    const header = await screen.findByRole("button", { name: `Cost ${labelOfPeriodKey(month)}` }, WAIT);
    await screen.findByText("$2.25", {}, WAIT);
    expect(svc.calls.filter((c) => c.path === "llmmeter:userMonthCosts").at(-1)!.args).toEqual({ month, userIds: ["u_1", "u_2", "u_3"] });
    // Ranked by the range's cost first; the month column sorts descending on the first click, ascending on the second.
    expect(names()).toEqual(["Alice", "Bob", "Carol"]);
    await act(async () => header.click());
    expect(names()).toEqual(["Bob", "Alice", "Carol"]);
    expect(header.closest("th")!.getAttribute("aria-sort")).toBe("descending");
    await act(async () => header.click());
    expect(names()).toEqual(["Carol", "Alice", "Bob"]);
  });

  it("shows a dash, not a zero, when the month's costs cannot be read", async () => {
    window.history.replaceState(null, "", "/admin/users?range=30d");
    const svc = fakeService({
      "llmmeter:topUsers": () => users.slice(0, 1),
      "llmmeter:userMonthCosts": () => {
        throw { code: "bad_request", message: "userIds: at most 100" };
      },
    });
    render(
      <svc.Providers>
        <UsersPage />
      </svc.Providers>,
    );
    const table = await screen.findByTestId("users-table", {}, WAIT);
    await within(table).findByText("—", { selector: '[data-testid="month-cost-pending"]' }, WAIT);
    expect(within(table).queryByText("$0.00")).toBeNull();
  });

  it("does not ask for month costs when no user is listed", async () => {
    window.history.replaceState(null, "", "/admin/users?range=30d");
    const svc = fakeService({ "llmmeter:topUsers": () => [] });
    render(
      <svc.Providers>
        <UsersPage />
      </svc.Providers>,
    );
    await screen.findByText("No user activity in this range", {}, WAIT);
    expect(svc.calls.some((c) => c.path === "llmmeter:userMonthCosts")).toBe(false);
  });
});

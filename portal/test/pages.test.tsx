import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ForecastPage } from "../src/pages/ForecastPage";
import { OverviewPage } from "../src/pages/OverviewPage";
import { RequestsPage } from "../src/pages/RequestsPage";
import { UserPage } from "../src/pages/UserPage";
import { Announcer } from "../src/components/Announcer";
import { ACTIVE_USERS_LOWER_BOUND } from "../src/pages/overview/OverviewStats";
import { fakeService } from "./fakeService";

const overview = {
  requests: 1234, successful: 1200, failed: 34, promptTokens: 900_000, completionTokens: 334_567, totalTokens: 1_234_567,
  cachedTokens: 1000, reasoningTokens: 2000, costNanoUsd: 12_345_678_901, costUsd: 12.345678901, avgProcessingMs: 850,
  p95ProcessingMs: 2000, modelsUsed: 4, activeUsers: 17, activeUsersExact: true, health: null,
};

describe("OverviewPage", () => {
  it("shows exact totals and designed empty states", async () => {
    const svc = fakeService({ "llmmeter:overview": () => overview, "llmmeter:usageSeries": () => [] });
    render(
      <svc.Providers>
        <OverviewPage />
      </svc.Providers>,
    );
    expect(await screen.findByText("$12.35")).toBeTruthy();
    expect(screen.getByText("$12.35").getAttribute("title")).toBe("$12.345678901");
    expect(within(screen.getByTestId("stat-requests")).getByText("1,234")).toBeTruthy();
    expect(within(screen.getByTestId("stat-success")).getByText("97.24%")).toBeTruthy();
    expect(within(screen.getByTestId("stat-users")).getByText("17").getAttribute("title")).toBeNull();
    expect(await screen.findByText("No requests in this range")).toBeTruthy();
    expect(screen.getByText("No health check recorded yet")).toBeTruthy();
  });

  it("shows active users over several periods as a lower bound, saying why", async () => {
    const svc = fakeService({ "llmmeter:overview": () => ({ ...overview, activeUsersExact: false }), "llmmeter:usageSeries": () => [] });
    render(
      <svc.Providers>
        <OverviewPage />
      </svc.Providers>,
    );
    const value = await within(await screen.findByTestId("stat-users", {}, { timeout: 30_000 })).findByText("≥ 17", {}, { timeout: 30_000 });
    expect(value.getAttribute("title")).toBe(ACTIVE_USERS_LOWER_BOUND);
  });

  it("shows an error state", async () => {
    const svc = fakeService({
      "llmmeter:overview": () => {
        throw { code: "bad_request", message: "window too large" };
      },
      "llmmeter:usageSeries": () => [],
    });
    render(
      <svc.Providers>
        <OverviewPage />
      </svc.Providers>,
    );
    expect(await screen.findByRole("alert")).toBeTruthy();
    expect(screen.getByText("window too large")).toBeTruthy();
  });
});

const hostile = `<img src=x onerror="window.__xss=1">`;

describe("RequestsPage", () => {
  it("renders untrusted strings as text and filters by status", async () => {
    const log = {
      _id: "l1", _creationTime: 0, requestId: "req_1", userId: "u_1", requestType: "chat.completions", method: "POST",
      endpoint: "/v1/chat/completions", model: `evil/${hostile}`, status: "error", statusCode: 502, errorType: "upstream_error",
      errorMessage: `<b>boom</b>${hostile}`, requestSize: 10, responseSize: 20, processingTime: 900, userAgent: `<script>x()</script>`,
      timestamp: Date.UTC(2025, 0, 1),
    };
    const svc = fakeService({
      "llmmeter:topUsers": () => [{ userId: "u_1", name: `${hostile}Mallory`, email: null, requests: 1, totalTokens: 1, costNanoUsd: 1, costUsd: 0 }],
      "llmmeter:modelStats": () => [],
      "llmmeter:requestLogs": () => ({ page: [log], isDone: true, continueCursor: "" }),
    });
    const { container } = render(
      <svc.Providers>
        <RequestsPage />
      </svc.Providers>,
    );
    const row = await screen.findByText(`evil/${hostile}`);
    // The details open from the row's button (aria-expanded), not a click on the row.
    const toggle = row.closest("tr")!.querySelector<HTMLButtonElement>("button.row-toggle")!;
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    act(() => toggle.click());
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    expect(await screen.findByText(`<b>boom</b>${hostile}`)).toBeTruthy();
    expect(screen.getByText("<script>x()</script>")).toBeTruthy();
    expect(container.querySelector("img, script, b")).toBeNull();
    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "error" } });
    await act(async () => {});
    expect(svc.calls.filter((c) => c.path === "llmmeter:requestLogs").at(-1)?.args).toEqual({
      status: "error",
      withUsage: true,
      paginationOpts: { numItems: 50, cursor: null },
    });
  });
});

describe("UserPage", () => {
  it("edits a quota through llmmeter:setQuota", async () => {
    let limitNanoUsd = 10_000_000_000;
    const svc = fakeService({
      "llmmeter:userDetail": () => ({
        user: { id: "u_1", clerkUserId: null, externalId: "alice", email: "alice@example.com", name: "Alice", role: null, createdAt: 0 },
        totals: { ...overview, activeUsers: undefined, health: undefined },
        quotas: [
          { id: "q1", userId: "u_1", quotaType: "monthly_cost_usd", limit: limitNanoUsd / 1e9, used: 0, limitNanoUsd, usedNanoUsd: 2_500_000_000, resetDate: 0, isActive: true, updatedAt: 0 },
        ],
        recentActivity: [],
      }),
      "llmmeter:setQuota": (args) => {
        limitNanoUsd = Math.round((args.limit as number) * 1e9);
        return { quotaId: "q1", created: false };
      },
    });
    render(
      <svc.Providers>
        <Announcer>
          <UserPage userId="u_1" />
        </Announcer>
      </svc.Providers>,
    );
    expect(await screen.findByText("$10.00")).toBeTruthy();
    expect(screen.getByText("$2.50")).toBeTruthy();
    // A refused value: the field is marked invalid and described by the message; nothing is sent.
    const field = screen.getByLabelText("Quota limit");
    fireEvent.change(field, { target: { value: "ten" } });
    await act(async () => screen.getByText("Save quota").click());
    expect(field.getAttribute("aria-invalid")).toBe("true");
    expect(document.getElementById(field.getAttribute("aria-describedby")!)?.textContent).toBe("Enter a dollar amount, e.g. 25 or 12.50.");
    expect(svc.calls.some((c) => c.path === "llmmeter:setQuota")).toBe(false);
    fireEvent.change(field, { target: { value: "42.5" } });
    await act(async () => screen.getByText("Save quota").click());
    expect(await within(screen.getByTestId("announcer")).findByText("Quota updated.")).toBeTruthy();
    expect(field.getAttribute("aria-invalid")).toBe("false");
    expect(field.hasAttribute("aria-describedby")).toBe(false);
    expect(await screen.findByText("$42.50")).toBeTruthy();
    expect(svc.calls.find((c) => c.path === "llmmeter:setQuota")?.args).toEqual({
      userId: "u_1", quotaType: "monthly_cost_usd", limit: 42.5, isActive: true,
    });
    expect(screen.getByText("No activity yet")).toBeTruthy();
  });

  it("a new limit for an inactive quota keeps it inactive unless the box is ticked", async () => {
    const svc = fakeService({
      "llmmeter:userDetail": () => ({
        user: { id: "u_1", clerkUserId: null, externalId: "alice", email: null, name: "Alice", role: null, createdAt: 0 },
        totals: { ...overview, activeUsers: undefined, health: undefined },
        quotas: [
          { id: "q1", userId: "u_1", quotaType: "monthly_cost_usd", limit: 10, used: 0, limitNanoUsd: 10_000_000_000, usedNanoUsd: 0, resetDate: 0, isActive: false, updatedAt: 0 },
        ],
        recentActivity: [],
      }),
      "llmmeter:setQuota": () => ({ quotaId: "q1", created: false }),
    });
    render(
      <svc.Providers>
        <Announcer>
          <UserPage userId="u_1" />
        </Announcer>
      </svc.Providers>,
    );
    const field = (await screen.findByLabelText("Quota limit")) as HTMLInputElement;
    const box = screen.getByLabelText("Active") as HTMLInputElement;
    await waitFor(() => expect(box.checked).toBe(false), { timeout: 30_000 });
    expect(field.placeholder).toBe("now $10.00");
    fireEvent.change(field, { target: { value: "20" } });
    await act(async () => screen.getByText("Save quota").click());
    expect(svc.calls.filter((c) => c.path === "llmmeter:setQuota").at(-1)?.args).toMatchObject({ limit: 20, isActive: false });
    fireEvent.click(box);
    fireEvent.change(field, { target: { value: "30" } });
    await act(async () => screen.getByText("Save quota").click());
    expect(svc.calls.filter((c) => c.path === "llmmeter:setQuota").at(-1)?.args).toMatchObject({ limit: 30, isActive: true });
  });
});

describe("ForecastPage", () => {
  it("shows the back-test error as the percent the job stores (was ×100: 10887.3%)", async () => {
    const row = {
      scope: "system", userId: null, month: "2026-11", method: "trend-weekday", costNanoUsd: 30_000_000_000, costUsd: 30,
      costLowNanoUsd: 26_600_000_000, costHighNanoUsd: 33_000_000_000, tokens: 1, tokensLow: 1, tokensHigh: 1, backtestMape: 108.873,
    };
    const svc = fakeService({ "llmmeter:forecast": () => ({ createdAt: 0, rows: [row] }), "llmmeter:quotas": () => [] });
    render(
      <svc.Providers>
        <ForecastPage />
      </svc.Providers>,
    );
    const stat = await screen.findByTestId("forecast-mape");
    expect(within(stat).getByText("108.9%")).toBeTruthy();
  });
});

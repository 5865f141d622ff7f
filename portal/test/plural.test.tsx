import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { plural } from "../src/lib/format";
import { OverviewStats } from "../src/pages/overview/OverviewStats";
import { LoadMore } from "../src/pages/requests/LoadMore";
import { Statement } from "../src/pages/users/Statement";
import type { UserStatement } from "../src/pages/users/statementFiles";
import { fakeService } from "./fakeService";

/** Generous: the full suite runs on a busy machine. */
const WAIT = { timeout: 30_000 };

const one = {
  requests: 1, successful: 1, failed: 0, promptTokens: 1, completionTokens: 0, totalTokens: 1, cachedTokens: 0, reasoningTokens: 0,
  costNanoUsd: 1, costUsd: 1e-9,
};

describe("plural", () => {
  it.each([
    [0, "0 requests"],
    [1, "1 request"],
    [2, "2 requests"],
    [1234, "1,234 requests"],
  ])("%d → %s", (n, want) => expect(plural(n, "request")).toBe(want));

  it("takes an irregular plural", () => expect(plural(3, "entry", "entries")).toBe("3 entries"));
});

describe("counts of one are singular", () => {
  it("in the request table's foot", () => {
    render(<LoadMore count={1} status="Exhausted" capped={false} loadMore={() => {}} />);
    expect(screen.getByTestId("row-count").textContent).toBe("1 request shown");
  });

  it("in the overview's models used", () => {
    render(
      <OverviewStats
        o={{ ...one, p95ProcessingMs: 0, avgProcessingMs: 0, modelsUsed: 1, activeUsers: 1, activeUsersExact: true, health: null }}
      />,
    );
    expect(screen.getByText("1 model used")).toBeTruthy();
  });

  it("in a user's statement", async () => {
    window.history.replaceState(null, "", "/admin/users/u_1?month=2024-01");
    const statement: UserStatement = {
      userId: "u_1", name: "Ann", email: null, month: "2024-01", from: 0, to: 1, totals: one,
      byDay: [{ periodKey: "2024-01-10", periodStart: 0, ...one }],
      byModel: [{ model: "m/a", generations: 1, promptTokens: 1, completionTokens: 0, totalTokens: 1, cachedTokens: 0, reasoningTokens: 0, costNanoUsd: 1, costUsd: 1e-9 }],
      usageRows: 1,
      byModelComplete: false,
    };
    const svc = fakeService({ "llmmeter:userStatement": () => statement });
    render(
      <svc.Providers>
        <Statement userId="u_1" />
      </svc.Providers>,
    );
    const totals = await screen.findByTestId("statement-totals", {}, WAIT);
    expect(totals.textContent).toContain("· 1 request (0 failed) · 1 token (1 prompt, 0 completion)");
    expect(screen.getByRole("note").textContent).toContain("the first 1 generation of the month");
  });
});

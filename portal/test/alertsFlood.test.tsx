import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AlertsPage } from "../src/pages/AlertsPage";
import { fakeService } from "./fakeService";

const WAIT = { timeout: 30_000 };

/** n open alerts, as llmmeter:alerts answers them (capped at the asked limit). */
const alerts = (n: number) => (a: Record<string, unknown>) =>
  Array.from({ length: Math.min(n, Number(a.limit ?? 50)) }, (_, i) => ({
    id: `al_${i}`,
    alertType: "error_rate",
    severity: "warning",
    message: `alert ${i}`,
    metadata: null,
    userId: null,
    userName: null,
    isRead: false,
    isResolved: false,
    createdAt: Date.now() - i * 60_000,
    resolvedAt: null,
    conditionKey: `c${i}`,
    lastNotifiedAt: null,
    history: [{ severity: "warning", at: Date.now() - i * 60_000 }],
    acknowledgedAt: null,
    silencedUntil: null,
  }));

describe("Alerts page: a flood of alerts", () => {
  // 250 open alerts showed as a list of exactly 100 with nothing saying
  // that 150 more (the least severe among them) were left out.
  it("says when there are more open alerts than it lists", async () => {
    window.history.replaceState(null, "", "/admin/alerts");
    const svc = fakeService({ "llmmeter:alerts": alerts(250) });
    render(
      <svc.Providers>
        <AlertsPage />
      </svc.Providers>,
    );
    await screen.findByTestId("alerts-more", {}, WAIT);
    expect(screen.getByTestId("alerts").children.length).toBe(100);
  });

  it("says nothing more when the list is whole", async () => {
    window.history.replaceState(null, "", "/admin/alerts");
    const svc = fakeService({ "llmmeter:alerts": alerts(100) });
    render(
      <svc.Providers>
        <AlertsPage />
      </svc.Providers>,
    );
    await screen.findByTestId("alerts", {}, WAIT);
    expect(screen.getByTestId("alerts").children.length).toBe(100);
    expect(screen.queryByTestId("alerts-more")).toBeNull();
  });
});

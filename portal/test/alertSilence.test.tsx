import { act, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AlertsPage } from "../src/pages/AlertsPage";
import { fakeService } from "./fakeService";

const WAIT = { timeout: 30_000 };

const alert = {
  id: "al_1",
  alertType: "error_rate",
  severity: "warning",
  message: "errors",
  metadata: null,
  userId: null,
  userName: null,
  isRead: true,
  isResolved: false,
  createdAt: Date.now(),
  resolvedAt: null,
  conditionKey: "c1",
  lastNotifiedAt: null,
  history: [{ severity: "warning", at: Date.now() }],
  acknowledgedAt: Date.now(),
  silencedUntil: null,
};

describe("Alerts page: silencing", () => {
  // The page sent until = the browser's Date.now() + the length: a browser
  // clock off by hours silenced for the wrong time.
  it("sends the length, not an instant from the browser's clock", async () => {
    window.history.replaceState(null, "", "/admin/alerts");
    const svc = fakeService({
      "llmmeter:alerts": () => [alert],
      "llmmeter:silenceAlert": (a) => ({ silencedUntil: 1_000 + Number(a.forMs) }),
    });
    render(
      <svc.Providers>
        <AlertsPage />
      </svc.Providers>,
    );
    await screen.findByTestId("alerts", {}, WAIT);
    await act(async () => screen.getByRole("button", { name: /^Silence alert/ }).click());
    expect(svc.calls.filter((c) => c.path === "llmmeter:silenceAlert").map((c) => c.args)).toEqual([
      { alertId: "al_1", forMs: 3_600_000 },
    ]);
  });
});

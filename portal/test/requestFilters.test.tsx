import { act, render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { RequestsPage } from "../src/pages/RequestsPage";
import { fakeService } from "./fakeService";

/** Generous: the full suite runs on a busy machine. */
const WAIT = { timeout: 30_000 };
const shown = (label: string) => {
  const select = screen.getByLabelText(label) as HTMLSelectElement;
  return select.options[select.selectedIndex]?.textContent;
};

describe("Requests page filters from the URL", () => {
  it("show a user or model that is not among the listed ones, rather than 'any', until cleared", async () => {
    window.history.replaceState(null, "", "/admin/requests?user=u_9&model=some/model");
    const svc = fakeService({
      "llmmeter:topUsers": () => [{ userId: "u_1", name: "Alice", email: null, requests: 1, totalTokens: 1, costNanoUsd: 1, costUsd: 0 }],
      "llmmeter:modelStats": () => [{ model: "other/model" }],
      "llmmeter:requestLogs": () => ({ page: [], isDone: true, continueCursor: "" }),
    });
    render(
      <svc.Providers>
        <RequestsPage />
      </svc.Providers>,
    );
    // Once both lists have loaded, without the URL's values in them.
    await within(screen.getByLabelText("User")).findByText("Alice", {}, WAIT);
    await within(screen.getByLabelText("Model")).findByText("other/model", {}, WAIT);
    expect(svc.calls.filter((c) => c.path === "llmmeter:requestLogs").at(-1)?.args).toMatchObject({ userId: "u_9", modelSlug: "some/model" });
    expect(shown("User")).toBe("u_9");
    expect(shown("Model")).toBe("some/model");
    await act(async () => screen.getByText("Clear filters").click());
    expect(shown("User")).toBe("any");
    expect(shown("Model")).toBe("any");
    expect(within(screen.getByLabelText("Model")).queryByText("some/model")).toBeNull();
  });
});

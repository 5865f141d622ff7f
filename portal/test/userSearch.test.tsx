import { act, fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { UsersPage } from "../src/pages/UsersPage";
import { fakeService, type Handler } from "./fakeService";

/** Generous: the full suite runs on a busy 2-core machine. */
const WAIT = { timeout: 30_000 };

const user = (id: string, name: string | null, email: string | null, externalId: string | null) => ({
  id,
  clerkUserId: null,
  externalId,
  email,
  name,
  role: "user",
  createdAt: 0,
});

function renderPage(searchUsers: Handler) {
  window.history.replaceState(null, "", "/admin/users?range=30d");
  const svc = fakeService({ "llmmeter:topUsers": () => [], "llmmeter:searchUsers": searchUsers });
  render(
    <svc.Providers>
      <UsersPage />
    </svc.Providers>,
  );
  const box = screen.getByRole("searchbox", { name: "Find a user" });
  const searches = () => svc.calls.filter((c) => c.path === "llmmeter:searchUsers").map((c) => c.args);
  return { box, searches };
}

describe("Users page: find a user", () => {
  it("asks once the typing pauses, with the trimmed text, and links each match to its page", async () => {
    const { box, searches } = renderPage((a) =>
      a.query === "ali" ? [user("u_7", "Alice Smith", "alice@example.com", "ALI-7"), user("u_9", null, null, "ali-9")] : [],
    );
    for (const t of ["a", "al", "ali", " ali "]) fireEvent.change(box, { target: { value: t } });
    const results = await screen.findByTestId("user-search-results", {}, WAIT);
    const links = await within(results).findAllByRole("link", {}, WAIT);
    expect(links.map((a) => [a.textContent, a.getAttribute("href")])).toEqual([
      ["Alice Smith", "/users/u_7"],
      ["ali-9", "/users/u_9"],
    ]);
    expect(searches()).toEqual([{ query: "ali", limit: 20 }]);
    expect(within(results).getByText(/alice@example\.com · ALI-7/)).toBeTruthy();
  });

  it("opens the first match on Enter", async () => {
    const { box } = renderPage(() => [user("u_7", "Alice Smith", null, "ALI-7")]);
    fireEvent.change(box, { target: { value: "alice" } });
    await screen.findByRole("link", { name: "Alice Smith" }, WAIT);
    await act(async () => fireEvent.submit(box.closest("form")!));
    expect(window.location.pathname).toBe("/users/u_7");
  });

  it("says when no user matches, and asks nothing for blank text", async () => {
    const { box, searches } = renderPage(() => []);
    fireEvent.change(box, { target: { value: "   " } });
    fireEvent.change(box, { target: { value: "zzz" } });
    await screen.findByText("No user matches", {}, WAIT);
    expect(searches()).toEqual([{ query: "zzz", limit: 20 }]);
  });

  it("shows the function's error as the page's other errors", async () => {
    const { box } = renderPage(() => {
      throw { code: "bad_request", message: "query: at most 200 characters" };
    });
    fireEvent.change(box, { target: { value: "x" } });
    const alert = await screen.findByRole("alert", {}, WAIT);
    expect(alert.textContent).toContain("query: at most 200 characters");
  });
});

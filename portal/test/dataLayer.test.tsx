import { act, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { admin } from "../src/data/api";
import { useAdminMutation, useAdminQuery } from "../src/data/hooks";
import { fakeService } from "./fakeService";
import { Logs } from "./pagedView";

function Count() {
  const q = useAdminQuery(admin.alerts, { status: "open" });
  const resolve = useAdminMutation(admin.resolveAlert);
  if (q.error) return <p>error: {q.error.code}</p>;
  if (q.loading) return <p>loading</p>;
  return (
    <>
      <p>open: {q.data!.length}</p>
      <button onClick={() => void resolve({ alertId: "a1" })}>resolve</button>
    </>
  );
}

/** A service whose llmmeter:requestLogs pages through n rows r0…r(n−1) by offset cursors. */
function pagingService(n: number) {
  const rows = Array.from({ length: n }, (_, i) => ({ _id: `r${i}` }));
  return fakeService({
    "llmmeter:requestLogs": (args) => {
      const { numItems, cursor } = args.paginationOpts as { numItems: number; cursor: string | null };
      const start = cursor === null ? 0 : Number(cursor);
      return { page: rows.slice(start, start + numItems), isDone: start + numItems >= rows.length, continueCursor: String(start + numItems) };
    },
  });
}

describe("data layer (embedded mode)", () => {
  it("loads, then refetches after a mutation", async () => {
    let open = 2;
    const svc = fakeService({
      "llmmeter:alerts": () => Array.from({ length: open }, (_, i) => ({ id: `a${i}` })),
      "llmmeter:resolveAlert": () => {
        open--;
        return { resolved: true };
      },
    });
    render(
      <svc.Providers>
        <Count />
      </svc.Providers>,
    );
    expect(screen.getByText("loading")).toBeTruthy();
    await screen.findByText("open: 2");
    await act(async () => screen.getByText("resolve").click());
    await screen.findByText("open: 1");
    expect(svc.calls.map((c) => `${c.kind} ${c.path}`)).toEqual([
      "query llmmeter:alerts",
      "mutation llmmeter:resolveAlert",
      "query llmmeter:alerts",
    ]);
    expect(svc.calls[0].args).toEqual({ status: "open" });
    expect(svc.calls.every((c) => c.auth === "Bearer llm_test")).toBe(true);
  });

  it("shows function errors as values", async () => {
    const svc = fakeService({
      "llmmeter:alerts": () => {
        throw { code: "forbidden", message: "admin role required" };
      },
    });
    render(
      <svc.Providers>
        <Count />
      </svc.Providers>,
    );
    await screen.findByText("error: forbidden");
  });

  it("pages with the continue cursor", async () => {
    const svc = pagingService(5);
    render(
      <svc.Providers>
        <Logs args={{ status: "error" }} />
      </svc.Providers>,
    );
    await screen.findByText("CanLoadMore r0,r1");
    await act(async () => screen.getByText("more").click());
    await screen.findByText("CanLoadMore r0,r1,r2,r3");
    await act(async () => screen.getByText("more").click());
    await screen.findByText("Exhausted r0,r1,r2,r3,r4");
    await waitFor(() => expect(svc.calls.at(-1)?.args).toEqual({ status: "error", paginationOpts: { numItems: 2, cursor: "4" } }));
  });

  it("says older rows remain when the view stops at its most pages", async () => {
    // The request explorer said "End of the log" after 1,000 rows of 6,000.
    const svc = pagingService(50);
    render(
      <svc.Providers>
        <Logs args={{}} />
      </svc.Providers>,
    );
    for (let n = 2; n < 40; n += 2) {
      await screen.findByText(new RegExp(`^CanLoadMore r0(,r\\d+)*,r${n - 1}$`));
      await act(async () => screen.getByText("more").click());
    }
    await screen.findByText(/^Exhausted capped r0,.*,r39$/);
  });
});

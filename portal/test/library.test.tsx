import { act, render, screen, waitFor, within } from "@testing-library/react";
import { ConvexReactClient } from "convex/react";
import { anyApi } from "convex/server";
import { describe, expect, it } from "vitest";
import { admin } from "../src/data/api";
import { useAdminQuery } from "../src/data/hooks";
import { mergeHead } from "../src/data/httpBackend";
import * as lib from "../src/index";
import { LlmmeterPortal } from "../src/library/Portal";
import { httpDataClient } from "../src/library/httpDataClient";
import { OverviewPage } from "../src/pages/OverviewPage";
import { Logs } from "./pagedView";
import { fakeService, json } from "./fakeService";

describe("the library entry", () => {
  it("exports the components the standalone app mounts", () => {
    // One code path: the app imports these modules directly (for its chunks).
    expect(lib.LlmmeterPortal).toBe(LlmmeterPortal);
    expect(lib.httpDataClient).toBe(httpDataClient);
    expect(lib.DEFAULT_MODULE).toBe("llmmeter");
  });
});

function Overview() {
  const q = useAdminQuery(admin.overview, { from: 0, to: 1 });
  return <p>{q.data ? "got it" : q.error ? q.error.code : "loading"}</p>;
}

describe("the module of the function paths", () => {
  it("is the HTTP client's option, llmmeter by default", async () => {
    for (const [module, want] of [
      [undefined, "llmmeter:overview"],
      ["ops", "ops:overview"],
    ] as const) {
      const paths: string[] = [];
      const data = lib.httpDataClient({
        module,
        getToken: () => "llm_k",
        fetch: (async (_u: RequestInfo | URL, init?: RequestInit) => {
          paths.push((JSON.parse(String(init!.body)) as { path: string }).path);
          return json(200, { status: "success", value: {} });
        }) as typeof fetch,
      });
      const { unmount } = render(
        <lib.LlmmeterProvider client={data}>
          <Overview />
        </lib.LlmmeterProvider>,
      );
      await screen.findByText("got it");
      expect(paths).toEqual([want]);
      unmount();
    }
  });

  it("is the module of the app's functions for the Convex client", async () => {
    // A real ConvexReactClient over a fake socket: the query it subscribes
    // to names the app's module (from api.<module>), not the portal's.
    const sent: { type: string; modifications?: { type: string; udfPath: string }[] }[] = [];
    class FakeSocket {
      static readonly OPEN = 1;
      readyState = 0;
      onopen: ((e: unknown) => void) | null = null;
      onmessage: ((e: unknown) => void) | null = null;
      onclose: ((e: unknown) => void) | null = null;
      onerror: ((e: unknown) => void) | null = null;
      constructor() {
        setTimeout(() => {
          this.readyState = 1;
          this.onopen?.({});
        }, 0);
      }
      send(m: string) {
        sent.push(JSON.parse(m));
      }
      close() {
        this.readyState = 3;
        setTimeout(() => this.onclose?.({ code: 1000, reason: "" }), 0);
      }
    }
    const client = new ConvexReactClient("https://happy-otter-123.convex.cloud", {
      webSocketConstructor: FakeSocket as unknown as typeof WebSocket,
      unsavedChangesWarning: false,
    });
    let unmount = () => {};
    try {
      const data = lib.convexDataClient({ client, functions: anyApi.chatLlmmeter as never });
      ({ unmount } = render(
        <lib.LlmmeterProvider client={data}>
          <Overview />
        </lib.LlmmeterProvider>,
      ));
      await waitFor(() => {
        const paths = sent.flatMap((m) => (m.type === "ModifyQuerySet" ? (m.modifications ?? []).map((x) => x.udfPath) : []));
        expect(paths, JSON.stringify(sent)).toContain("chatLlmmeter:overview");
      }, { timeout: 30_000 });
    } finally {
      unmount();
      await client.close();
    }
  });
});

type Row = { _id: string };
const page = (ids: number[], isDone = false) => ({ page: ids.map((i) => ({ _id: `r${i}` })), isDone, continueCursor: `r${ids.at(-1)}` });

describe("mergeHead", () => {
  it("puts new rows on top and keeps the older pages and the last cursor", () => {
    const merged = mergeHead<Row>([page([10, 9]), page([8, 7])], page([11, 10]))!;
    expect(merged.flatMap((p) => p.page.map((r) => r._id))).toEqual(["r11", "r10", "r9", "r8", "r7"]);
    expect(merged).toHaveLength(2);
    expect(merged.at(-1)!.continueCursor).toBe("r7");
  });
  it("replaces a single page", () => {
    expect(mergeHead<Row>([page([2, 1])], page([3, 2]))).toEqual([page([3, 2])]);
  });
  it("reports a gap when the new first page does not reach the rows shown", () => {
    expect(mergeHead<Row>([page([10, 9]), page([8, 7])], page([14, 13]))).toBeNull();
    // ...unless it is the whole log.
    expect(mergeHead<Row>([page([10, 9]), page([8, 7])], page([14, 13], true))).not.toBeNull();
  });
});

describe("a paginated view's poll", () => {
  it("fetches only the first page, then only the next page on load more", async () => {
    let rows = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((i) => ({ _id: `r${i}` }));
    const svc = fakeService({
      "llmmeter:requestLogs": (args) => {
        const { numItems, cursor } = args.paginationOpts as { numItems: number; cursor: string | null };
        const start = cursor === null ? 0 : rows.findIndex((r) => r._id === cursor) + 1;
        const p = rows.slice(start, start + numItems);
        return { page: p, isDone: start + numItems >= rows.length, continueCursor: p.at(-1)?._id ?? "" };
      },
    });
    render(
      <svc.Providers>
        <Logs args={{}} />
      </svc.Providers>,
    );
    const rowsShown = () => screen.getByTestId("rows").textContent!.split(" ")[1];
    await waitFor(() => expect(rowsShown()).toBe("r10,r9"));
    await act(async () => screen.getByText("more").click());
    await waitFor(() => expect(rowsShown()).toBe("r10,r9,r8,r7"));
    const cursors = () => svc.calls.filter((c) => c.path === "llmmeter:requestLogs").map((c) => (c.args.paginationOpts as { cursor: string | null }).cursor);
    expect(cursors()).toEqual([null, "r9"]);

    // A new row, then a poll: one call, for the first page.
    rows = [{ _id: "r11" }, ...rows];
    await act(async () => svc.client.invalidate());
    await waitFor(() => expect(rowsShown()).toBe("r11,r10,r9,r8,r7"));
    expect(cursors()).toEqual([null, "r9", null]);

    // Load more continues from the last row shown.
    await act(async () => screen.getByText("more").click());
    await waitFor(() => expect(rowsShown()).toBe("r11,r10,r9,r8,r7,r6,r5"));
    expect(cursors()).toEqual([null, "r9", null, "r7"]);

    // More new rows than a page: the view reloads as many pages as it had.
    rows = [15, 14, 13, 12].map((i) => ({ _id: `r${i}` })).concat(rows);
    await act(async () => svc.client.invalidate());
    await waitFor(() => expect(rowsShown()).toBe("r15,r14,r13,r12,r11,r10"));
    expect(cursors().slice(4)).toEqual([null, "r14", "r12"]);
  });
});

describe("an outage", () => {
  it("shows one banner and an unreachable service in the health panel", async () => {
    const overview = {
      requests: 3, successful: 3, failed: 0, promptTokens: 1, completionTokens: 1, totalTokens: 2, costNanoUsd: 1,
      activeUsers: 1, avgProcessingMs: 1, p95ProcessingMs: 1, cacheHitRate: 0,
      health: { checkedAt: Date.now(), openrouterOk: true, storeOk: true, outboxDepth: 0, jobLagMs: 0, keyRemainingNanoUsd: null },
    };
    const svc = fakeService({ "llmmeter:overview": () => overview, "llmmeter:usageSeries": () => [] });
    render(
      <svc.Providers>
        <OverviewPage />
      </svc.Providers>,
    );
    const health = await screen.findByTestId("health");
    await waitFor(() => expect(within(health).getAllByText("ok").length).toBeGreaterThan(0));
    expect(screen.queryAllByRole("alert")).toHaveLength(0);

    svc.setDown(true);
    await act(async () => svc.client.invalidate());
    await screen.findByTestId("outage");
    await waitFor(() => expect(within(screen.getByTestId("health")).getByText("unreachable")).toBeTruthy());
    expect(screen.getAllByRole("alert")).toHaveLength(1);
    expect(within(screen.getByTestId("health")).queryByText("ok")).toBeNull();
    // The last data stays.
    expect(within(screen.getByTestId("stat-requests")).getByText("3")).toBeTruthy();

    svc.setDown(false);
    await act(async () => svc.client.invalidate());
    await waitFor(() => expect(screen.queryByTestId("outage")).toBeNull());
    expect(within(screen.getByTestId("health")).getAllByText("ok").length).toBeGreaterThan(0);
  });
});

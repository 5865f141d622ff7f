/**
 * llmmeter:requestLogs with a filter outside its index range (the user, with
 * an API key) reads at most REQUEST_LOG_SCAN_ROWS rows a page: a page at
 * the bound comes back short with isDone false and the next goes on, as in
 * the embedded engine (internal/store/sqlitestore/requestlogs_scan_test.go).
 */
import { expect, test } from "vitest";
import { api } from "./_generated/api";
import { REQUEST_LOG_SCAN_ROWS } from "../packages/convex/src/adminRequestLogs";
import { ADMIN, makeUsers, newBackend } from "./test.setup";

test("a filter outside the index scans a bounded number of rows a page", async () => {
  const t = newBackend();
  const [many, rare] = await makeUsers(t, 2);
  const key = await t.run((ctx) =>
    ctx.db.insert("apiKeys", { userId: many, keyHash: "a".repeat(64), prefix: "llm_ab", name: "svc", isAdmin: false, createdAt: 0 }),
  );
  const row = (i: number, userId: typeof many) => ({
    userId,
    apiKeyId: key,
    requestType: "chat_completion",
    method: "POST",
    endpoint: "/api/v1/chat/completions",
    status: "success" as const,
    statusCode: 200,
    requestSize: 1,
    responseSize: 1,
    processingTime: 1,
    timestamp: 1e12 + i,
    requestId: `r${String(i).padStart(5, "0")}`,
  });
  // Newest first: 2,500 rows of "many", then the one row of "rare" before them all.
  await t.run(async (ctx) => {
    await ctx.db.insert("requestLogs", row(0, rare));
  });
  for (let lo = 1; lo <= 2500; lo += 500) {
    await t.run(async (ctx) => {
      for (let i = lo; i < lo + 500; i++) await ctx.db.insert("requestLogs", row(i, many));
    });
  }
  const admin = t.withIdentity(ADMIN);
  const page = (cursor: string | null) =>
    admin.query(api.llmmeter.requestLogs, { apiKeyId: key, userId: rare, paginationOpts: { numItems: 10, cursor } });
  expect(REQUEST_LOG_SCAN_ROWS).toBe(2000);
  const first = await page(null);
  expect(first.page).toEqual([]);
  expect(first.isDone).toBe(false);
  const second = await page(first.continueCursor);
  expect(second.page.map((r) => r.requestId)).toEqual(["r00000"]);
  expect(second.isDone).toBe(true);
});

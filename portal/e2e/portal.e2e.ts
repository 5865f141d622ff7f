import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatInt } from "../src/lib/format";
import { formatUsd } from "../src/lib/money";
import { type RunningBrowser, startBrowser } from "./browser";

const ctx = inject("e2e");
const SHOTS = resolve(import.meta.dirname, "../../docs/screenshots");

/** Calls an admin function the way the portal does, for the expected values. */
async function call<T>(kind: "query" | "mutation", path: string, args: Record<string, unknown>, key = ctx.adminKey): Promise<T> {
  const r = await fetch(`${ctx.baseUrl}/api/${kind}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
    body: JSON.stringify({ path, args, format: "json" }),
  });
  const body = (await r.json()) as { status: string; value: T; errorMessage?: string };
  if (body.status !== "success") throw new Error(`${path}: ${body.errorMessage}`);
  return body.value;
}
const query = <T>(path: string, args: Record<string, unknown> = {}) => call<T>("query", path, args);

let rb: RunningBrowser;
let context: BrowserContext;
let page: Page;

async function shot(name: string) {
  await page.waitForTimeout(300); // let charts lay out
  await page.screenshot({ path: `${SHOTS}/${name}.png` });
}

async function go(path: string, pageName: string) {
  await page.click(`nav a[href="/admin${path}"]`);
  await page.waitForSelector(`section[data-page="${pageName}"]`);
}

async function args(pageName: string): Promise<Record<string, unknown>> {
  return JSON.parse((await page.getAttribute(`section[data-page="${pageName}"]`, "data-args"))!);
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  rb = await startBrowser();
  context = await rb.browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: "America/Los_Angeles", locale: "en-US" });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  await context?.close();
  await rb?.close();
});

describe("portal on the embedded engine", () => {
  it("refuses a non-admin key", async () => {
    const r = await fetch(`${ctx.baseUrl}/api/query`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${ctx.userKey}` },
      body: JSON.stringify({ path: "admin:overview", args: { from: 0, to: 1 }, format: "json" }),
    });
    const body = (await r.json()) as { status?: string };
    expect(body.status).not.toBe("success");

    await page.goto(`${ctx.baseUrl}/admin/`);
    await page.fill("#api-key", ctx.userKey);
    await page.click("button[type=submit]");
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toContain("not an admin key");
    await shot("signin");
  });

  it("signs in and shows the overview's real numbers", async () => {
    await page.fill("#api-key", ctx.adminKey);
    await page.click("button[type=submit]");
    await page.waitForSelector('section[data-page="overview"] [data-testid="stat-requests"]');
    const sec = page.locator('section[data-page="overview"]');
    const from = Number(await sec.getAttribute("data-from"));
    const to = Number(await sec.getAttribute("data-to"));
    const o = await query<{ requests: number; costNanoUsd: number; activeUsers: number; totalTokens: number }>("admin:overview", { from, to });
    expect(o.requests).toBeGreaterThan(0);
    expect(await page.textContent('[data-testid="stat-requests"] .stat-value')).toBe(formatInt(o.requests));
    expect(await page.textContent('[data-testid="stat-tokens"] .stat-value')).toBe(formatInt(o.totalTokens));
    expect(await page.textContent('[data-testid="stat-cost"] .stat-value')).toBe(formatUsd(o.costNanoUsd));
    expect(await page.textContent('[data-testid="stat-users"] .stat-value')).toBe(formatInt(o.activeUsers));
    await page.waitForSelector(".recharts-surface");
    await shot("overview");
    // The 30-day range, from its own arguments.
    await page.getByRole("button", { name: "30 d", exact: true }).click();
    await page.waitForFunction(() => document.querySelector("section[data-page=overview]")?.getAttribute("data-from"));
    const f30 = Number(await sec.getAttribute("data-from"));
    const o30 = await query<{ requests: number }>("admin:overview", { from: f30, to: Number(await sec.getAttribute("data-to")) });
    await expect.poll(() => page.textContent('[data-testid="stat-requests"] .stat-value')).toBe(formatInt(o30.requests));
  });

  it("usage: series and filters", async () => {
    await go("/usage", "usage");
    let a = await args("usage");
    let points = await query<unknown[]>("admin:usageSeries", a);
    await expect.poll(() => page.locator('[data-testid="usage-table"] tbody tr').count()).toBe(points.length);
    await shot("usage");
    const model = ctx.seed.summary.models[0];
    await page.selectOption('select[aria-label="Filter"]', `model:${model}`);
    await expect.poll(async () => (await args("usage")).modelSlug).toBe(model);
    a = await args("usage");
    points = await query<{ costNanoUsd: number }[]>("admin:usageSeries", a);
    await expect.poll(() => page.locator('[data-testid="usage-table"] tbody tr').count()).toBe(points.length);
    await page.selectOption('select[aria-label="Period"]', "hourly");
    await expect.poll(async () => (await args("usage")).period).toBe("hourly");
  });

  it("period labels are the period keys of the reporting zone, not the browser's (Los Angeles)", async () => {
    // The service runs with REPORTING_TZ unset (UTC); the browser is in America/Los_Angeles.
    expect(await query<{ reportingTz: string }>("admin:settings")).toEqual({ reportingTz: "UTC" });
    await go("/usage", "usage");
    await page.selectOption('select[aria-label="Filter"]', "all");
    await page.selectOption('select[aria-label="Period"]', "daily");
    await expect.poll(async () => (await args("usage")).period).toBe("daily");
    const points = await query<{ periodKey: string }[]>("admin:usageSeries", await args("usage"));
    expect(points.length).toBeGreaterThan(1);
    await expect.poll(() => page.locator("[data-testid=usage-table] [data-period-key]").count()).toBe(points.length);
    const cells = await page.locator("[data-testid=usage-table] [data-period-key]").evaluateAll((els) =>
      els.map((e) => ({ key: e.getAttribute("data-period-key")!, text: e.textContent! })),
    );
    expect(cells.map((c) => c.key).sort()).toEqual(points.map((p) => p.periodKey).sort());
    // "2026-11-29" must read "Nov 29, 2026" (the browser's zone would make the UTC day "Nov 28").
    const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    for (const c of cells) {
      const [y, m, d] = c.key.split("-").map(Number);
      expect(c.text).toBe(`${MONTHS[m - 1]} ${d}, ${y}`);
    }
    // The range picker names the zone its days are in.
    expect(await page.textContent('[data-testid="range-zone"]')).toContain("UTC");
  });

  it("a chosen range survives a reload and back/forward", async () => {
    await go("/usage", "usage");
    await page.getByRole("button", { name: "Last month" }).click();
    await page.waitForURL(/range=lastmonth/);
    const now = new Date();
    await expect.poll(async () => (await args("usage")).from).toBe(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    const before = await args("usage");
    await page.reload();
    await page.waitForSelector('section[data-page="usage"]');
    expect(await page.getByRole("button", { name: "Last month" }).getAttribute("aria-pressed")).toBe("true");
    expect(await args("usage")).toEqual(before);

    // Custom dates: whole UTC days, both included, also after a reload.
    await page.getByRole("button", { name: "Custom" }).click();
    await page.fill('input[aria-label="From date"]', "2026-11-01");
    await page.fill('input[aria-label="To date"]', "2026-11-29");
    await page.waitForURL(/from=2026-11-01.*to=2026-11-29/);
    await expect.poll(async () => (await args("usage")).to).toBe(Date.UTC(2026, 10, 30));
    await page.reload();
    await page.waitForSelector('section[data-page="usage"]');
    const a = await args("usage");
    expect([a.from, a.to]).toEqual([Date.UTC(2026, 10, 1), Date.UTC(2026, 10, 30)]);
    expect(await page.inputValue('input[aria-label="From date"]')).toBe("2026-11-01");

    // Back returns to last month.
    await page.goBack();
    await page.goBack();
    await page.waitForURL(/range=lastmonth/);
    await expect.poll(async () => (await args("usage")).from).toBe(before.from);
  });

  it("users: ranking, a user's page and a quota edit that persists", async () => {
    await go("/users", "users");
    const a = await args("users");
    const top = await query<{ userId: string; costNanoUsd: number; requests: number }[]>("admin:topUsers", a);
    await page.waitForSelector('[data-testid="users-table"] tbody tr');
    const first = page.locator('[data-testid="users-table"] tbody tr').first();
    expect(await first.locator("td").nth(4).textContent()).toBe(formatUsd(top[0].costNanoUsd));
    expect(await page.locator('[data-testid="users-table"] tbody tr').count()).toBe(top.length);
    await shot("users");
    // Sorting by requests ascending puts the smallest first.
    await page.getByRole("button", { name: "Requests" }).click();
    await page.getByRole("button", { name: "Requests" }).click();
    const minReq = Math.min(...top.map((u) => u.requests));
    expect(await page.locator('[data-testid="users-table"] tbody tr').first().locator("td").nth(2).textContent()).toBe(formatInt(minReq));

    await page.goto(`${ctx.baseUrl}/admin/users/${encodeURIComponent(top[0].userId)}`); // a reload on a route (SPA fallback)
    await page.waitForSelector('[data-testid="user-cost"]');
    const ua = await args("user");
    const d = await query<{ totals: { costNanoUsd: number } }>("admin:userDetail", ua);
    expect(await page.textContent('[data-testid="user-cost"] .stat-value')).toBe(formatUsd(d.totals.costNanoUsd));
    await page.selectOption('select[aria-label="Quota type"]', "monthly_cost_usd");
    await page.fill('input[aria-label="Quota limit"]', "42.5");
    await page.click("text=Save quota");
    await page.locator(".quota-form").getByText(/Quota (created|updated)\./).waitFor(); // (also said in the live region)
    const after = await query<{ quotas: { quotaType: string; limitNanoUsd: number | null }[] }>("admin:userDetail", ua);
    expect(after.quotas.find((q) => q.quotaType === "monthly_cost_usd")?.limitNanoUsd).toBe(42_500_000_000);
    await page.reload();
    await page.waitForSelector('[data-testid="quota-table"] tr[data-quota-type="monthly_cost_usd"] .quota-limit');
    expect(await page.textContent('tr[data-quota-type="monthly_cost_usd"] .quota-limit')).toBe("$42.50");
    await shot("user");
  });

  it("models side by side", async () => {
    await go("/models", "models");
    const stats = await query<{ model: string; costNanoUsd: number }[]>("admin:modelStats", await args("models"));
    await page.waitForSelector('[data-testid="models-table"] tbody tr');
    expect(await page.locator('[data-testid="models-table"] tbody tr').count()).toBe(stats.length);
    const row = page.locator('[data-testid="models-table"] tbody tr').first();
    expect(await row.locator("td").nth(0).textContent()).toBe(stats[0].model);
    expect(await row.locator("td").nth(3).textContent()).toBe(formatUsd(stats[0].costNanoUsd));
    await shot("models");
  });

  it("requests: pagination, filters and untrusted strings as text", async () => {
    await go("/requests", "requests");
    await expect.poll(() => page.textContent('[data-testid="row-count"]')).toBe("50 requests shown");
    const first = await query<{ page: { requestId: string }[] }>("admin:requestLogs", { paginationOpts: { numItems: 50, cursor: null } });
    expect(await page.locator("tr[data-request-id]").first().getAttribute("data-request-id")).toBe(first.page[0].requestId);
    await page.click("text=Load more");
    await expect.poll(() => page.textContent('[data-testid="row-count"]')).toBe("100 requests shown");

    // Untrusted strings: the hostile row is among the newest.
    const hostileRow = page.locator(`tr[data-request-id="${ctx.seed.hostile.requestId}"]`);
    await hostileRow.locator(".row-toggle").click();
    const details = page.locator('[data-testid="request-details"]');
    await details.waitFor();
    expect(await details.locator(".error-message").textContent()).toBe(ctx.seed.hostile.errorMessage);
    expect(await details.textContent()).toContain(ctx.seed.hostile.userAgent);
    expect(await hostileRow.textContent()).toContain(ctx.seed.hostile.model);
    expect(await page.locator("img[src=x], svg[onload]").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await shot("requests");

    await page.selectOption('select[aria-label="Status"]', "error");
    await expect.poll(async () => (await args("requests")).status).toBe("error");
    await page.waitForSelector("tr[data-request-id]");
    const errs = await query<{ page: { requestId: string; statusCode: number }[] }>("admin:requestLogs", {
      status: "error",
      paginationOpts: { numItems: 50, cursor: null },
    });
    await expect.poll(() => page.locator("tr[data-request-id]").first().getAttribute("data-request-id")).toBe(errs.page[0].requestId);
    const codes = await page.locator("tr[data-request-id] .badge").allTextContents();
    expect(codes.every((c) => Number(c) >= 400)).toBe(true);

    const model = ctx.seed.summary.models[1];
    await page.selectOption('select[aria-label="Model"]', model);
    await expect.poll(async () => (await args("requests")).modelSlug).toBe(model);
    const filtered = await query<{ page: { requestId: string }[] }>("admin:requestLogs", {
      ...(await args("requests")),
      paginationOpts: { numItems: 50, cursor: null },
    });
    await expect.poll(() => page.locator("tr[data-request-id]").count()).toBe(filtered.page.length);
  });

  it("user names from the store render as text", async () => {
    await page.goto(`${ctx.baseUrl}/admin/users/${encodeURIComponent(ctx.seed.hostile.userId)}`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(ctx.seed.hostile.name);
    expect(await page.locator("img[src=x]").count()).toBe(0);
  });

  it("alerts: resolve one and it stays resolved", async (t) => {
    await page.goto(`${ctx.baseUrl}/admin/alerts`);
    await page.waitForSelector('section[data-page="alerts"]');
    const open = await query<{ id: string }[]>("admin:alerts", { status: "open", limit: 100 });
    if (ctx.seed.ops.alerts === 0 || open.length === 0) {
      await shot("alerts");
      t.skip(); // the store could not take alerts when the data was seeded
    }
    await expect.poll(() => page.locator("li[data-alert-id]").count()).toBe(open.length);
    await shot("alerts");
    const id = open[0].id;
    await page.locator(`li[data-alert-id="${id}"] >> text=Mark read`).click();
    await page.locator(`li[data-alert-id="${id}"] >> text=Resolve`).click();
    await expect.poll(() => page.locator(`li[data-alert-id="${id}"]`).count()).toBe(0);
    const resolved = await query<{ id: string; isResolved: boolean; isRead: boolean }[]>("admin:alerts", { status: "resolved", limit: 100 });
    expect(resolved.find((a) => a.id === id)).toMatchObject({ isResolved: true, isRead: true });
    await page.reload();
    await page.getByRole("button", { name: "resolved" }).click();
    await page.locator(`li[data-alert-id="${id}"]`).waitFor();
  });

  it("reports: list and download", async () => {
    await go("/reports", "reports");
    const reports = await query<{ id: string; periodKey: string }[]>("admin:reports", { limit: 50 });
    if (reports.length === 0) {
      await page.getByText("No reports yet").waitFor();
    } else {
      await expect.poll(() => page.locator('[data-testid="reports-table"] tbody tr').count()).toBe(reports.length);
      const [download] = await Promise.all([page.waitForEvent("download"), page.locator('[data-testid="reports-table"] tbody tr').first().getByRole("button", { name: /^Download CSV for / }).click()]);
      expect(download.suggestedFilename()).toMatch(/^llmmeter-(daily|weekly)-.+\.csv$/);
    }
    await shot("reports");
  });

  it("forecast against the budget", async () => {
    await go("/forecast", "forecast");
    const f = await query<{ rows: { scope: string; costNanoUsd: number }[] }>("admin:forecast");
    const system = f.rows.find((r) => r.scope === "system");
    if (system) {
      await page.waitForSelector('[data-testid="forecast-cost"]');
      expect(await page.textContent('[data-testid="forecast-cost"] .stat-value')).toBe(formatUsd(system.costNanoUsd, 2));
    } else {
      await page.getByText("No forecast yet").waitFor();
    }
    await shot("forecast");
  });
});

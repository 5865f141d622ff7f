import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatInt, formatMs } from "../src/lib/format";
import { formatDate, formatDateTime, labelOfPeriodKey } from "../src/lib/time";
import { dateKeyOf } from "../src/lib/calendar";
import { formatUsd } from "../src/lib/money";
import { percentiles } from "../src/pages/ModelsPage";
import type { Overview } from "../src/data/api";
import { ACTIVE_USERS_LOWER_BOUND, activeUsersText } from "../src/pages/overview/OverviewStats";
import { adminMutation, adminQuery as query } from "./adminCall";
import { type RunningBrowser, startBrowser } from "./browser";

const ctx = inject("e2e");
const SHOTS = resolve(import.meta.dirname, "../../docs/screenshots");

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
  page.setDefaultTimeout(60_000); // a shared 2-core machine can take 15 s+ to load a page
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
      body: JSON.stringify({ path: "llmmeter:overview", args: { from: 0, to: 1 }, format: "json" }),
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
    const o = await query<Overview>("llmmeter:overview", { from, to });
    expect(o.requests).toBeGreaterThan(0);
    expect(await page.textContent('[data-testid="stat-requests"] .stat-value')).toBe(formatInt(o.requests));
    expect(await page.textContent('[data-testid="stat-tokens"] .stat-value')).toBe(formatInt(o.totalTokens));
    expect(await page.textContent('[data-testid="stat-cost"] .stat-value')).toBe(formatUsd(o.costNanoUsd));
    expect(await page.textContent('[data-testid="stat-users"] .stat-value')).toBe(activeUsersText(o));
    await page.waitForSelector(".recharts-surface");
    await shot("overview");
    // The 30-day range, from its own arguments.
    await page.getByRole("button", { name: "30 d", exact: true }).click();
    await page.waitForFunction(() => document.querySelector("section[data-page=overview]")?.getAttribute("data-from"));
    const f30 = Number(await sec.getAttribute("data-from"));
    const o30 = await query<Overview>("llmmeter:overview", { from: f30, to: Number(await sec.getAttribute("data-to")) });
    await expect.poll(() => page.textContent('[data-testid="stat-requests"] .stat-value')).toBe(formatInt(o30.requests));
    // Active users as the service counts them: "≥ N" with the reason when the count is a lower bound
    // (several stored periods with data; the demo's data may sit in one, which is exact).
    const users30 = page.locator('[data-testid="stat-users"] .stat-value');
    await expect.poll(() => users30.textContent()).toBe(activeUsersText(o30));
    expect(await users30.getAttribute("title")).toBe(o30.activeUsersExact ? null : ACTIVE_USERS_LOWER_BOUND);
  });

  it("usage: series and filters", async () => {
    await go("/usage", "usage");
    let a = await args("usage");
    let points = await query<unknown[]>("llmmeter:usageSeries", a);
    await expect.poll(() => page.locator('[data-testid="usage-table"] tbody tr').count()).toBe(points.length);
    await shot("usage");
    const model = ctx.seed.summary.models[0];
    await page.selectOption('select[aria-label="Filter"]', `model:${model}`);
    await expect.poll(async () => (await args("usage")).modelSlug).toBe(model);
    a = await args("usage");
    points = await query<{ costNanoUsd: number }[]>("llmmeter:usageSeries", a);
    await expect.poll(() => page.locator('[data-testid="usage-table"] tbody tr').count()).toBe(points.length);
    await page.selectOption('select[aria-label="Period"]', "hourly");
    await expect.poll(async () => (await args("usage")).period).toBe("hourly");
  });

  it("period labels are the period keys of the reporting zone, not the browser's (Los Angeles)", async () => {
    // The service runs with REPORTING_TZ unset (UTC); the browser is in America/Los_Angeles.
    expect(await query<{ reportingTz: string }>("llmmeter:settings")).toEqual({ reportingTz: "UTC" });
    await go("/usage", "usage");
    await page.selectOption('select[aria-label="Filter"]', "all");
    await page.selectOption('select[aria-label="Period"]', "daily");
    await expect.poll(async () => (await args("usage")).period).toBe("daily");
    const points = await query<{ periodKey: string }[]>("llmmeter:usageSeries", await args("usage"));
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
    const top = await query<{ userId: string; costNanoUsd: number; requests: number }[]>("llmmeter:topUsers", a);
    await page.waitForSelector('[data-testid="users-table"] tbody tr');
    const first = page.locator('[data-testid="users-table"] tbody tr').first();
    expect(await first.locator("td").nth(4).textContent()).toBe(formatUsd(top[0].costNanoUsd));
    expect(await page.locator('[data-testid="users-table"] tbody tr').count()).toBe(top.length);
    // Each row's cost this month (the reporting zone's) is the service's, and that column sorts.
    const { reportingTz } = await query<{ reportingTz: string }>("llmmeter:settings");
    const thisMonth = dateKeyOf(Date.now(), reportingTz).slice(0, 7);
    const mc = await query<{ users: { userId: string; costNanoUsd: number }[] }>("llmmeter:userMonthCosts", {
      month: thisMonth,
      userIds: top.map((u) => u.userId),
    });
    const monthCell = (row: number) => page.locator('[data-testid="users-table"] tbody tr').nth(row).locator("td").nth(5);
    await expect.poll(() => page.locator('[data-testid="month-cost-pending"]').count(), { timeout: 30_000 }).toBe(0);
    const monthOf = new Map(mc.users.map((u) => [u.userId, u.costNanoUsd]));
    for (let i = 0; i < top.length; i++) {
      const href = await page.locator('[data-testid="users-table"] tbody tr').nth(i).locator("a.user-link").getAttribute("href");
      const userId = decodeURIComponent(href!.split("/").at(-1)!);
      expect(await monthCell(i).textContent(), userId).toBe(formatUsd(monthOf.get(userId)!));
    }
    await page.getByRole("button", { name: `Cost ${labelOfPeriodKey(thisMonth)}` }).click();
    expect(await monthCell(0).textContent()).toBe(formatUsd(Math.max(...mc.users.map((u) => u.costNanoUsd))));
    await page.getByRole("button", { name: "Cost", exact: true }).click();
    await shot("users");
    // One click to this month's top spenders: the range and the ranking in the URL.
    await page.click('[data-testid="month-by-cost"]');
    await page.waitForURL((u) => u.searchParams.get("range") === "month");
    await expect.poll(async () => (await args("users")).by).toBe("cost");
    const month = await query<{ costNanoUsd: number }[]>("llmmeter:topUsers", await args("users"));
    if (month.length > 0) {
      await expect
        .poll(() => page.locator('[data-testid="users-table"] tbody tr').first().locator("td").nth(4).textContent(), { timeout: 30_000 })
        .toBe(formatUsd(month[0].costNanoUsd));
    }
    await page.goBack();
    await page.waitForURL((u) => u.searchParams.get("range") !== "month");
    await page.waitForSelector('[data-testid="users-table"] tbody tr');
    // Sorting by requests ascending puts the smallest first.
    await page.getByRole("button", { name: "Requests" }).click();
    await page.getByRole("button", { name: "Requests" }).click();
    const minReq = Math.min(...top.map((u) => u.requests));
    expect(await page.locator('[data-testid="users-table"] tbody tr').first().locator("td").nth(2).textContent()).toBe(formatInt(minReq));

    await page.goto(`${ctx.baseUrl}/admin/users/${encodeURIComponent(top[0].userId)}`); // a reload on a route (SPA fallback)
    await page.waitForSelector('[data-testid="user-cost"]');
    const ua = await args("user");
    const d = await query<{ totals: { costNanoUsd: number } }>("llmmeter:userDetail", ua);
    expect(await page.textContent('[data-testid="user-cost"] .stat-value')).toBe(formatUsd(d.totals.costNanoUsd));
    await page.selectOption('select[aria-label="Quota type"]', "monthly_cost_usd");
    await page.fill('input[aria-label="Quota limit"]', "42.5");
    await page.click("text=Save quota");
    await page.locator(".quota-form").getByText(/Quota (created|updated)\./).waitFor(); // (also said in the live region)
    const after = await query<{ quotas: { quotaType: string; limitNanoUsd: number | null }[] }>("llmmeter:userDetail", ua);
    expect(after.quotas.find((q) => q.quotaType === "monthly_cost_usd")?.limitNanoUsd).toBe(42_500_000_000);
    await page.reload();
    await page.waitForSelector('[data-testid="quota-table"] tr[data-quota-type="monthly_cost_usd"] .quota-limit');
    expect(await page.textContent('tr[data-quota-type="monthly_cost_usd"] .quota-limit')).toBe("$42.50");
    await shot("user");
  });

  it("models side by side", async () => {
    await go("/models", "models");
    type P = number | null;
    const stats = await query<
      { model: string; costNanoUsd: number; p50LatencyMs: P; p95LatencyMs: P; p99LatencyMs: P; p50TtftMs: P; p95TtftMs: P; p99TtftMs: P }[]
    >("llmmeter:modelStats", await args("models"));
    await page.waitForSelector('[data-testid="models-table"] tbody tr');
    expect(await page.locator('[data-testid="models-table"] tbody tr').count()).toBe(stats.length);
    const row = page.locator('[data-testid="models-table"] tbody tr').first();
    expect(await row.locator("td").nth(0).textContent()).toBe(stats[0].model);
    expect(await row.locator("td").nth(3).textContent()).toBe(formatUsd(stats[0].costNanoUsd));
    // Fine-bucket percentiles: the demo's streamed requests record a first token, so TTFT is known.
    const s0 = stats[0];
    expect(s0.p95LatencyMs).not.toBeNull();
    expect(s0.p95TtftMs).not.toBeNull();
    expect(await row.locator("td").nth(5).textContent()).toBe(percentiles(s0.p50LatencyMs, s0.p95LatencyMs, s0.p99LatencyMs));
    expect(await row.locator("td").nth(6).textContent()).toBe(percentiles(s0.p50TtftMs, s0.p95TtftMs, s0.p99TtftMs));
    // Every chart names every model in full on its axis (wrapped, never cut off).
    const ticks = await page.$$eval('section[data-page="models"] figure.chart text[data-category]', (ts) =>
      ts.map((t) => ({ name: t.getAttribute("data-category"), text: t.textContent })),
    );
    expect(ticks.length).toBe(4 * stats.length);
    for (const t of ticks) expect(t.text).toBe(t.name);
    expect(new Set(ticks.map((t) => t.name))).toEqual(new Set(stats.map((m) => m.model)));
    await shot("models");
  });

  it("requests: pagination, filters and untrusted strings as text", async () => {
    await go("/requests", "requests");
    await expect.poll(() => page.textContent('[data-testid="row-count"]')).toBe("50 requests shown");
    const first = await query<{ page: { requestId: string }[] }>("llmmeter:requestLogs", { paginationOpts: { numItems: 50, cursor: null } });
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
    const errs = await query<{ page: { requestId: string; statusCode: number }[] }>("llmmeter:requestLogs", {
      status: "error",
      paginationOpts: { numItems: 50, cursor: null },
    });
    await expect.poll(() => page.locator("tr[data-request-id]").first().getAttribute("data-request-id")).toBe(errs.page[0].requestId);
    const codes = await page.locator("tr[data-request-id] .badge").allTextContents();
    expect(codes.every((c) => Number(c) >= 400)).toBe(true);

    const model = ctx.seed.summary.models[1];
    await page.selectOption('select[aria-label="Model"]', model);
    await expect.poll(async () => (await args("requests")).modelSlug).toBe(model);
    const filtered = await query<{ page: { requestId: string }[] }>("llmmeter:requestLogs", {
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

  type AdminAlert = {
    id: string;
    severity: "info" | "warning" | "critical";
    alertType: string;
    message: string;
    userId: string | null;
    userName: string | null;
    isRead: boolean;
    isResolved: boolean;
    history: { severity: string; at: number }[];
    acknowledgedAt: number | null;
    silencedUntil: number | null;
  };
  const RANK = { critical: 0, warning: 1, info: 2 };
  const openAlerts = () => query<AdminAlert[]>("llmmeter:alerts", { status: "open", limit: 100 });
  const alertById = async (id: string) => (await query<AdminAlert[]>("llmmeter:alerts", { limit: 200 })).find((a) => a.id === id)!;

  it("alerts: most severe first, escalation history, user link, readable amounts, badge", async () => {
    expect(ctx.seed.ops.alerts).toBeGreaterThan(0);
    await go("/alerts", "alerts");
    const open = await openAlerts();
    await expect.poll(() => page.locator("li[data-alert-id]").count(), { timeout: 30_000 }).toBe(open.length);
    const shown = await page.locator("li[data-alert-id]").evaluateAll((els) => els.map((e) => [e.getAttribute("data-alert-id"), e.getAttribute("data-severity")]));
    expect(shown).toEqual(open.map((a) => [a.id, a.severity]));
    const ranks = open.map((a) => RANK[a.severity]);
    expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
    // The demo's quota alert escalated once: one row, two steps.
    const escalated = open.find((a) => a.history.length > 1)!;
    expect(escalated.history.map((h) => h.severity)).toEqual(["info", "warning"]);
    const item = page.locator(`li[data-alert-id="${escalated.id}"]`);
    expect(await item.locator('[data-testid="alert-history"] li').count()).toBe(2);
    expect(escalated.userId).not.toBeNull();
    const link = item.locator('[data-testid="alert-user"]');
    expect(await link.textContent()).toBe(escalated.userName);
    expect(await link.getAttribute("href")).toBe(`/admin/users/${encodeURIComponent(escalated.userId!)}`);
    const text = (await page.locator('section[data-page="alerts"]').textContent())!;
    expect(text).not.toMatch(/\$\d+\.\d{3,}/); // no $9.771902899
    expect(text).not.toMatch(/\d+m\d+s/); // no 15m0s
    const count = await query<{ open: number; critical: number }>("llmmeter:openAlertCount");
    expect(count.open).toBe(open.length);
    expect(await page.locator('[data-testid="alert-badge"]').textContent()).toBe(String(open.length));
    await shot("alerts");
  });

  it("alerts: acknowledge, then silence for a day and lift it", async () => {
    const target = (await openAlerts()).find((a) => a.acknowledgedAt === null && a.history.length === 1)!;
    const item = page.locator(`li[data-alert-id="${target.id}"]`);
    await item.getByRole("button", { name: /^Acknowledge/ }).click();
    await expect.poll(async () => (await alertById(target.id)).acknowledgedAt !== null, { timeout: 30_000 }).toBe(true);
    await item.getByText(/^acknowledged /).waitFor();
    expect(await item.getByRole("button", { name: /^Acknowledge/ }).count()).toBe(0);

    // Silenced from a browser whose clock is 3 hours slow: the day is
    // counted from the service's clock, not the browser's.
    const skewed = await rb.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
    try {
      await skewed.addInitScript({ content: "{ const real = Date.now; Date.now = () => real() - 3 * 3600000; }" });
      const p2 = await skewed.newPage();
      p2.setDefaultTimeout(60_000);
      await p2.goto(`${ctx.baseUrl}/admin/`);
      await p2.fill("#api-key", ctx.adminKey);
      await p2.click("button[type=submit]");
      await p2.waitForSelector('section[data-page="overview"]');
      expect(await p2.evaluate(() => Date.now())).toBeLessThan(Date.now() - 2 * 3_600_000);
      await p2.click('nav a[href="/admin/alerts"]');
      const item2 = p2.locator(`li[data-alert-id="${target.id}"]`);
      await item2.locator("select").selectOption({ label: "1 day" });
      const before = Date.now();
      await item2.getByRole("button", { name: /^Silence alert/ }).click();
      await expect.poll(async () => (await alertById(target.id)).silencedUntil !== null, { timeout: 30_000 }).toBe(true);
      const until = (await alertById(target.id)).silencedUntil!;
      expect(until).toBeGreaterThanOrEqual(before + 86_400_000);
      expect(until).toBeLessThanOrEqual(Date.now() + 86_400_000);
      await expect.poll(() => item2.getAttribute("data-silenced"), { timeout: 30_000 }).toBe("true");
    } finally {
      await skewed.close();
    }
    await expect.poll(() => item.getAttribute("data-silenced"), { timeout: 30_000 }).toBe("true");
    await item.getByText(/^silenced until /).waitFor();
    await shot("alerts-silenced");

    await item.getByRole("button", { name: /^Lift the silence/ }).click();
    await expect.poll(async () => (await alertById(target.id)).silencedUntil, { timeout: 30_000 }).toBeNull();
    await expect.poll(() => item.getAttribute("data-silenced"), { timeout: 30_000 }).toBeNull();
  });

  it("alerts: resolve one and it stays resolved; the badge counts one fewer", async () => {
    await page.goto(`${ctx.baseUrl}/admin/alerts`);
    await page.waitForSelector('section[data-page="alerts"]');
    const open = await openAlerts();
    expect(open.length).toBeGreaterThan(0);
    await expect.poll(() => page.locator("li[data-alert-id]").count(), { timeout: 30_000 }).toBe(open.length);
    const id = open[open.length - 1].id;
    const item = page.locator(`li[data-alert-id="${id}"]`);
    if (!open[open.length - 1].isRead) await item.getByRole("button", { name: /^Mark read/ }).click();
    await item.getByRole("button", { name: /^Resolve/ }).click();
    await expect.poll(() => page.locator(`li[data-alert-id="${id}"]`).count(), { timeout: 30_000 }).toBe(0);
    const resolved = await query<AdminAlert[]>("llmmeter:alerts", { status: "resolved", limit: 100 });
    expect(resolved.find((a) => a.id === id)).toMatchObject({ isResolved: true, isRead: true });
    await expect.poll(() => page.locator('[data-testid="alert-badge"]').textContent(), { timeout: 30_000 }).toBe(String(open.length - 1));
    await page.reload();
    await page.getByRole("button", { name: "resolved" }).click();
    await page.locator(`li[data-alert-id="${id}"]`).waitFor();
  });

  it("a call refused on a quota is listed in Requests and counted nowhere", async () => {
    const chat = () =>
      fetch(`${ctx.baseUrl}/v1/chat/completions`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Authorization: `Bearer ${ctx.userKey}`,
        },
        body: JSON.stringify({
          model: "openai/gpt-4o-mini",
          messages: [{ role: "user", content: "hello" }],
        }),
      });
    type Log = {
      requestId: string;
      userId: string | null;
      statusCode: number;
      errorType?: string;
      errorMessage?: string;
    };
    const logOf = async (requestId: string) =>
      (
        await query<{ page: Log[] }>("llmmeter:requestLogs", {
          paginationOpts: { numItems: 200, cursor: null },
        })
      ).page.find((l) => l.requestId === requestId);
    // One call served, to learn bob's id and count one request.
    const served = await chat();
    expect(served.status).toBe(200);
    const servedId = served.headers.get("x-request-id")!;
    await expect.poll(() => logOf(servedId), { timeout: 60_000 }).toBeTruthy();
    const bob = (await logOf(servedId))!.userId!;
    await adminMutation("llmmeter:setQuota", {
      userId: bob,
      quotaType: "daily_requests",
      limit: 1,
    });
    const quotaUsed = async () =>
      (
        await query<{ quotaType: string; used: number }[]>("llmmeter:quotas", {
          userId: bob,
        })
      ).find((q) => q.quotaType === "daily_requests")!.used;
    await expect.poll(quotaUsed, { timeout: 30_000 }).toBe(1);

    const refused = await chat();
    expect(refused.status).toBe(429);
    expect(
      ((await refused.json()) as { error: { code: string } }).error.code,
    ).toBe("quota_exceeded");
    const refusedId = refused.headers.get("x-request-id")!;
    await expect.poll(() => logOf(refusedId), { timeout: 60_000 }).toBeTruthy();
    expect(await logOf(refusedId)).toMatchObject({
      userId: bob,
      statusCode: 429,
      errorType: "quota_exceeded",
    });
    expect((await logOf(refusedId))!.errorMessage).toContain("daily_requests");
    expect(await quotaUsed()).toBe(1); // not counted toward daily_requests

    await page.goto(`${ctx.baseUrl}/admin/requests`);
    const row = page.locator(`tr[data-request-id="${refusedId}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toContain("429");
    expect(await row.textContent()).toContain("quota_exceeded");
    await shot("requests-quota-refusal");
  });

  it("reports: list and download", async () => {
    await go("/reports", "reports");
    const reports = await query<{ id: string; periodKey: string }[]>("llmmeter:reports", { limit: 50 });
    if (reports.length === 0) {
      await page.getByText("No reports yet").waitFor();
    } else {
      await expect.poll(() => page.locator('[data-testid="reports-table"] tbody tr').count()).toBe(reports.length);
      const [download] = await Promise.all([page.waitForEvent("download"), page.locator('[data-testid="reports-table"] tbody tr').first().getByRole("button", { name: /^Download CSV for / }).click()]);
      expect(download.suggestedFilename()).toMatch(/^llmmeter-(daily|weekly)-.+\.csv$/);
    }
    await shot("reports");
  });

  it("job runs: every run listed as llmmeter:jobRuns answers, filtered by job in the URL", async () => {
    type Run = { job: string; outcome: string; startedAt: number; endedAt: number; error: string | null };
    const LA = "America/Los_Angeles";
    const cells = (r: Run) => [r.job, r.outcome, formatDateTime(r.startedAt, LA), formatMs(r.endedAt - r.startedAt), r.error ?? "—"];
    const shown = () =>
      page.$$eval('[data-testid="job-runs-table"] tbody tr', (trs) =>
        trs.map((tr) => [0, 1, 2, 3, 6].map((i) => tr.querySelectorAll("td")[i]?.textContent ?? "")),
      );
    // The scheduler keeps running, so each poll reads both sides afresh.
    await go("/jobs", "jobs");
    // Unfiltered, new runs arrive between two reads: the newest rows shown
    // must be runs the function lists, in its order (newest first).
    await expect
      .poll(async () => {
        const rows = (await shown()).slice(0, 50).map((r) => JSON.stringify(r));
        const runs = (await query<Run[]>("llmmeter:jobRuns", { limit: 200 })).map((r) => JSON.stringify(cells(r)));
        let at = -1;
        for (const r of rows) {
          at = runs.indexOf(r, at + 1);
          if (at < 0) return `not listed in order: ${r}`;
        }
        return rows.length > 0 ? "listed" : "no rows";
      }, { timeout: 60_000, interval: 1_000 })
      .toBe("listed");
    // The job that ran least is the steadiest view to compare whole.
    const all = await query<Run[]>("llmmeter:jobRuns", { limit: 200 });
    const counts = new Map<string, number>();
    for (const r of all) counts.set(r.job, (counts.get(r.job) ?? 0) + 1);
    const job = [...counts].sort((a, b) => a[1] - b[1])[0][0];
    await page.getByRole("combobox", { name: "Job", exact: true }).fill(job); // a suggestion applies at once
    await page.waitForURL((u) => u.searchParams.get("job") === job);
    await expect
      .poll(async () => {
        const [runs, rows] = await Promise.all([query<Run[]>("llmmeter:jobRuns", { job, limit: 200 }), shown()]);
        return JSON.stringify(rows) === JSON.stringify(runs.map(cells)) ? "same" : JSON.stringify({ rows: rows.slice(0, 3), runs: runs.slice(0, 3).map(cells) });
      }, { timeout: 60_000, interval: 1_000 })
      .toBe("same");
    expect(await args("jobs")).toEqual({ job, limit: 200 });
    await page.reload();
    await page.waitForSelector('[data-testid="job-runs-table"] tbody tr');
    expect(await args("jobs")).toEqual({ job, limit: 200 });
    expect(new Set((await shown()).map((r) => r[0]))).toEqual(new Set([job]));
    await shot("job-runs");
    await page.getByRole("button", { name: "All jobs" }).click();
    await page.waitForURL((u) => !u.searchParams.has("job"));
  });

  it("forecast against the budget", async () => {
    await go("/forecast", "forecast");
    const f = await query<{ rows: { scope: string; month: string; costNanoUsd: number; costLowNanoUsd: number }[] }>("llmmeter:forecast");
    const system = f.rows.filter((r) => r.scope === "system").sort((a, b) => (a.month < b.month ? -1 : 1))[0];
    if (system) {
      // The projection shown is never below what the month has already spent.
      const now = new Date();
      const month = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
      let floor = system.costLowNanoUsd;
      if (system.month === month) {
        const o = await query<{ costNanoUsd: number }>("llmmeter:overview", {
          from: Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1),
          to: Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1),
        });
        floor = Math.max(floor, o.costNanoUsd);
      }
      await page.waitForSelector('[data-testid="forecast-cost"]');
      await expect
        .poll(() => page.textContent('[data-testid="forecast-cost"] .stat-value'), { timeout: 30_000 })
        .toBe(formatUsd(Math.max(system.costNanoUsd, floor), 2));
    } else {
      await page.getByText("No forecast yet").waitFor();
    }
    await shot("forecast");
  });

  it("budget: month to date against the budget, per-user projections, and the inline editor", async () => {
    await go("/forecast", "forecast");
    type Q = {
      userId: string | null;
      quotaType: string;
      limitNanoUsd: number | null;
      isActive: boolean;
    };
    const systemBudget = async () =>
      (await query<Q[]>("llmmeter:quotas")).find(
        (q) =>
          q.quotaType === "system_monthly_cost_usd" &&
          q.userId === null &&
          q.isActive,
      )?.limitNanoUsd ?? null;
    const before = await systemBudget();
    // Out of range: the service's 400 is shown beside the field and nothing
    // changes; so is an amount that is not one (refused before sending).
    for (const [text, says] of [
      ["9007199.254740992", "9007199.254740991"],
      ["1e3", "Enter a budget in US dollars"],
      ["0.0000000004", "Enter a budget in US dollars"],
    ]) {
      await page.fill("#budget-input", "");
      await page.fill("#budget-input", text);
      await page.getByRole("button", { name: "Save budget" }).click();
      await page.locator("#budget-error", { hasText: says }).waitFor({ timeout: 30_000 });
      expect(await page.getAttribute("#budget-input", "aria-invalid")).toBe(
        "true",
      );
      expect(await systemBudget()).toBe(before);
    }
    // A budget in dollars and cents is stored exactly and shown at once.
    await page.fill("#budget-input", "1234.5");
    await page.getByRole("button", { name: "Save budget" }).click();
    await expect
      .poll(systemBudget, { timeout: 30_000 })
      .toBe(1_234_500_000_000);
    await expect
      .poll(() => page.textContent('[data-testid="budget-current"]'), {
        timeout: 30_000,
      })
      .toBe("now $1,234.50");

    const f = await query<{
      rows: { scope: string; month: string; userId: string | null }[];
    }>("llmmeter:forecast");
    const now = new Date();
    const month = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
    if (f.rows.some((r) => r.scope === "system" && r.month === month)) {
      const from = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
      const to = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
      const o = await query<{ costNanoUsd: number }>("llmmeter:overview", {
        from,
        to,
      });
      const card = page.locator(
        `[data-testid="projection"][data-month="${month}"]`,
      );
      await expect
        .poll(
          () =>
            card
              .locator('[data-testid="budget-mtd"] .stat-value')
              .textContent(),
          { timeout: 30_000 },
        )
        .toBe(formatUsd(o.costNanoUsd, 2));
      await expect
        .poll(
          () =>
            card
              .locator('[data-testid="forecast-budget"] .stat-value')
              .textContent(),
          { timeout: 30_000 },
        )
        .toBe("$1,234.50");
      expect(await card.locator('[data-testid="budget-actual"]').count()).toBe(
        1,
      );
    }
    const perUser = f.rows.filter(
      (r) => r.scope === "user" && r.userId !== null,
    ).length;
    expect(
      await page.locator('[data-testid="user-projections"] tbody tr').count(),
    ).toBe(perUser);
    await shot("budget");

    // Removed in place: a first click asks and says what it means, the
    // second deletes it on the service; focus returns to the field.
    await page.getByRole("button", { name: "Remove budget" }).click();
    expect(await page.textContent('[data-testid="delete-quota-consequence"]')).toContain(
      "Calls are no longer limited by a system budget.",
    );
    expect(await systemBudget()).toBe(1_234_500_000_000);
    await page.keyboard.press("Enter"); // the focused "Confirm" button
    await expect.poll(systemBudget, { timeout: 30_000 }).toBeNull();
    await expect
      .poll(() => page.textContent('[data-testid="budget-current"]'), { timeout: 30_000 })
      .toBe("not set");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("budget-input");
    expect(await page.getByRole("button", { name: "Remove budget" }).count()).toBe(0);
  });

  it("user page: cost by model, usage chart, tokens and p95, first seen, requests link, blocked and a quota deleted", async () => {
    const LA = "America/Los_Angeles";
    await go("/users", "users");
    const top = await query<{ userId: string }[]>("llmmeter:topUsers", await args("users"));
    const uid = top[0].userId;
    await page.goto(`${ctx.baseUrl}/admin/users/${encodeURIComponent(uid)}`);
    await page.waitForSelector('[data-testid="user-models"] tbody tr');
    const ua = await args("user");
    type M = { model: string; generations: number; costNanoUsd: number };
    const um = await query<{ models: M[]; truncated: boolean; firstSeenAt: number | null }>("llmmeter:userModels", ua);
    const rows = page.locator('[data-testid="user-models"] tbody tr');
    expect(await rows.count()).toBe(um.models.length);
    expect(await rows.first().locator("td").nth(0).textContent()).toBe(um.models[0].model);
    expect(await rows.first().locator("td").nth(1).textContent()).toBe(formatInt(um.models[0].generations));
    expect(await rows.first().locator("td").nth(5).textContent()).toBe(formatUsd(um.models[0].costNanoUsd));
    expect(await page.locator('[data-testid="user-models-truncated"]').count()).toBe(um.truncated ? 1 : 0);
    expect(await page.textContent('[data-testid="user-first-seen"]')).toBe(`first seen ${formatDate(um.firstSeenAt!, LA)}`);

    const d = await query<{ totals: { cachedTokens: number; reasoningTokens: number; requests: number; p95ProcessingMs: number | null } }>("llmmeter:userDetail", ua);
    expect(await page.textContent('[data-testid="user-cached"] .stat-value')).toBe(formatInt(d.totals.cachedTokens));
    expect(await page.textContent('[data-testid="user-reasoning"] .stat-value')).toBe(formatInt(d.totals.reasoningTokens));
    expect(await page.textContent('[data-testid="user-p95"] .stat-value')).toBe(d.totals.requests > 0 ? formatMs(d.totals.p95ProcessingMs) : "—");

    // The usage chart's hidden table has one row per period llmmeter:usageSeries returns.
    const chartArgs = JSON.parse((await page.getAttribute('[data-testid="user-usage"]', "data-args"))!);
    expect(chartArgs).toMatchObject({ userId: uid, from: ua.from, to: ua.to });
    const points = await query<unknown[]>("llmmeter:usageSeries", chartArgs);
    await expect.poll(() => page.locator('[data-testid="user-usage"] [data-testid="chart-table"]').first().locator("tbody tr").count()).toBe(points.length);

    // A quota with a limit of 0 is used up at once: the user shows as blocked.
    await adminMutation("llmmeter:setQuota", { userId: uid, quotaType: "monthly_tokens", limit: 0 });
    await page.locator('[data-testid="user-blocked"]').waitFor({ timeout: 30_000 });
    expect(await page.textContent('[data-testid="user-blocked"]')).toContain("Tokens per month is used up until");
    await shot("user-blocked");
    // Deleted from its row (a second click confirms): gone on the service, focus on the Quotas heading.
    await page.getByRole("button", { name: "Delete the tokens per month quota" }).click();
    await page.keyboard.press("Enter"); // the focused "Confirm" button
    await page.locator('[data-testid="user-blocked"]').waitFor({ state: "detached", timeout: 30_000 });
    const quotas = await query<{ quotaType: string }[]>("llmmeter:quotas", { userId: uid });
    expect(quotas.map((q) => q.quotaType)).not.toContain("monthly_tokens");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Quotas");
    await expect.poll(() => page.textContent('[data-testid="announcer"]')).toBe("Quota deleted: tokens per month.");

    // The user's requests: the Requests page filtered by the user, through its URL.
    await page.click('[data-testid="user-requests-link"]');
    await page.waitForSelector('section[data-page="requests"]');
    expect(new URL(page.url()).searchParams.get("user")).toBe(uid);

    // A used-up system budget refuses this user's calls too: their page says
    // so, beside quotas that are all fine, and links to the budget.
    await adminMutation("llmmeter:setQuota", { quotaType: "system_monthly_cost_usd", limit: 0 });
    try {
      await page.goBack();
      await page.waitForSelector('section[data-page="user"]');
      const sys = page.locator('[data-testid="user-blocked-system"]');
      await sys.waitFor({ timeout: 30_000 });
      expect(await sys.textContent()).toMatch(/^The system budget is used up \(\$[\d,.]+ of \$0\.00\): every user's calls are refused with 429/);
      expect(await page.locator('section[data-page="user"] .badge', { hasText: "blocked" }).count()).toBe(1);
      await sys.getByRole("link", { name: "the budget" }).click();
      await page.waitForSelector('section[data-page="forecast"] [data-testid="budget-blocked"]');
    } finally {
      await adminMutation("llmmeter:deleteQuota", { quotaType: "system_monthly_cost_usd" });
    }
  });
});

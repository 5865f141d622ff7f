/**
 * An outage as the browser sees it: the standalone portal (portal/dist) is
 * served by a loopback web server that forwards /api/* to the service; once
 * the Overview shows data, that server is closed, so every poll fails to
 * connect. The page must show one banner (not one per query) and the health
 * panel must say the service is unreachable instead of the last "ok".
 */
import { resolve } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type RunningBrowser, startBrowser } from "./browser";
import { type HostServer, startHostServer } from "./hostServer";

const ctx = inject("e2e");
let host: HostServer | undefined;
let rb: RunningBrowser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  host = await startHostServer({ dir: resolve(import.meta.dirname, "../dist"), prefix: "/admin", api: ctx.baseUrl });
  rb = await startBrowser();
  context = await rb.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
});

afterAll(async () => {
  await context?.close();
  await rb?.close();
  await host?.close();
});

describe("outage", () => {
  it("shows one banner and an unreachable service in the health panel", async () => {
    await page.goto(`${host!.url}/admin/`);
    await page.fill("#api-key", ctx.adminKey);
    await page.click("button[type=submit]");
    await page.waitForSelector('section[data-page="overview"] [data-testid="health"]');
    await page.waitForSelector(".recharts-surface");
    expect(await page.locator('[role="alert"]').count()).toBe(0);
    expect(await page.textContent('[data-testid="health"]')).not.toContain("unreachable");

    const queries = new Set<string>();
    let failed = 0;
    page.on("request", (r) => {
      if (r.url().includes("/api/query")) queries.add(r.postData() ?? "");
    });
    page.on("requestfailed", (r) => {
      if (r.url().includes("/api/")) failed++;
    });
    await host!.close();
    host = undefined;
    // The next poll (every 5 s) fails to connect.
    await page.waitForSelector('[data-testid="outage"]', { timeout: 60_000 });
    // Count only after every query of the page has failed at least twice.
    await expect.poll(() => failed >= 2 * Math.max(queries.size, 3), { timeout: 60_000, interval: 500 }).toBe(true);
    expect(await page.locator('[role="alert"]').count()).toBe(1);
    const health = (await page.textContent('[data-testid="health"]')) ?? "";
    expect(health).toContain("unreachable");
    expect(health).not.toMatch(/\bok\b/);
    // The last data stays on screen under the banner.
    expect(await page.locator('[data-testid="stat-requests"]').count()).toBe(1);
  });

  // A page first opened during the outage could not fetch its code; React
  // kept that failure, so the page said "This page failed" until a reload.
  it("a page opened during an outage loads once the service is back, without a reload", async () => {
    const dir = resolve(import.meta.dirname, "../dist");
    host = await startHostServer({ dir, prefix: "/admin", api: ctx.baseUrl });
    const port = Number(new URL(host.url).port);
    await page.goto(`${host.url}/admin/`);
    await page.fill("#api-key", ctx.adminKey);
    await page.click("button[type=submit]");
    await page.waitForSelector('section[data-page="overview"]');
    await host.close();
    host = undefined;
    await page.click('nav a[href="/admin/reports"]');
    // Its code cannot be fetched while the service is down: the import
    // fails ("This page failed") or, on a loaded machine, is still pending
    // when the polls report the outage.
    await page.waitForSelector('[data-testid="outage"]', { timeout: 60_000 });
    expect(await page.locator('section[data-page="reports"]').count()).toBe(0);
    host = await startHostServer({ dir, prefix: "/admin", api: ctx.baseUrl, port });
    // The next poll (every 5 s) finds the service again.
    await page.waitForSelector('section[data-page="reports"]', { timeout: 120_000 });
    expect(await page.locator("text=This page failed").count()).toBe(0);
  });
});

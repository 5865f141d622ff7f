/**
 * Phones, dark mode, keyboard and screen readers (issue 16 §7–§8), in
 * Debian's Chromium with the browser in a non-UTC zone: every page at
 * 1440×900 and 390×844 in both colour schemes is no wider than the viewport
 * and has no serious or critical axe violation; chart text keeps 4.5:1; and
 * the keyboard paths (skip link, page focus, request details, Load more, the
 * quota form, alert actions) work without a mouse.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatInt } from "../src/lib/format";
import { axeViolations, chartContrast, overflow } from "./audit";
import { adminQuery as query } from "./adminCall";
import { type RunningBrowser, startBrowser } from "./browser";

const ctx = inject("e2e");
const TZ = "America/Los_Angeles";
const SIZES = [
  { name: "desktop", width: 1440, height: 900 },
  { name: "phone", width: 390, height: 844 },
] as const;
const SCHEMES = ["light", "dark"] as const;
/** Generous: the machine may be busy. */
const POLL = { timeout: 30_000 };

let rb: RunningBrowser;

/** A fresh tab of the given size and scheme, signed in through the form. */
async function signedIn(browser: Browser, size: { width: number; height: number }, scheme: "light" | "dark") {
  const context = await browser.newContext({ viewport: size, timezoneId: TZ, locale: "en-US", colorScheme: scheme });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(`${ctx.baseUrl}/admin/`);
  await page.fill("#api-key", ctx.adminKey);
  await page.click("button[type=submit]");
  await page.waitForSelector('section[data-page="overview"]');
  return { context, page };
}

/** Waits until the page's data has loaded and its charts are drawn. */
async function settled(page: Page) {
  await page.waitForSelector("main section");
  await page.waitForFunction(
    () =>
      !document.querySelector("main .state-loading") &&
      Array.from(document.querySelectorAll("main figure.chart")).every((f) => f.querySelector("svg.recharts-surface")),
    undefined,
    { timeout: 30_000 },
  );
}

/** Every route the navigation offers, one user's page, and a path that does not exist. */
async function routes(page: Page): Promise<string[]> {
  const nav = await page.$$eval('nav[aria-label="Main"] a[href^="/admin"]', (as) => as.map((a) => a.getAttribute("href")!));
  return [
    ...new Set(nav),
    `/admin/users/${encodeURIComponent(ctx.seed.summary.userIds[0])}`,
    // A 256-byte name and a 128-byte model id without a space (in the filters' lists too).
    `/admin/users/${encodeURIComponent(ctx.seed.hostile.userId)}`,
    "/admin/no-such-page",
  ];
}

beforeAll(async () => {
  rb = await startBrowser();
});

afterAll(async () => {
  await rb?.close();
});

describe("every page, both sizes, both colour schemes", () => {
  for (const size of SIZES) {
    for (const scheme of SCHEMES) {
      it(`${size.name} ${size.width}×${size.height}, ${scheme}: no sideways scroll, no serious axe violation`, { timeout: 900_000 }, async () => {
        const { context, page } = await signedIn(rb.browser, size, scheme);
        try {
          expect(await page.evaluate(() => matchMedia("(prefers-color-scheme: dark)").matches)).toBe(scheme === "dark");
          const paths = await routes(page);
          expect(paths.length).toBeGreaterThanOrEqual(10);
          const problems: Record<string, unknown> = {};
          for (const path of paths) {
            await page.goto(`${ctx.baseUrl}${path}`);
            await settled(page);
            const o = await overflow(page);
            if (o.scrollWidth > o.innerWidth) problems[`${path} width`] = o;
            // Light: every rule. Dark changes only colours: the contrast rule.
            const v = await axeViolations(page, scheme === "dark" ? ["color-contrast"] : undefined);
            if (v.length > 0) problems[`${path} axe`] = v;
            const c = await chartContrast(page);
            if (c.low.length > 0) problems[`${path} chart contrast`] = c.low;
          }
          // The sign-in page too (a fresh tab of this context has no key).
          const signin = await context.newPage();
          await signin.goto(`${ctx.baseUrl}/admin/`);
          await signin.evaluate(() => sessionStorage.clear());
          await signin.reload();
          await signin.waitForSelector("#api-key");
          const so = await overflow(signin);
          if (so.scrollWidth > so.innerWidth) problems["sign-in width"] = so;
          const sv = await axeViolations(signin, scheme === "dark" ? ["color-contrast"] : undefined);
          if (sv.length > 0) problems["sign-in axe"] = sv;
          expect(problems).toEqual({});
        } finally {
          await context.close();
        }
      });
    }
  }
});

describe("keyboard and screen readers", () => {
  let context: BrowserContext;
  let page: Page;
  const focused = () =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return { tag: el?.tagName.toLowerCase(), text: el?.textContent?.trim() ?? "", id: el?.id ?? "" };
    });
  const announced = () => page.textContent('[data-testid="announcer"]');

  beforeAll(async () => {
    ({ context, page } = await signedIn(rb.browser, { width: 1440, height: 900 }, "light"));
  });
  afterAll(async () => {
    await context?.close();
  });

  /** Presses Tab until `selector` has focus (at most `max` times). */
  async function tabTo(selector: string, max = 150) {
    for (let i = 0; i < max; i++) {
      if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
      await page.keyboard.press("Tab");
    }
    throw new Error(`${selector} not reached with ${max} tabs`);
  }

  it("skip link, page titles and focus on the new page's h1", async () => {
    await page.goto(`${ctx.baseUrl}/admin/`);
    await settled(page);
    expect(await page.title()).toBe("Overview · llmmeter admin");
    // The skip link is the first stop in tab order, and shows when focused.
    const first = await page.evaluate(() => {
      const stops = Array.from(document.querySelectorAll<HTMLElement>("a[href], button, input, select, [tabindex]")).filter((e) => e.tabIndex >= 0);
      return stops[0]?.textContent;
    });
    expect(first).toBe("Skip to content");
    await page.focus(".skip-link");
    expect((await page.locator(".skip-link").boundingBox())!.y).toBeGreaterThanOrEqual(0);
    await page.keyboard.press("Enter");
    expect(await focused()).toMatchObject({ tag: "main", id: "main" });

    // Following a nav link by keyboard lands on the new page's heading.
    await page.focus('nav a[href="/admin/models"]');
    await page.keyboard.press("Enter");
    await page.waitForSelector('section[data-page="models"]');
    await expect.poll(focused, POLL).toMatchObject({ tag: "h1", text: "Models" });
    expect(await page.title()).toBe("Models · llmmeter admin");
  });

  it("request details open and close by keyboard alone", async () => {
    await page.goto(`${ctx.baseUrl}/admin/requests`);
    await page.waitForSelector("tr[data-request-id] .row-toggle");
    await page.keyboard.press("Tab"); // the skip link
    await page.keyboard.press("Enter");
    await tabTo("tr[data-request-id] .row-toggle");
    const toggle = page.locator("tr[data-request-id] .row-toggle").first();
    expect(await toggle.getAttribute("aria-expanded")).toBe("false");
    expect(await toggle.evaluate((b) => b.tagName)).toBe("BUTTON");
    await page.keyboard.press("Enter");
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    const controls = (await toggle.getAttribute("aria-controls"))!;
    const details = page.locator(`[id="${controls}"] [data-testid="request-details"]`);
    await details.waitFor();
    const id = await page.locator("tr[data-request-id]").first().getAttribute("data-request-id");
    expect(await details.textContent()).toContain(id);
    await page.keyboard.press("Space");
    expect(await toggle.getAttribute("aria-expanded")).toBe("false");
    expect(await page.locator('[data-testid="request-details"]').count()).toBe(0);
    // The toggles' names differ by the request's time, and say what they open.
    expect(await toggle.evaluate((b) => b.textContent)).toMatch(/, details$/);
  });

  it("Load more keeps focus and announces the new count", async () => {
    await page.goto(`${ctx.baseUrl}/admin/requests`);
    await expect.poll(() => page.textContent('[data-testid="row-count"]'), POLL).toBe("50 requests shown");
    await page.focus("text=Load more");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.textContent('[data-testid="row-count"]'), POLL).toBe("100 requests shown");
    await expect.poll(announced, POLL).toBe("100 requests shown");
    expect(await focused()).toMatchObject({ tag: "button", text: "Load more" });
  });

  it("the quota field's error is tied to it; Save keeps focus and announces", async () => {
    const userId = ctx.seed.summary.userIds[1];
    await page.goto(`${ctx.baseUrl}/admin/users/${encodeURIComponent(userId)}`);
    const input = page.locator('input[aria-label="Quota limit"]');
    await input.waitFor();
    await page.selectOption('select[aria-label="Quota type"]', "daily_requests");
    await input.fill("twelve");
    await input.press("Enter");
    await expect.poll(() => input.getAttribute("aria-invalid"), POLL).toBe("true");
    const describedBy = (await input.getAttribute("aria-describedby"))!;
    expect(await page.textContent(`[id="${describedBy}"]`)).toBe("Enter a whole number.");

    await input.fill("1000");
    await page.focus("text=Save quota");
    await page.keyboard.press("Enter");
    await expect.poll(announced, POLL).toMatch(/^Quota (created|updated)\.$/);
    expect(await input.getAttribute("aria-invalid")).toBe("false");
    expect(await input.getAttribute("aria-describedby")).toBeNull();
    expect(await focused()).toMatchObject({ tag: "button", text: "Save quota" });

    // The activity timeline scrolls by keyboard: a labelled, focusable region.
    const region = page.getByRole("region", { name: /Recent activity/ });
    expect(await region.getAttribute("tabindex")).toBe("0");
  });

  it("alert actions keep focus in the list and announce the result", async () => {
    await page.goto(`${ctx.baseUrl}/admin/alerts`);
    await page.waitForSelector('section[data-page="alerts"]');
    const open = await query<{ id: string; isRead: boolean }[]>("llmmeter:alerts", { status: "open", limit: 100 });
    expect(open.length, "the demo seed opens alerts").toBeGreaterThan(0);
    await expect.poll(() => page.locator("li[data-alert-id]").count(), POLL).toBe(open.length);
    // Buttons repeated per alert carry the alert in their names.
    const names = await page.locator('li[data-alert-id] button:has-text("Resolve")').evaluateAll((bs) => bs.map((b) => b.textContent));
    expect(names.length).toBe(open.length);
    expect(names.every((n) => n!.startsWith("Resolve alert "))).toBe(true);

    const unread = open.find((a) => !a.isRead);
    if (unread) {
      await page.locator(`li[data-alert-id="${unread.id}"] button:has-text("Mark read")`).focus();
      await page.keyboard.press("Enter");
      await expect.poll(announced, POLL).toBe("Alert marked read.");
      expect((await focused()).text).toMatch(/^Resolve alert /);
    }
    const first = page.locator("li[data-alert-id]").first();
    const id = (await first.getAttribute("data-alert-id"))!;
    // Focus goes to the next alert, or to the page's heading when this was the last one.
    const next = open.length > 1 ? await page.locator("li[data-alert-id]").nth(1).getAttribute("data-alert-id") : null;
    await first.locator('button:has-text("Resolve")').focus();
    await page.keyboard.press("Enter");
    await expect.poll(announced, POLL).toBe("Alert resolved.");
    await expect.poll(() => page.locator(`li[data-alert-id="${id}"]`).count(), POLL).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.getAttribute("data-alert-id") ?? document.activeElement?.tagName)).toBe(next ?? "H1");
  });

  it("the overview charts carry their numbers as a table", async () => {
    await page.goto(`${ctx.baseUrl}/admin/`);
    await settled(page);
    const sec = page.locator('section[data-page="overview"]');
    const win = { from: Number(await sec.getAttribute("data-from")), to: Number(await sec.getAttribute("data-to")) };
    const points = await query<{ failed: number }[]>("llmmeter:usageSeries", { period: "hourly", ...win });
    const table = page.locator('figure[aria-label^="Requests per"] [data-testid="chart-table"]');
    expect(await table.locator("thead th").allTextContents()).toEqual(["Period", "Successful", "Failed"]);
    expect(await table.locator("tbody td:nth-of-type(2)").allTextContents()).toEqual(points.map((p) => formatInt(p.failed)));
  });

  it("chart text and tooltips keep 4.5:1 in both schemes", async () => {
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(`${ctx.baseUrl}/admin/usage`);
      await settled(page);
      // Open the cost chart's tooltip over its middle.
      const box = (await page.locator('figure[aria-label="Cost per period (USD)"] svg.recharts-surface').boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.waitForSelector(".recharts-tooltip-item");
      const c = await chartContrast(page);
      expect(c.checked).toBeGreaterThan(5);
      expect(c.low, scheme).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: "light" });
  });
});

import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatChange } from "../src/pages/usage/PeriodOverPeriod";
import { statementCsv, type UserStatement } from "../src/pages/users/statementFiles";
import { adminQuery as query } from "./adminCall";
import { type RunningBrowser, signedInBrowser } from "./browser";

// Issue 16 §5b in Chromium, against the embedded engine and its demo data:
// the Errors view's buckets against the request logs, and a user's monthly
// statement against the usage rows in the service's SQLite file. Also the
// Users page's search, for a user the page's top list does not show.

const ctx = inject("e2e");
const run = promisify(execFile);
/** How long a condition may take to hold on a busy shared machine. */
const WAIT = { timeout: 30_000 };

let rb: RunningBrowser;
let context: BrowserContext;
let page: Page;

/** Rows of a read-only SQL query on the service's store (sqlite3 CLI; the service keeps writing in WAL mode). */
async function sql<T>(text: string): Promise<T[]> {
  const db = join(ctx.dataDir, "llmmeter.db");
  const { stdout } = await run("sqlite3", ["-readonly", "-json", db, text]).catch((e: NodeJS.ErrnoException) => {
    throw new Error(e.code === "ENOENT" ? "these tests read the store with the sqlite3 CLI: apt-get install -y sqlite3" : String(e));
  });
  return stdout.trim() === "" ? [] : (JSON.parse(stdout) as T[]);
}

async function args(pageName: string): Promise<Record<string, unknown>> {
  return JSON.parse((await page.getAttribute(`section[data-page="${pageName}"]`, "data-args"))!);
}

beforeAll(async () => {
  ({ rb, context, page } = await signedInBrowser(ctx.baseUrl, ctx.adminKey));
});

afterAll(async () => {
  await context?.close();
  await rb?.close();
});

type Bucket = { key: string | number | null; count: number };
type ErrorSummary = {
  requests: number;
  failed: number;
  errorRate: number;
  rowsRead: number;
  complete: boolean;
  byType: Bucket[];
  byCode: Bucket[];
  byModel: Bucket[];
  byProvider: Bucket[];
  topMessages: { errorType: string | null; message: string; count: number }[];
};
type Log = { status: string; statusCode: number; errorType?: string; errorMessage?: string; model?: string; generationId?: string };

/** Every error request log with timestamp in [from, to), through llmmeter:requestLogs pages. */
async function errorLogs(from: number, to: number): Promise<Log[]> {
  const out: Log[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const p: { page: Log[]; isDone: boolean; continueCursor: string } = await query("llmmeter:requestLogs", {
      status: "error",
      from,
      to,
      paginationOpts: { numItems: 200, cursor },
    });
    out.push(...p.page);
    if (p.isDone) return out;
    cursor = p.continueCursor;
  }
  throw new Error("more than 1000 pages of error rows");
}

/** key → count, the way the summary buckets them (absent → null). */
function countBy(rows: Log[], key: (r: Log) => string | number | undefined): Map<string | number | null, number> {
  const m = new Map<string | number | null, number>();
  for (const r of rows) {
    const k = key(r) ?? null;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** The rows of a bucket table as the page shows them. */
async function shown(testId: string): Promise<Map<string, number>> {
  const rows = await page.locator(`[data-testid="${testId}"] tbody tr`).evaluateAll((trs) =>
    trs.map((tr) => [tr.getAttribute("data-key")!, Number(tr.getAttribute("data-count"))] as const),
  );
  return new Map(rows);
}

const asShown = (m: Map<string | number | null, number>) => new Map([...m].map(([k, n]) => [k === null ? "" : String(k), n]));

describe("errors view", () => {
  it("shows buckets that match the request logs, and each links to the filtered requests", async () => {
    await page.click('nav a[href="/admin/errors"]');
    await page.waitForSelector('section[data-page="errors"]');
    await page.getByRole("button", { name: "30 d", exact: true }).click();
    await page.waitForURL(/range=30d/);
    const win = (await args("errors")) as { from: number; to: number };
    const s = await query<ErrorSummary>("llmmeter:errorSummary", win);
    expect(s.rowsRead).toBeGreaterThan(0);
    expect(s.complete).toBe(true); // so the buckets cover every error row of the range

    // The summary against the raw rows, paged through llmmeter:requestLogs.
    const logs = await errorLogs(win.from, win.to);
    expect(logs.length).toBe(s.rowsRead);
    const toMap = (b: Bucket[]) => new Map(b.map((x) => [x.key, x.count]));
    expect(toMap(s.byType)).toEqual(countBy(logs, (r) => r.errorType));
    expect(toMap(s.byCode)).toEqual(countBy(logs, (r) => r.statusCode));
    expect(toMap(s.byModel)).toEqual(countBy(logs, (r) => r.model));
    expect(s.byProvider.reduce((a, b) => a + b.count, 0)).toBe(logs.length);
    // Providers: a failed request's generation names it, or none does.
    const gens = logs.filter((l) => l.generationId).map((l) => `'${l.generationId!.replace(/'/g, "''")}'`);
    const providers = gens.length === 0 ? [] : await sql<{ generationId: string; provider: string | null }>(
      `SELECT generationId, provider FROM usageTracking WHERE generationId IN (${gens.join(",")})`,
    );
    const providerOf = new Map(providers.map((p) => [p.generationId, p.provider ?? undefined]));
    expect(toMap(s.byProvider)).toEqual(countBy(logs, (r) => (r.generationId ? providerOf.get(r.generationId) : undefined)));
    const messages = countBy(logs, (r) => (r.errorMessage === undefined ? undefined : JSON.stringify([r.errorType ?? null, r.errorMessage])));
    for (const m of s.topMessages) expect(m.count).toBe(messages.get(JSON.stringify([m.errorType, m.message])));

    // The page shows exactly those buckets.
    await expect.poll(() => shown("errors-by-type"), WAIT).toEqual(asShown(countBy(logs, (r) => r.errorType)));
    expect(await shown("errors-by-code")).toEqual(asShown(countBy(logs, (r) => r.statusCode)));
    expect(await shown("errors-by-model")).toEqual(asShown(countBy(logs, (r) => r.model)));
    expect(await page.locator('[data-testid="errors-messages"] tbody tr').count()).toBe(s.topMessages.length);
    expect(await page.textContent('[data-testid="errors-failed"] .stat-value')).toBe(s.failed.toLocaleString("en-US"));

    // A model bucket opens Requests on that model's errors, in the same range.
    const model = s.byModel.find((b) => b.key !== null)!.key as string;
    await page.locator(`[data-testid="errors-by-model"] tr[data-key="${model}"] a`).click();
    await page.waitForSelector('section[data-page="requests"]');
    await expect.poll(() => args("requests"), WAIT).toEqual({ status: "error", modelSlug: model, from: win.from, to: win.to });
    const perModel = logs.filter((l) => l.model === model).length;
    await expect.poll(async () => (await page.locator("section[data-page=requests] tbody tr").count()) > 0, WAIT).toBe(true);
    expect(perModel).toBeGreaterThan(0);
  });
});

describe("user statement", () => {
  it("matches the user's usage rows to the nano-USD and downloads as CSV and JSON", async () => {
    const to = (ctx.seed.summary as unknown as { to: number }).to;
    const month = new Date(to).toISOString().slice(0, 7); // REPORTING_TZ is UTC in these tests
    const [y, m] = month.split("-").map(Number);
    const from = Date.UTC(y, m - 1, 1);
    const end = Date.UTC(y, m, 1);
    // The user who spent most that month, from the rows themselves.
    const [top] = await sql<{ userId: string; cost: number }>(
      `SELECT userId, SUM(costNanoUsd) AS cost FROM usageTracking WHERE timestamp >= ${from} AND timestamp < ${end} GROUP BY userId ORDER BY cost DESC, userId LIMIT 1`,
    );
    expect(top.cost).toBeGreaterThan(0);
    const perModel = await sql<{ model: string; n: number; cost: number; tokens: number }>(
      `SELECT model, COUNT(*) AS n, SUM(costNanoUsd) AS cost, SUM(totalTokens) AS tokens FROM usageTracking
       WHERE userId = '${top.userId}' AND timestamp >= ${from} AND timestamp < ${end} GROUP BY model`,
    );
    const perDay = await sql<{ day: string; cost: number }>(
      `SELECT strftime('%Y-%m-%d', timestamp / 1000, 'unixepoch') AS day, SUM(costNanoUsd) AS cost FROM usageTracking
       WHERE userId = '${top.userId}' AND timestamp >= ${from} AND timestamp < ${end} GROUP BY day`,
    );

    const s = await query<UserStatement>("llmmeter:userStatement", { userId: top.userId, month });
    expect(s.from).toBe(from);
    expect(s.to).toBe(end);
    expect(s.byModelComplete).toBe(true);
    expect(s.totals.costNanoUsd).toBe(top.cost);
    expect(s.byModel.reduce((a, x) => a + x.costNanoUsd, 0)).toBe(top.cost);
    expect(new Map(s.byModel.map((x) => [x.model, [x.generations, x.costNanoUsd, x.totalTokens]]))).toEqual(
      new Map(perModel.map((x) => [x.model, [x.n, x.cost, x.tokens]])),
    );
    expect(new Map(s.byDay.filter((d) => d.costNanoUsd > 0).map((d) => [d.periodKey, d.costNanoUsd]))).toEqual(
      new Map(perDay.filter((d) => d.cost > 0).map((d) => [d.day, d.cost])),
    );

    // The page: the user's statement for that month.
    await page.goto(`${ctx.baseUrl}/admin/users/${top.userId}?month=${month}`);
    await page.waitForSelector('[data-testid="statement-models"] tbody tr');
    expect(await page.getAttribute('[data-testid="statement"]', "data-month")).toBe(month);
    const rows = await page.locator('[data-testid="statement-models"] tbody tr').evaluateAll((trs) =>
      trs.map((tr) => [tr.getAttribute("data-key")!, Number(tr.getAttribute("data-cost-nanos"))] as const),
    );
    expect(new Map(rows)).toEqual(new Map(perModel.map((x) => [x.model, x.cost])));
    expect(await page.locator('[data-testid="statement-days"] tbody tr').count()).toBe(s.byDay.length);

    // Both downloads: the CSV's cost column sums to the rows' total, the JSON is the function's answer.
    const [csvDl] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download statement CSV" }).click()]);
    expect(csvDl.suggestedFilename()).toBe(`statement-${top.userId}-${month}.csv`);
    const csv = await readFile((await csvDl.path())!, "utf8");
    expect(csv).toBe(statementCsv(s));
    const lines = csv.trim().split("\r\n").map((l) => l.split(","));
    const col = lines[0].indexOf("costNanoUsd");
    const modelLines = lines.filter((l) => l[2] === "model");
    expect(modelLines.reduce((a, l) => a + BigInt(l[col]), 0n)).toBe(BigInt(top.cost));
    expect(BigInt(lines.find((l) => l[2] === "total")![col])).toBe(BigInt(top.cost));
    const [jsonDl] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download statement JSON" }).click()]);
    expect(JSON.parse(await readFile((await jsonDl.path())!, "utf8"))).toEqual(s);
  });
});

describe("comparisons on the Usage page", () => {
  it("overlays up to five models, each the model's own series", async () => {
    await page.click('nav a[href="/admin/usage"]');
    await page.waitForSelector('section[data-page="usage"]');
    // 30 days, the page's default range.
    await expect.poll(async () => ((await args("usage")) as { from?: number } | null)?.from, WAIT).toBeGreaterThan(0);
    const a = (await args("usage")) as { period: string; from: number; to: number };
    const models = (await query<{ model: string }[]>("llmmeter:modelStats", { from: a.from, to: a.to })).map((m) => m.model);
    expect(models.length).toBeGreaterThan(5);
    const boxes = page.locator('[data-testid="compare"] input[type="checkbox"]');
    await expect.poll(() => boxes.count(), WAIT).toBe(models.length);
    // Two through the checkboxes; the choice goes to the URL.
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await expect.poll(() => page.getAttribute('[data-testid="compare"]', "data-subjects"), WAIT).toBe(`model:${models[0]},model:${models[1]}`);
    // Five from a shared URL (each checkbox round trip costs seconds on a busy machine).
    const chosen = models.slice(0, 5);
    const url = new URL(page.url());
    url.searchParams.set("compare", chosen.map((m) => `model:${m}`).join(","));
    await page.goto(url.toString());
    await expect.poll(() => page.locator('[data-testid="compare-totals"] tbody tr').count(), WAIT).toBe(5);
    // A sixth is refused: the others are disabled.
    await expect.poll(() => boxes.nth(5).isDisabled(), WAIT).toBe(true);
    for (const m of chosen) {
      const points = await query<{ costNanoUsd: number }[]>("llmmeter:usageSeries", { period: a.period, from: a.from, to: a.to, modelSlug: m });
      const row = page.locator(`[data-testid="compare-totals"] tr[data-key="${m}"]`);
      expect(Number(await row.getAttribute("data-points"))).toBe(points.length);
      expect(BigInt((await row.getAttribute("data-cost-nanos"))!)).toBe(points.reduce((x, p) => x + BigInt(p.costNanoUsd), 0n));
    }
    // Both charts draw one series per model, named in the legend.
    for (const label of ["Cost per period (USD), compared", "Requests per period, compared"]) {
      const fig = page.locator(`figure[aria-label="${label}"]`);
      await fig.locator(".recharts-wrapper > svg.recharts-surface").waitFor();
      expect((await fig.locator(".recharts-legend-item").allTextContents()).sort()).toEqual([...chosen].sort());
    }
  }, 240_000);

  it("sets this week and month against the ones before with the read's percentages", async () => {
    const at = Number(await page.getAttribute('[data-testid="period-over-period"]', "data-at"));
    for (const period of ["weekly", "monthly"] as const) {
      const c = await query<{ change: Record<"requests" | "totalTokens" | "costNanoUsd", number | null>; current: { requests: number } }>(
        "llmmeter:periodOverPeriod",
        { period, at },
      );
      expect(c.current.requests).toBeGreaterThan(0);
      const card = page.locator(`[data-testid="pop-${period}"]`);
      await expect.poll(() => card.locator("tr[data-measure] [data-change]").allTextContents(), WAIT).toEqual(
        [c.change.requests, c.change.totalTokens, c.change.costNanoUsd].map(formatChange),
      );
    }
  });

  it("finds a user outside the listed top users by part of their email, and opens their page from the keyboard", async () => {
    // An end user first seen now, through a service key: not in last month's top users.
    const repo = resolve(import.meta.dirname, "../..");
    const out = await run("go", ["run", "./cmd/llmmeterctl", "-data-dir", ctx.dataDir, "keys", "create", "-service", "-name", "e2e-search"], {
      cwd: repo,
    });
    const key = /^(llm_\S+)$/m.exec(out.stdout)?.[1];
    expect(key, out.stdout).toBeTruthy();
    const r = await fetch(`${ctx.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${key}`,
        "X-Llmmeter-User": "e2e-outsider",
        "X-Llmmeter-User-Name": "Zed Outsider",
        "X-Llmmeter-User-Email": "zed.outsider@example.org",
      },
      body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(r.status).toBe(200);
    await r.body?.cancel();

    await page.goto(`${ctx.baseUrl}/admin/users?range=lastmonth`);
    await page.waitForSelector('[data-testid="users-table"] tbody tr', WAIT);
    const top = await query<{ userId: string }[]>("llmmeter:topUsers", await args("users"));
    const links = await page.locator('[data-testid="users-table"] a.user-link').allTextContents();
    expect(links).not.toContain("Zed Outsider");

    const box = page.getByRole("searchbox", { name: "Find a user" });
    await box.focus();
    await page.keyboard.type("ZED.OUTS");
    const result = page.getByTestId("user-search-results").getByRole("link", { name: "Zed Outsider" });
    await result.waitFor(WAIT);
    const href = (await result.getAttribute("href"))!;
    const userId = decodeURIComponent(href.split("/").at(-1)!);
    expect(top.map((u) => u.userId)).not.toContain(userId);
    await page.keyboard.press("Enter");
    await page.waitForURL((u) => u.pathname === `/admin/users/${encodeURIComponent(userId)}`, WAIT);
    await page.getByRole("heading", { name: "Zed Outsider" }).waitFor(WAIT);
    expect(await page.textContent("main")).toContain("zed.outsider@example.org");
  });
});

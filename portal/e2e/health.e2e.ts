/**
 * Health alerts from real conditions, as the Overview shows them. A service
 * of its own (a fresh data directory, the alerts and health jobs every 2 s)
 * talks to the OpenRouter simulator (`llmmeter simulate`) on a loopback
 * port: first with a key whose credit (GET /key limit_remaining, $3) is
 * under the $5 threshold, then with the simulator stopped, then started
 * again with credit. The health panel must show each check's state as the
 * open alerts have it (checked against llmmeter:alerts), and every check
 * back to ok once the conditions cleared. Then the daily report job, run by
 * llmmeterctl with two webhooks (one answering 200, one 500), delivers the
 * report signed; the Reports page shows both outcomes.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import { promisify } from "node:util";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { adminQuery } from "./adminCall";
import { type RunningBrowser, startBrowser } from "./browser";
import { waitForKey, waitHealthy } from "./globalSetup";
import { freePort } from "./ports";
import { removeTree, stopProcess } from "./process";

const ctx = inject("e2e");
const portal = resolve(import.meta.dirname, "..");
const repo = resolve(portal, "..");
let tmp: string;
let simPort: number;
let sim: ChildProcess | undefined;
let svc: ChildProcess | undefined;
let baseUrl: string;
let adminKey: string;
let rb: RunningBrowser;
let context: BrowserContext;
let page: Page;

/** Starts the simulator on simPort with the key's credit limit (USD) and waits until GET /key answers. */
async function startSim(keyLimit: string) {
  sim = spawn(ctx.bin, ["simulate", "-listen", `127.0.0.1:${simPort}`, "-key-limit", keyLimit], { stdio: ["ignore", "ignore", "inherit"] });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${simPort}/api/v1/key`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("simulator did not answer GET /key within 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopSim() {
  if (sim) await stopProcess(sim);
  sim = undefined;
}

type OpenAlert = { alertType: string; severity: string; message: string };

async function openAlerts(): Promise<OpenAlert[]> {
  return await adminQuery<OpenAlert[]>("llmmeter:alerts", { status: "open", limit: 200 }, { baseUrl, adminKey });
}

const check = (type: string) => page.locator(`[data-testid="health-checks"] li[data-check="${type}"]`);

/** Waits until the panel shows the check in state (the page polls; the jobs run every 2 s). */
async function waitState(type: string, state: string) {
  await page.waitForSelector(`[data-testid="health-checks"] li[data-check="${type}"][data-state="${state}"]`, { timeout: 90_000 });
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "llmmeter-e2e-health-"));
  simPort = await freePort();
  await startSim("3");
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  svc = spawn(ctx.bin, ["serve", "-listen", `127.0.0.1:${port}`, "-data-dir", join(tmp, "data"), "-shutdown-timeout", "2s"], {
    env: {
      ...process.env,
      PORTAL_DIR: join(portal, "dist"),
      LOG_LEVEL: "warn",
      OPENROUTER_API_KEY: "sk-or-v1-e2e-health-0000000000000000",
      OPENROUTER_BASE_URL: `http://127.0.0.1:${simPort}/api/v1`,
      JOBS_SCHEDULE_ALERTS: "@every 2s",
      JOBS_SCHEDULE_HEALTH: "@every 2s",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  adminKey = await waitForKey(svc, 60_000);
  await waitHealthy(baseUrl);
  rb = await startBrowser();
  context = await rb.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
});

afterAll(async () => {
  await context?.close();
  await rb?.close();
  if (svc) await stopProcess(svc);
  await stopSim();
  if (tmp) await removeTree(tmp);
});

describe("health alerts on the Overview", () => {
  it("shows a low key balance, then OpenRouter unreachable, then every check ok again", async () => {
    await page.goto(`${baseUrl}/admin/`);
    await page.fill("#api-key", adminKey);
    await page.click("button[type=submit]");
    await page.waitForSelector('section[data-page="overview"] [data-testid="health"]');

    // $3 of credit left, under the $5 default threshold: a warning.
    await waitState("key_balance", "warning");
    let open = await openAlerts();
    const balance = open.find((a) => a.alertType === "key_balance")!;
    expect(balance.message).toBe("OpenRouter key balance $3.00 is below $5.00");
    expect(await check("key_balance").textContent()).toContain(balance.message);
    for (const other of ["openrouter_unreachable", "delivery_backlog", "job_failure"]) {
      expect(await check(other).getAttribute("data-state")).toBe("ok");
    }

    // The simulator stopped: its port refuses connections.
    await stopSim();
    await waitState("openrouter_unreachable", "critical");
    open = await openAlerts();
    const down = open.find((a) => a.alertType === "openrouter_unreachable")!;
    expect(down.message).toMatch(/^OpenRouter is unreachable: /);
    expect(down.message).not.toContain("sk-or-v1");
    expect(await check("openrouter_unreachable").textContent()).toContain(down.message);
    // The balance cannot be read meanwhile: its alert stays as it was.
    expect(await check("key_balance").getAttribute("data-state")).toBe("warning");
    await expect
      .poll(async () => (await page.textContent('[data-testid="health"] dl.health')) ?? "", { timeout: 60_000, interval: 500 })
      .toContain("failing");

    // Back with $50 of credit: both clear.
    await startSim("50");
    await waitState("openrouter_unreachable", "ok");
    await waitState("key_balance", "ok");
    open = await openAlerts();
    expect(open.filter((a) => a.alertType === "key_balance" || a.alertType === "openrouter_unreachable")).toEqual([]);
  });

  it("delivers the daily report, signed, and the Reports page shows each webhook's outcome", async () => {
    const secret = "e2e-webhook-secret-of-32-bytes-ok";
    const received: { body: string; signed: boolean }[] = [];
    const ok = await receiver(200, (body, sig) => received.push({ body, signed: validSignature(secret, sig, body) }));
    const down = await receiver(500, () => {});
    try {
      const path = "/hook/T000/pathsecret";
      const env = {
        ...process.env,
        ALERT_WEBHOOK_URLS: `${ok.url}${path},${down.url}${path}`,
        ALERT_WEBHOOK_SECRET: secret,
        ALERT_WEBHOOK_MAX_RETRIES: "1",
      };
      const out = await promisify(execFile)("go", ["run", "./cmd/llmmeterctl", "-data-dir", join(tmp, "data"), "jobs", "run", "report_daily"], {
        cwd: repo,
        env,
      }).catch((e: { stdout?: string; stderr?: string }) => e);
      // One webhook failed after its retry: the run is a failure, recorded.
      expect(`${out.stdout}`).toContain("failure");
      expect(`${out.stdout}${out.stderr}`).not.toContain("pathsecret");

      type Delivery = { target: string; status: string; attempts: number; error: string };
      const reports = await adminQuery<{ kind: string; periodKey: string; deliveries: Delivery[] }[]>("llmmeter:reports", { limit: 5 }, { baseUrl, adminKey });
      const rep = reports.find((x) => x.kind === "daily")!;
      // A target is the webhook's scheme and host, the path hidden, and the
      // first 8 hex digits of the SHA-256 of its whole URL (report_retry
      // tells webhooks on one host apart by it).
      const fingerprint = (url: string) => createHash("sha256").update(url).digest("hex").slice(0, 8);
      expect(rep.deliveries).toEqual([
        { target: `${ok.url}/<secret>#${fingerprint(ok.url + path)}`, status: "delivered", attempts: 1, at: expect.any(Number), firstAt: expect.any(Number), error: "" },
        { target: `${down.url}/<secret>#${fingerprint(down.url + path)}`, status: "failed", attempts: 2, at: expect.any(Number), firstAt: expect.any(Number), error: `webhook ${down.url}/<secret>: HTTP 500` },
      ]);
      expect(received).toHaveLength(1);
      expect(received[0].signed).toBe(true);
      const msg = JSON.parse(received[0].body) as { text: string; blocks: { type: string }[] };
      expect(msg.text).toMatch(new RegExp(`^llmmeter daily report ${rep.periodKey}: 0 requests`));
      expect(msg.blocks.map((b) => b.type)).toEqual(["header", "section", "section", "section", "section", "context"]);

      await page.goto(`${baseUrl}/admin/reports`);
      const row = page.locator('[data-testid="reports-table"] tbody tr', { hasText: rep.periodKey });
      await row.locator('[data-testid="report-deliveries"]').waitFor();
      expect(await row.locator('li[data-status="delivered"]').textContent()).toContain(`${ok.url}/<secret>`);
      expect(await row.locator('li[data-status="failed"]').textContent()).toContain("(2 attempts): webhook");
      expect(await page.content()).not.toContain("pathsecret");
    } finally {
      await ok.close();
      await down.close();
    }
  });
});

/** A loopback webhook receiver answering status to every POST. */
async function receiver(status: number, onBody: (body: string, signature: string) => void) {
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      onBody(body, String(req.headers["x-llmmeter-signature"] ?? ""));
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** The README's rule: v1 = hex HMAC-SHA256(secret, "webhook\n<t>\n<body>"). */
function validSignature(secret: string, header: string, body: string): boolean {
  const parts = Object.fromEntries(header.split(",").map((p) => p.split("=", 2) as [string, string]));
  if (!parts.t || !parts.v1) return false;
  const want = createHmac("sha256", secret).update(`webhook\n${parts.t}\n${body}`).digest();
  const got = Buffer.from(parts.v1, "hex");
  return got.length === want.length && timingSafeEqual(got, want);
}

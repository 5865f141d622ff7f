/**
 * Debian's Chromium, started by us with exactly the agreed flags and a fresh
 * profile, driven by playwright-core over CDP. No browser is downloaded.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { removeTree, stopProcess } from "./process";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export interface RunningBrowser {
  browser: Browser;
  close: () => Promise<void>;
}

export async function startBrowser(): Promise<RunningBrowser> {
  const profile = await mkdtemp(join(tmpdir(), "llmmeter-chromium-"));
  const proc: ChildProcess = spawn(
    CHROMIUM,
    [...FLAGS, `--user-data-dir=${profile}`, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const ws = await new Promise<string>((ok, fail) => {
    let err = "";
    const t = setTimeout(() => fail(new Error(`Chromium did not start within 30 s:\n${err}`)), 30_000);
    proc.stderr!.on("data", (b: Buffer) => {
      err += b.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(t);
        ok(m[1]);
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(t);
      fail(new Error(`Chromium exited with ${code}:\n${err}`));
    });
  });
  const browser = await chromium.connectOverCDP(ws);
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => {});
      await stopProcess(proc);
      await removeTree(profile);
    },
  };
}

/**
 * A browser signed in to the portal as an admin, at 1280×800 in
 * America/Los_Angeles (not the reporting zone, so labels must come from
 * period keys), with downloads accepted.
 */
export async function signedInBrowser(baseUrl: string, adminKey: string): Promise<{ rb: RunningBrowser; context: BrowserContext; page: Page }> {
  const rb = await startBrowser();
  const context = await rb.browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: "America/Los_Angeles", locale: "en-US", acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  await page.goto(`${baseUrl}/admin/`);
  await page.fill("#api-key", adminKey);
  await page.click("button[type=submit]");
  await page.waitForSelector('section[data-page="overview"]');
  return { rb, context, page };
}

/**
 * llmmeter's pages mounted by another React app: the library is built
 * (`npm run build:lib`: dist-lib with its type declarations), a host app
 * (e2e/fixture) is type-checked against those declarations and built
 * against dist-lib, then served by its own web server on loopback, which
 * forwards /api/* to the embedded service. Chromium checks that the host's
 * routes show llmmeter's portal and a single page with the service's data.
 */
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { removeTree } from "./process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { APP_MODULE } from "../src/data/api";
import { formatInt } from "../src/lib/format";
import { adminQuery } from "./adminCall";
import { type RunningBrowser, startBrowser } from "./browser";
import { type HostServer, startHostServer } from "./hostServer";

const run = promisify(execFile);
const portal = resolve(import.meta.dirname, "..");
const ctx = inject("e2e");

let tmp: string;
let host: HostServer;
let rb: RunningBrowser;
let context: BrowserContext;
let page: Page;

async function step(what: string, f: () => Promise<unknown>) {
  const t = Date.now();
  await f();
  console.log(`e2e: ${what} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "llmmeter-host-"));
  const out = join(tmp, "dist");
  await step("library build (vite + declarations)", () => run("npm", ["run", "build:lib", "--silent"], { cwd: portal }));
  await step("host app type-check against dist-lib", () => run("npx", ["tsc", "--noEmit", "-p", "e2e/fixture/tsconfig.json"], { cwd: portal }));
  await step("host app build", () =>
    run("npx", ["vite", "build", "--config", "e2e/fixture/vite.config.ts", "--logLevel", "warn"], {
      cwd: portal,
      env: { ...process.env, FIXTURE_OUT: out },
    }),
  );
  host = await startHostServer({ dir: out, prefix: "/host", api: ctx.baseUrl });
  rb = await startBrowser();
  context = await rb.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
  // The host app keeps its own sign-in; here it has the admin key already.
  await context.addInitScript(
    ([key, module]) => {
      sessionStorage.setItem("host.key", key);
      sessionStorage.setItem("host.module", module);
    },
    [ctx.adminKey, APP_MODULE],
  );
  page = await context.newPage();
  // Generous: the host app is an unminified build on a busy machine.
  page.setDefaultTimeout(90_000);
}, 900_000);

afterAll(async () => {
  await context?.close();
  await rb?.close();
  await host?.close();
  if (tmp) await removeTree(tmp);
});

async function overviewRequests(): Promise<number> {
  const [from, to] = await Promise.all(
    ["data-from", "data-to"].map(async (a) => Number(await page.getAttribute('section[data-page="overview"]', a))),
  );
  return (await adminQuery<{ requests: number }>(`${APP_MODULE}:overview`, { from, to })).requests;
}

describe("the pages as a library, in another React app", () => {
  it("mounts the whole portal under the host's route, with links that stay under it", async () => {
    await page.goto(`${host.url}/host/`);
    await page.click("text=Usage (llmmeter)");
    await page.waitForSelector('section[data-page="overview"] [data-testid="stat-requests"]');
    const n = await overviewRequests();
    expect(n).toBeGreaterThan(0);
    await expect.poll(() => page.textContent('[data-testid="stat-requests"] .stat-value')).toBe(formatInt(n));
    await page.click('nav a[href="/host/ops/llmmeter/models"]');
    await page.waitForSelector('section[data-page="models"]');
    expect(new URL(page.url()).pathname).toBe("/host/ops/llmmeter/models");
    // A reload of a deep link is served by the host and lands on the same page.
    await page.reload({ waitUntil: "domcontentloaded" });
    await page.waitForSelector('section[data-page="models"]');
  });

  it("mounts one page inside the host's own layout", async () => {
    await page.goto(`${host.url}/host/usage-only`);
    await page.waitForSelector('[data-host="header"]');
    await page.waitForSelector('[data-host="layout"] section[data-page="overview"] [data-testid="stat-requests"]');
    const n = await overviewRequests();
    await expect.poll(() => page.textContent('[data-testid="stat-requests"] .stat-value')).toBe(formatInt(n));
    expect(await page.$("nav.sidebar")).toBeNull();
  });
});

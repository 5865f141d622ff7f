/**
 * A chat app's page calling the gateway straight from the browser
 * (CORS_ALLOWED_ORIGINS). A service of its own allows one page origin; two
 * loopback servers on other ports serve a blank page each, one allowed and
 * one not. From the allowed page Chromium's fetch streams a chat call with
 * an Authorization header (so a preflight goes first) and reads the
 * exposed headers; from the other page the fetch is refused by the browser
 * and the call never reaches the gateway.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { adminQuery } from "./adminCall";
import { type RunningBrowser, startBrowser } from "./browser";
import { waitForKey, waitHealthy } from "./globalSetup";
import { freePort } from "./ports";
import { removeTree, stopProcess } from "./process";

const ctx = inject("e2e");
let tmp: string;
let svc: ChildProcess | undefined;
let gateway: string;
let adminKey: string;
let allowed: { server: Server; origin: string };
let other: { server: Server; origin: string };
let rb: RunningBrowser;
let context: BrowserContext;

/** A loopback server that serves a blank page at every path. */
async function pageServer(): Promise<{ server: Server; origin: string }> {
  const port = await freePort();
  const server = createServer((_, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end("<!doctype html><title>chat app</title>");
  });
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  return { server, origin: `http://127.0.0.1:${port}` };
}

/** Opens a page of origin and streams one chat call from it with fetch. */
async function callFrom(origin: string): Promise<{ ok: boolean; status?: number; requestId?: string | null; body?: string; error?: string }> {
  const page = await context.newPage();
  try {
    await page.goto(`${origin}/chat`);
    return await page.evaluate(
      async ({ gateway, key }) => {
        try {
          const res = await fetch(`${gateway}/v1/chat/completions`, {
            method: "POST",
            headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", "X-Stainless-OS": "Linux" },
            body: JSON.stringify({ model: "openai/gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi from a page" }] }),
          });
          return { ok: true, status: res.status, requestId: res.headers.get("X-Request-Id"), body: await res.text() };
        } catch (e) {
          return { ok: false, error: String(e) };
        }
      },
      { gateway, key: adminKey },
    );
  } finally {
    await page.close();
  }
}

/** The request ids of the logged calls, once the outbox delivered them. */
async function loggedRequestIds(): Promise<string[]> {
  const rows = await adminQuery<{ page: { requestId: string }[] }>("llmmeter:requestLogs", { paginationOpts: { numItems: 100, cursor: null } }, { baseUrl: gateway, adminKey });
  return rows.page.map((r) => r.requestId).sort();
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "llmmeter-e2e-cors-"));
  allowed = await pageServer();
  other = await pageServer();
  const port = await freePort();
  gateway = `http://127.0.0.1:${port}`;
  svc = spawn(ctx.bin, ["serve", "-listen", `127.0.0.1:${port}`, "-data-dir", join(tmp, "data"), "-shutdown-timeout", "2s"], {
    env: { ...process.env, LOG_LEVEL: "warn", CORS_ALLOWED_ORIGINS: allowed.origin },
    stdio: ["ignore", "pipe", "inherit"],
  });
  adminKey = await waitForKey(svc, 60_000);
  await waitHealthy(gateway);
  rb = await startBrowser();
  context = await rb.browser.newContext();
});

afterAll(async () => {
  await context?.close();
  await rb?.close();
  if (svc) await stopProcess(svc);
  for (const p of [allowed, other]) p?.server.close();
  if (tmp) await removeTree(tmp);
});

describe("calling the gateway from a browser page", () => {
  it("streams to an allowed origin, and the browser refuses another", async () => {
    const first = await callFrom(allowed.origin);
    expect(first.ok, first.error).toBe(true);
    expect(first.status).toBe(200);
    expect(first.body).toContain("data: [DONE]");
    expect(first.requestId).toMatch(/\S/); // an exposed header

    const refused = await callFrom(other.origin);
    expect(refused.ok).toBe(false);
    expect(refused.error).toContain("TypeError");

    // Refused at the preflight, the call itself was never sent: once a
    // later call is logged (the outbox delivers in order), only the two
    // allowed calls are.
    const last = await callFrom(allowed.origin);
    expect(last.status).toBe(200);
    await expect.poll(loggedRequestIds, { timeout: 60_000, interval: 250 }).toContain(last.requestId);
    expect(await loggedRequestIds()).toEqual([first.requestId, last.requestId].sort());
  });
});

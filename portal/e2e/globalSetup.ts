/**
 * Builds the portal and the service, starts `llmmeter serve` on a free
 * loopback port with a fresh data directory, seeds demo data and a non-admin
 * key, and hands the test the address and keys. Every wait is bounded.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { freePort } from "./ports";
import { removeTree, stopProcess } from "./process";

const run = promisify(execFile);
const portal = resolve(import.meta.dirname, "..");
const repo = resolve(portal, "..");

export interface E2EContext {
  baseUrl: string;
  /** The built service binary, for tests that start one of their own. */
  bin: string;
  adminKey: string;
  userKey: string;
  dataDir: string;
  seed: {
    summary: { users: number; requests: number; userIds: string[]; models: string[] };
    ops: { alerts: number; resolved: number; health: boolean; reports: number; forecasts: number };
    hostile: { userId: string; requestId: string; name: string; userAgent: string; errorMessage: string; model: string };
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    e2e: E2EContext;
  }
}

async function step<T>(what: string, f: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await f();
  } finally {
    console.log(`e2e: ${what} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
}

/** Resolves with the bootstrap admin key the service prints once on stdout. */
export function waitForKey(proc: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`no admin key on stdout within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    proc.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /^\s*(llm_\S+)\s*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`llmmeter exited with ${code} before printing a key:\n${out}`));
    });
  });
}

export async function waitHealthy(baseUrl: string) {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${baseUrl}/healthz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("service not healthy within 10 s");
}

let service: ChildProcess | undefined;
let tmp: string | undefined;

export default async function setup(project: TestProject) {
  try {
    await start(project);
    return teardown;
  } catch (e) {
    await teardown(); // vitest skips teardown when setup throws
    throw e;
  }
}

async function start(project: TestProject) {
  tmp = await mkdtemp(join(tmpdir(), "llmmeter-e2e-"));
  const dataDir = join(tmp, "data");
  const bin = join(tmp, "llmmeter");
  const env = { ...process.env, GOFLAGS: process.env.GOFLAGS ?? "-p=2" };

  await step("vite build", () => run("npx", ["vite", "build", "--logLevel", "warn"], { cwd: portal, env }));
  await step("go build", () => run("go", ["build", "-o", bin, "./cmd/llmmeter"], { cwd: repo, env }));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  service = spawn(bin, ["serve", "-listen", `127.0.0.1:${port}`, "-data-dir", dataDir, "-shutdown-timeout", "2s"], {
    cwd: repo,
    env: { ...env, PORTAL_DIR: join(portal, "dist"), LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const adminKey = await step("service start", () => waitForKey(service!, 60_000));
  await waitHealthy(baseUrl);

  const seedOut = await step("seed demo data", () =>
    run("go", ["run", "./internal/demo/cmd/demoseed", "-data-dir", dataDir, "-seed", "42", "-users", "30", "-requests", "3000", "-hostile"], {
      cwd: repo,
      env,
      maxBuffer: 16 << 20,
    }),
  );
  const seed = JSON.parse(seedOut.stdout) as E2EContext["seed"];
  const keyOut = await step("non-admin key", () =>
    run("go", ["run", "./cmd/llmmeterctl", "-data-dir", dataDir, "keys", "create", "-user", "bob"], { cwd: repo, env }),
  );
  const userKey = /^(llm_\S+)$/m.exec(keyOut.stdout)?.[1];
  if (!userKey) throw new Error(`no key in llmmeterctl output: ${keyOut.stdout}`);

  // The harness is ready only when the service speaks Convex's HTTP API.
  const probe = await fetch(`${baseUrl}/api/query`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${adminKey}` },
    body: JSON.stringify({ path: "llmmeter:forecast", args: {}, format: "json" }),
  });
  const body = (await probe.json().catch(() => null)) as { status?: string } | null;
  if (body?.status !== "success") {
    throw new Error(`POST /api/query does not answer in Convex format yet (HTTP ${probe.status}): is the admin API mounted?`);
  }
  project.provide("e2e", { baseUrl, bin, adminKey, userKey, dataDir, seed });
}

async function teardown() {
  const proc = service;
  service = undefined;
  if (proc) await stopProcess(proc);
  if (tmp) await removeTree(tmp);
  tmp = undefined;
}

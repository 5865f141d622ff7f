/// <reference types="vite/client" />
/**
 * Shared test helpers: a fresh convex-test backend, signed requests, a seeded PRNG, row factories.
 *
 * Named test.setup.ts as in convex-test's docs: Convex's bundler skips every
 * file whose name has more than one dot, so neither this file nor the
 * *.test.ts files beside it are deployed.
 */
import { convexTest } from "convex-test";
import { afterEach, beforeEach, inject, vi } from "vitest";
import { internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import schema from "./schema";
import { sign } from "../packages/convex/src/lib/signature";
import type { ActivityRow, RequestLogRow, UsageRow } from "../packages/convex/src/lib/wire";

/**
 * The function modules: what Convex's bundler takes as entry points (one dot
 * in the name, no dotfiles) plus _generated/, the same set the local test
 * backend (internal/convextest/backend/server.ts) loads.
 */
export const modules = import.meta.glob(["./**/*.ts", "./_generated/*.js", "!./**/*.*.ts", "!./**/.*"]);

export const SECRET = "test-ingest-secret-0123456789abcdef";

/**
 * Registers the hooks of a file whose tests sign their requests at a fixed
 * instant: INGEST_SECRET (and any other env) set, Date faked at now, both
 * undone after each test.
 */
export function signedAt(now: number, env: Record<string, string> = {}) {
  beforeEach(() => {
    vi.stubEnv("INGEST_SECRET", SECRET);
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(now);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.useRealTimers();
  });
}

/** A fresh in-memory backend with Convex's transaction limits enforced. */
export function newBackend() {
  return convexTest({ schema, modules, transactionLimits: true });
}
export type Backend = ReturnType<typeof newBackend>;

export const ADMIN = { subject: "user_admin", role: "admin" };
export const NON_ADMIN = { subject: "user_plain", role: "user" };

/** POSTs a JSON body to an HTTP action with a valid signature (or the given header). */
export async function post(
  t: Backend,
  path: string,
  body: unknown,
  opts: { secret?: string; at?: number; header?: string | null; raw?: string; fold?: boolean } = {},
): Promise<{ status: number; json: any }> {
  const raw = opts.raw ?? JSON.stringify(body);
  const header =
    opts.header !== undefined
      ? opts.header
      : await sign(opts.secret ?? SECRET, { method: "POST", path, body: raw }, opts.at ?? Date.now());
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (header !== null) headers["X-Llmmeter-Signature"] = header;
  const res = await t.fetch(path, { method: "POST", headers, body: raw });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  // What the fold job does within seconds of an ingest, done at once so
  // that a test reads what it ingested (opts.fold false leaves rows unfolded).
  if (path === "/ingest" && res.status === 200 && opts.fold !== false) await foldAll(t);
  return { status: res.status, json };
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The Go fold core's address (vitest.global-setup.ts). */
    foldUrl: string;
  }
}

/** POSTs JSON to the Go fold core (vitest.global-setup.ts) and returns its answer. */
async function foldCore(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${inject("foldUrl")}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`foldserver ${path}: HTTP ${res.status}: ${await res.text()}`);
  return await res.json();
}

/**
 * The Apply the Go fold job would send for the rows pending now, as
 * fold.Folder.Run computes it: deltas (/compute), the stored state of the
 * keys they touch (llmmeter:foldSummaryState), the summaries (/summarize).
 */
export async function computeApply(t: Backend, pending: unknown): Promise<any> {
  const tz = process.env.REPORTING_TZ || "UTC";
  const deltas = await foldCore(`/compute?tz=${encodeURIComponent(tz)}`, pending);
  const state = await t.query(internal.llmmeter.foldSummaryState, await foldCore("/keys", deltas));
  return await foldCore("/summarize", { apply: deltas, state });
}

/**
 * Folds every pending row the way the Go fold job does: llmmeter:foldPending, the
 * Go core (internal/fold/foldserver, started by vitest.global-setup.ts)
 * computes the deltas and summaries, llmmeter:foldApply stores them with its
 * compare-and-set. Like the Go folder, an apply folds the longest prefix of
 * the page that touches at most fold.MaxPeriods periods.
 */
export async function foldAll(t: Backend): Promise<number> {
  let folded = 0;
  for (;;) {
    const pending = await t.query(internal.llmmeter.foldPending, { limit: 200 }); // fold.DefaultLimit
    if (pending.usage.length + pending.requestLogs.length + pending.activity.length === 0) return folded;
    const apply = await computeApply(t, pending);
    await t.mutation(internal.llmmeter.foldApply, apply);
    folded += apply.usage.length + apply.requestLogs.length + apply.activity.length;
  }
}

/** Creates users directly in the database. */
export async function makeUsers(t: Backend, n: number, prefix = "u"): Promise<Id<"llmmeterUsers">[]> {
  return await t.run(async (ctx) => {
    const ids: Id<"llmmeterUsers">[] = [];
    for (let i = 0; i < n; i++) {
      ids.push(
        await ctx.db.insert("llmmeterUsers", {
          externalId: `${prefix}${i}`,
          name: `${prefix} ${i}`,
          email: `${prefix}${i}@example.com`,
          role: "user",
          createdAt: 0,
        }),
      );
    }
    return ids;
  });
}

/** Counts documents in every table (to prove that a rejected request wrote nothing). */
export async function tableCounts(t: Backend): Promise<Record<string, number>> {
  return await t.run(async (ctx) => {
    const out: Record<string, number> = {};
    for (const table of Object.keys(schema.tables) as (keyof typeof schema.tables)[]) {
      out[table] = (await ctx.db.query(table).collect()).length;
    }
    return out;
  });
}

/**
 * tableCounts without signatureNonces: what an accepted request that changes
 * nothing (an idempotent replay of rows, a refusal answered 200) leaves
 * unchanged. Its acceptance records its signature's nonce (replay.test.ts).
 */
export async function dataCounts(t: Backend): Promise<Record<string, number>> {
  const { signatureNonces: _nonces, ...rest } = await tableCounts(t);
  return rest;
}

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)],
  };
}

export const T0 = Date.UTC(2024, 0, 15, 13, 0, 0); // Monday 2024-01-15 13:00 UTC

let seq = 0;
const nextId = (p: string) => `${p}-${++seq}`;

export function usage(userId: string, over: Partial<UsageRow> = {}): UsageRow {
  const generationId = over.generationId ?? nextId("gen");
  return {
    generationId,
    requestId: over.requestId ?? nextId("req"),
    userId,
    model: "openai/gpt-4o",
    promptTokens: 10,
    completionTokens: 5,
    totalTokens: 15,
    cachedTokens: 0,
    reasoningTokens: 0,
    costNanoUsd: 123_456,
    costStatus: "reported",
    cancelled: false,
    timestamp: T0,
    processingTime: 420,
    isByok: false,
    stream: true,
    ...over,
  };
}

export function requestLog(userId: string | undefined, over: Partial<RequestLogRow> = {}): RequestLogRow {
  return {
    requestId: over.requestId ?? nextId("req"),
    userId,
    requestType: "chat_completion",
    method: "POST",
    endpoint: "/api/v1/chat/completions",
    model: "openai/gpt-4o",
    status: "success",
    statusCode: 200,
    requestSize: 100,
    responseSize: 200,
    processingTime: 420,
    timestamp: T0,
    ...over,
  };
}

export function activity(userId: string, over: Partial<ActivityRow> = {}): ActivityRow {
  return {
    activityKey: over.activityKey ?? nextId("act"),
    userId,
    activityType: "chat_completion",
    timestamp: T0,
    ...over,
  };
}

/** Sum of a numeric field over docs. */
export const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((s, x) => s + f(x), 0);

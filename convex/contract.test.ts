/**
 * The contract suite (../../contract, see its README) against the real Convex
 * functions: rows go in through the signed /ingest route, fixtures are
 * inserted as documents, calls run through convex-test with an identity per
 * role. The Go runner (internal/store/sqlitestore/admin_contract_test.go)
 * runs the same cases against the embedded SQLite engine.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { makeFunctionReference } from "convex/server";
import { ConvexError } from "convex/values";
import { newBackend, post, SECRET, type Backend } from "./test.setup";

const files = import.meta.glob("../contract/cases/*.json", { eager: true, import: "default" }) as Record<string, any>;
const defaults = (import.meta.glob("../contract/defaults.json", { eager: true, import: "default" }) as Record<string, any>)[
  "../contract/defaults.json"
];

const FIXTURE_TABLES = ["systemAlerts", "reports", "forecasts", "systemHealth", "jobRuns", "apiKeys"] as const;
const IDENTITIES: Record<string, object | null> = {
  admin: { subject: "contract_admin", role: "admin" },
  user: { subject: "contract_user", role: "user" },
  anonymous: null,
};

type Names = { ids: Map<string, string>; cursor: string | null };

/** "t:<RFC 3339>" → ms, "@user" / "#fixture" → id, "$cursor" → the last continueCursor. */
function resolve(v: any, n: Names, inArgs: boolean): any {
  if (typeof v === "string") {
    if (v.startsWith("t:")) {
      const ms = Date.parse(v.slice(2));
      if (Number.isNaN(ms)) throw new Error(`bad time ${v}`);
      return ms;
    }
    if (v.startsWith("@") || v.startsWith("#")) {
      const id = n.ids.get(v);
      if (id === undefined) throw new Error(`unknown name ${v}`);
      return id;
    }
    if (inArgs && v === "$cursor") return n.cursor;
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => resolve(x, n, inArgs));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, n, inArgs)]));
  return v;
}

/** Deep equality with the matchers "$any", "$string", "$number"; _id and _creationTime of documents are engine-specific and ignored. */
function matches(actual: any, expected: any, path: string, problems: string[]): void {
  if (expected === "$any") return;
  if (expected === "$string" || expected === "$number") {
    if (typeof actual !== expected.slice(1)) problems.push(`${path}: expected a ${expected.slice(1)}, got ${JSON.stringify(actual)}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      problems.push(`${path}: expected ${expected.length} items, got ${JSON.stringify(actual)}`);
      return;
    }
    expected.forEach((e, i) => matches(actual[i], e, `${path}[${i}]`, problems));
    return;
  }
  if (expected && typeof expected === "object") {
    if (!actual || typeof actual !== "object" || Array.isArray(actual)) {
      problems.push(`${path}: expected an object, got ${JSON.stringify(actual)}`);
      return;
    }
    const keys = (o: object) => Object.keys(o).filter((k) => k !== "_id" && k !== "_creationTime" && (o as any)[k] !== undefined).sort();
    const ak = keys(actual);
    const ek = keys(expected);
    if (JSON.stringify(ak) !== JSON.stringify(ek)) problems.push(`${path}: keys ${JSON.stringify(ak)}, expected ${JSON.stringify(ek)}`);
    for (const k of ek) matches(actual[k], expected[k], `${path}.${k}`, problems);
    return;
  }
  if (actual !== expected) problems.push(`${path}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

async function setup(t: Backend, c: any, n: Names) {
  // Users: ids are assigned so that their order is the declaration order.
  const users: any[] = c.users ?? [];
  await t.run(async (ctx) => {
    const ids: string[] = [];
    for (let i = 0; i < users.length; i++) ids.push(await ctx.db.insert("llmmeterUsers", { createdAt: 0 }));
    ids.sort();
    for (const [i, u] of users.entries()) {
      const { key, deleted: _deleted, ...fields } = u;
      await ctx.db.patch(ids[i] as any, { ...fields, externalId: key, createdAt: 0 });
      n.ids.set(`@${key}`, ids[i]);
    }
  });
  // Inserted as raw documents, the users have no search keys, as the users
  // of an install from before searchUsers: the backfill gives them theirs.
  for (let cursor: string | null = null; ; ) {
    const page: any = await t.mutation(makeFunctionReference<"mutation">("llmmeter:backfillUserSearchKeys") as any, cursor === null ? {} : { cursor });
    if (page.isDone) break;
    cursor = page.cursor;
  }
  // Fixtures (the rows the jobs would store), inserted as documents.
  const fixtures = c.fixtures ?? {};
  for (const table of FIXTURE_TABLES) {
    for (const [i, row] of (fixtures[table] ?? []).entries()) {
      const { key, ...fields } = row;
      const doc = resolve({ ...defaults[table], ...(table === "systemAlerts" ? { conditionKey: key ?? `c${i}` } : {}), ...fields }, n, false);
      const id = await t.run((ctx) => ctx.db.insert(table, doc));
      if (key) n.ids.set(`#${key}`, id);
    }
  }
  // Rows, batch by batch, through the signed /ingest route.
  for (const batch of c.ingest ?? []) await ingestBatch(t, batch, n);
  // Users marked deleted go after their rows are in.
  for (const u of users) if (u.deleted) await t.run((ctx) => ctx.db.delete(n.ids.get(`@${u.key}`) as any));
}

/** Row keys count per case, across setup and "ingest" calls. */
const seqs = new WeakMap<Names, { usage: number; requestLogs: number; activity: number }>();

/** One batch of rows through the signed /ingest route, over defaults.json. */
async function ingestBatch(t: any, batch: any, n: Names) {
  let seq = seqs.get(n);
  if (!seq) seqs.set(n, (seq = { usage: 0, requestLogs: 0, activity: 0 }));
  const body: any = {};
  for (const kind of ["usage", "requestLogs", "activity"] as const) {
    if (!batch[kind]) continue;
    body[kind] = batch[kind].map((row: any) => {
      const i = ++seq[kind];
      const r = { ...defaults[kind], ...row };
      if (kind === "usage") {
        r.generationId ??= `gen-${i}`;
        r.requestId ??= `req-of-${r.generationId}`;
      } else if (kind === "requestLogs") r.requestId ??= `req-${i}`;
      else r.activityKey ??= `act-${i}`;
      for (const k of Object.keys(r)) if (r[k] === null) delete r[k];
      return resolve(r, n, false);
    });
  }
  const res = await post(t, "/ingest", body);
  expect(res.status, JSON.stringify(res.json)).toBe(200);
}

const cases = Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1));

describe("contract", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  test.each(cases.map(([file, c]) => [file.split("/").pop()!, c]))("%s", async (_name, c: any) => {
    vi.stubEnv("INGEST_SECRET", SECRET);
    vi.stubEnv("REPORTING_TZ", c.reportingTz ?? "UTC");
    vi.useFakeTimers({ toFake: ["Date"] });
    const n: Names = { ids: new Map(), cursor: null };
    // Setup runs at an early time: convex-test keeps transaction times
    // monotonic, so a later call at `now` sees exactly `now`.
    vi.setSystemTime(resolve(c.setupNow ?? defaults.setupNow, n, false));
    const t = newBackend();
    await setup(t, c, n);
    for (const [i, call] of c.calls.entries()) {
      const label = `${_name} call ${i} ${call.path} as ${call.as}`;
      vi.setSystemTime(resolve(call.now ?? c.now ?? defaults.now, n, false));
      if (call.kind === "ingest") {
        await ingestBatch(t, call.rows, n);
        continue;
      }
      const identity = IDENTITIES[call.as];
      if (identity === undefined) throw new Error(`${label}: unknown role`);
      const target = identity ? t.withIdentity(identity) : t;
      const ref = makeFunctionReference<any>(call.path) as any;
      const args = resolve(call.args ?? {}, n, true);
      let value: any;
      let error: { code: string | null; message: string } | undefined;
      try {
        value = call.kind === "mutation" ? await target.mutation(ref, args) : await target.query(ref, args);
      } catch (e) {
        error =
          e instanceof ConvexError || (e as any)?.data
            ? { code: (e as any).data.code, message: (e as any).data.message }
            : { code: null, message: String((e as Error).message) };
      }
      const expected = resolve(call.expect, n, false);
      const problems: string[] = [];
      if ("error" in expected) {
        if (!error) problems.push(`expected error ${JSON.stringify(expected.error)}, got value ${JSON.stringify(value)}`);
        else {
          if (error.code !== expected.error.code) problems.push(`error code ${error.code} (${error.message}), expected ${expected.error.code}`);
          if (expected.error.message !== undefined && error.message !== expected.error.message) {
            problems.push(`error message ${JSON.stringify(error.message)}, expected ${JSON.stringify(expected.error.message)}`);
          }
        }
      } else if (error) problems.push(`unexpected error ${JSON.stringify(error)}`);
      else matches(value, expected.value, "value", problems);
      expect(problems, label).toEqual([]);
      if (value && typeof value === "object" && typeof value.continueCursor === "string") n.cursor = value.continueCursor;
    }
  });
});

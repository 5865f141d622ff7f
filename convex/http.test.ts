/**
 * The signed HTTP actions: signature handling on every route, error shapes,
 * nothing written on 4xx, and each route's behaviour.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { sign } from "../packages/convex/src/lib/signature";
import { MAX_BODY_BYTES } from "../packages/convex/src/lib/wire";
import {
  ADMIN,
  activity,
  type Backend,
  makeUsers,
  newBackend,
  post,
  requestLog,
  SECRET,
  T0,
  tableCounts,
  usage,
} from "./test.setup";

beforeEach(() => vi.stubEnv("INGEST_SECRET", SECRET));
afterEach(() => vi.unstubAllEnvs());

const HASH = "a".repeat(64);
const HASH2 = "b".repeat(64);

type Fixture = {
  userId: Id<"llmmeterUsers">;
  keyId: Id<"apiKeys">;
  quotaId: Id<"userQuotas">;
  alertId: Id<"systemAlerts">;
  reportId: Id<"reports">;
};

async function fixture(t: Backend): Promise<Fixture> {
  const [userId] = await makeUsers(t, 1);
  return await t.run(async (ctx) => ({
    userId,
    keyId: await ctx.db.insert("apiKeys", { keyHash: HASH2, prefix: "sk-ll-b", name: "k", userId, isAdmin: false, createdAt: 1 }),
    quotaId: await ctx.db.insert("userQuotas", {
      userId,
      quotaType: "daily_requests",
      limit: 10,
      used: 3,
      resetDate: T0,
      isActive: true,
      updatedAt: 0,
    }),
    alertId: await ctx.db.insert("systemAlerts", {
      alertType: "t",
      severity: "info",
      message: "m",
      isRead: false,
      isResolved: false,
      createdAt: 1,
      conditionKey: "fixture",
    }),
    reportId: await ctx.db.insert("reports", { kind: "daily", periodKey: "2024-01-14", createdAt: 1, body: {}, csv: "" }),
  }));
}

/** Every route with a valid body. */
const ROUTES: [string, (f: Fixture) => unknown][] = [
  ["/ingest", (f) => ({ usage: [usage(f.userId)], requestLogs: [requestLog(f.userId)], activity: [activity(f.userId)] })],
  ["/users/ensure", () => ({ externalId: "cli-1", name: "CLI" })],
  ["/users/get", (f) => ({ userId: f.userId })],
  ["/users/searchkeys/backfill", () => ({})],
  ["/apikeys/lookup", () => ({ keyHash: HASH })],
  ["/apikeys/create", (f) => ({ userId: f.userId, keyHash: HASH, prefix: "sk-ll-a", name: "laptop", isAdmin: false })],
  ["/apikeys/list", () => ({})],
  ["/apikeys/revoke", (f) => ({ id: f.keyId })],
  ["/quotas/get", (f) => ({ userId: f.userId })],
  ["/jobs/rows", () => ({ table: "requestLogs", from: 0, to: T0 * 2, limit: 10 })],
  ["/jobs/aggregates/upsert", () => ({ rows: [] })],
  ["/jobs/aggregates/list", () => ({ scope: "system", period: "daily", from: 0, to: T0 * 2, limit: 10 })],
  ["/jobs/quotas/reset", (f) => ({ quotaId: f.quotaId, expectedResetDate: T0, nextResetDate: T0 + 86_400_000 })],
  ["/jobs/quotas/due", () => ({ before: T0, limit: 10 })],
  ["/jobs/alerts/open", () => ({ conditionKey: "c1", alertType: "cost", severity: "warning", message: "over budget" })],
  ["/jobs/alerts/resolve", () => ({ conditionKey: "fixture" })],
  ["/jobs/alerts/notified", (f) => ({ alertId: f.alertId, at: T0 })],
  ["/jobs/reports/store", () => ({ kind: "daily", periodKey: "2024-01-15", body: { requests: 1 }, csv: "a,b\n1,2\n" })],
  ["/jobs/reports/delivered", () => ({ kind: "daily", periodKey: "2024-01-14", deliveries: [delivery()] })],
  ["/jobs/reports/undelivered", () => ({ limit: 10 })],
  ["/jobs/forecasts/store", () => ({ createdAt: T0, rows: [forecastRow()] })],
  ["/jobs/health/store", () => ({ checkedAt: T0, openrouterOk: true, storeOk: true, outboxDepth: 0, jobLagMs: 5, details: {} })],
  ["/jobs/lease/acquire", () => ({ job: "rollup", holder: "a", ttlMs: 60_000 })],
  ["/jobs/lease/renew", () => ({ job: "rollup", holder: "a", ttlMs: 60_000 })],
  ["/jobs/lease/release", () => ({ job: "rollup", holder: "a" })],
  ["/jobs/runs/record", () => ({ job: "rollup", startedAt: T0, endedAt: T0 + 10, outcome: "success", counts: { rows: 3 } })],
];

function delivery() {
  return { target: "https://hooks.example.com/<secret>", status: "delivered", attempts: 1, at: T0, error: "" };
}

function forecastRow() {
  return {
    scope: "system",
    month: "2024-02",
    method: "linear",
    costNanoUsd: 10,
    costLowNanoUsd: 5,
    costHighNanoUsd: 20,
    tokens: 100,
    tokensLow: 50,
    tokensHigh: 200,
  };
}

describe.each(ROUTES)("route %s", (path, body) => {
  test("valid signature → 200; missing/malformed/forged/stale → 4xx and nothing written", async () => {
    const t = newBackend();
    const f = await fixture(t);
    const b = body(f);
    const raw = JSON.stringify(b);
    const before = await tableCounts(t);
    const now = Date.now();
    const cases: [string | null, number, string][] = [
      // no header
      [null, 401, "unauthorized"],
      // not t=...,n=...,v2=...
      ["garbage", 400, "bad_request"],
      // t not a number
      [`t=abc,n=${"0".repeat(32)},v2=${"0".repeat(64)}`, 400, "bad_request"],
      // v2 not hex
      [`t=${now},n=${"0".repeat(32)},v2=xyz`, 400, "bad_request"],
      // missing v2
      [`t=${now},n=${"0".repeat(32)}`, 400, "bad_request"],
      // missing nonce
      [`t=${now},v2=${"0".repeat(64)}`, 400, "bad_request"],
      // the retired v1 form, no nonce (refused as unauthorized, not bad input: an old service retries it)
      [`t=${now},v1=${"0".repeat(64)}`, 401, "unauthorized"],
      // signed with another secret
      [await sign("wrong-secret", { method: "POST", path, body: raw }, now), 401, "unauthorized"],
      // signature of a different body
      [await sign(SECRET, { method: "POST", path, body: raw + " " }, now), 401, "unauthorized"],
      // 6 minutes old
      [await sign(SECRET, { method: "POST", path, body: raw }, now - 6 * 60_000), 401, "unauthorized"],
      // 6 minutes in the future
      [await sign(SECRET, { method: "POST", path, body: raw }, now + 6 * 60_000), 401, "unauthorized"],
      // the same bytes signed for another route (issue 11 §5: the MAC covered only the body)
      [await sign(SECRET, { method: "POST", path: path === "/ingest" ? "/users/ensure" : "/ingest", body: raw }, now), 401, "unauthorized"],
      // the same route signed for another method
      [await sign(SECRET, { method: "PUT", path, body: raw }, now), 401, "unauthorized"],
    ];
    for (const [header, status, code] of cases) {
      const r = await post(t, path, b, { header, raw });
      expect(r.status, `${header}`).toBe(status);
      expect(r.json.error.code).toBe(code);
      expect(typeof r.json.error.message).toBe("string");
    }
    expect(await tableCounts(t)).toEqual(before);
    // 4 minutes old is still fine
    const ok = await post(t, path, b, { at: now - 4 * 60_000 });
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
  });

  test("INGEST_SECRET unset → 503, nothing written", async () => {
    const t = newBackend();
    const f = await fixture(t);
    const before = await tableCounts(t);
    vi.stubEnv("INGEST_SECRET", "");
    const r = await post(t, path, body(f));
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe("misconfigured");
    expect(await tableCounts(t)).toEqual(before);
  });

  test("INGEST_SECRET or INGEST_SECRET_PREVIOUS under 32 bytes → 503 naming it, not its value; nothing written", async () => {
    const t = newBackend();
    const f = await fixture(t);
    const before = await tableCounts(t);
    const weak = "k".repeat(31);
    for (const [name, other] of [["INGEST_SECRET", "INGEST_SECRET_PREVIOUS"], ["INGEST_SECRET_PREVIOUS", "INGEST_SECRET"]] as const) {
      vi.stubEnv(other, SECRET);
      vi.stubEnv(name, weak);
      // signed with the weak secret itself: still refused
      const r = await post(t, path, body(f), { secret: weak });
      expect(r.status, name).toBe(503);
      expect(r.json.error).toMatchObject({ code: "misconfigured", message: `${name} is shorter than 32 bytes; set a longer secret in the deployment's environment` });
      expect(JSON.stringify(r.json)).not.toContain(weak);
    }
    expect(await tableCounts(t)).toEqual(before);
  });

  test("non-JSON body → 400", async () => {
    const t = newBackend();
    const r = await post(t, path, null, { raw: "{not json" });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: "bad_request", message: "body: not valid JSON" });
  });
});

test("the previous secret is accepted during rotation", async () => {
  const old = "old-secret-of-at-least-thirty-two-bytes";
  vi.stubEnv("INGEST_SECRET_PREVIOUS", old);
  const t = newBackend();
  expect((await post(t, "/users/ensure", { externalId: "x" }, { secret: old })).status).toBe(200);
  vi.stubEnv("INGEST_SECRET_PREVIOUS", "");
  expect((await post(t, "/users/ensure", { externalId: "x" }, { secret: old })).status).toBe(401);
});

test("a body over MAX_BODY_BYTES → 413 on every route, validly signed or not, and nothing written", async () => {
  const t = newBackend();
  const f = await fixture(t);
  const before = await tableCounts(t);
  for (const [path, body] of ROUTES) {
    // Valid JSON padded with spaces past the limit, signed correctly: only its size is wrong.
    const json = JSON.stringify(body(f));
    const raw = json + " ".repeat(MAX_BODY_BYTES + 1 - json.length);
    const r = await post(t, path, null, { raw });
    expect(r.status, path).toBe(413);
    expect(r.json.error).toMatchObject({ code: "payload_too_large", type: "invalid_request_error" });
    // A declared length over the limit is refused before the body is read or the signature checked.
    const declared = await t.fetch(path, { method: "POST", headers: { "content-length": String(MAX_BODY_BYTES + 1) }, body: json });
    expect(declared.status, path).toBe(413);
  }
  expect(await tableCounts(t)).toEqual(before);
});

test("GET and unknown paths are not routed", async () => {
  const t = newBackend();
  expect((await t.fetch("/ingest", { method: "GET" })).status).toBe(404);
  expect((await post(t, "/nope", {})).status).toBe(404);
});

describe("/ingest payload validation", () => {
  const CASES: [(u: string) => unknown, string][] = [
    // a negative token count, named by row and field
    [(u: string) => ({ usage: [usage(u), usage(u), usage(u), usage(u, { promptTokens: -1 })] }), "usage[3].promptTokens: expected non-negative integer"],
    // a fractional token count
    [(u: string) => ({ usage: [usage(u, { completionTokens: 1.5 })] }), "usage[0].completionTokens: expected non-negative integer"],
    // cost beyond 2^53 nanos
    [(u: string) => ({ usage: [usage(u, { costNanoUsd: 2 ** 60 })] }), "usage[0].costNanoUsd: expected non-negative integer"],
    // a missing required field
    [(u: string) => ({ usage: [{ ...usage(u), model: undefined }] }), "usage[0].model: required"],
    // timestamps in seconds instead of ms
    [(u: string) => ({ usage: [usage(u, { timestamp: 1_705_000_000 })] }), "usage[0].timestamp: expected integer in [946684800000, 4102444800000]"],
    // an unknown status
    [(u: string) => ({ requestLogs: [requestLog(u), requestLog(u, { status: "ok" as any })] }), 'requestLogs[1].status: expected one of "success", "error"'],
    // a wrong type
    [(u: string) => ({ requestLogs: [requestLog(u, { statusCode: "200" as any })] }), "requestLogs[0].statusCode: expected number, got string"],
    // costStatus outside the vocabulary
    [(u: string) => ({ usage: [usage(u, { costStatus: "guessed" as any })] }), 'usage[0].costStatus: expected one of "reported", "estimated", "confirmed"'],
    // metadata that Convex cannot store
    [(u: string) => ({ activity: [activity(u, { metadata: { $bad: 1 } })] }), "activity[0].metadata.$bad: field names must be non-empty and must not start with $"],
    // a field name Convex cannot store (non-ASCII): 400, not the insert's 500; the name is not echoed
    [(u: string) => ({ activity: [activity(u), activity(u, { metadata: { ok: 1, café: 1 } })] }), "activity[1].metadata: field names must be non-control ASCII (at most 1024 characters)"],
    // a control character in a nested field name
    [(u: string) => ({ activity: [activity(u, { metadata: { a: { "x\ty": 1 } } })] }), "activity[0].metadata.a: field names must be non-control ASCII (at most 1024 characters)"],
    // an empty key
    [(u: string) => ({ activity: [activity(u, { activityKey: "" })] }), "activity[0].activityKey: expected non-empty string"],
    // the body is not an object
    [() => [1, 2], "body: expected object, got array"],
    // usage is not an array
    [() => ({ usage: {} }), "usage: expected array, got object"],
    // a user id that is not an id at all
    [(u: string) => ({ usage: [usage(u)], activity: [activity(u), activity("nonsense")] }), "activity[1].userId: not the id of an existing user"],
    // too many rows
    [(u: string) => ({ usage: Array.from({ length: 60 }, () => usage(u)), requestLogs: Array.from({ length: 41 }, () => requestLog(u)) }), "batch too large: 101 rows (max 100 per request across usage, requestLogs and activity)"],
  ];
  test.each(CASES.map(([make, message]) => [message, make] as const))("400 %s", async (message, make) => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const before = await tableCounts(t);
    const r = await post(t, "/ingest", make(u));
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({ code: "bad_request", message, type: "invalid_request_error" });
    expect(await tableCounts(t)).toEqual(before);
  });

  test("an id of another table or of a deleted user rejects the row", async () => {
    const t = newBackend();
    const [u, gone] = await makeUsers(t, 2);
    const conv = await t.run(async (ctx) => {
      await ctx.db.delete(gone);
      return await ctx.db.insert("reports", { kind: "daily", periodKey: "2024-01-15", createdAt: 0, body: {}, csv: "" });
    });
    const before = await tableCounts(t);
    let r = await post(t, "/ingest", { usage: [usage(u), usage(conv)] });
    expect(r.json.error.message).toBe("usage[1].userId: not the id of an existing user");
    r = await post(t, "/ingest", { requestLogs: [requestLog(u), requestLog(undefined), requestLog(gone)] });
    expect(r.json.error.message).toBe("requestLogs[2].userId: not the id of an existing user");
    expect(await tableCounts(t)).toEqual(before);
  });

  test("free text is not cut between the halves of a surrogate pair", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    // An emoji (two UTF-16 code units) across the 2048th and 2049th: the cut
    // kept its first half, a lone surrogate that UTF-8 cannot hold.
    const message = "x".repeat(2047) + "😀" + "tail";
    const agent = "a".repeat(511) + "😀";
    const r = await post(t, "/ingest", { requestLogs: [requestLog(u, { status: "error", errorMessage: message, userAgent: agent })] });
    expect(r.status).toBe(200);
    const [doc] = await t.run((ctx) => ctx.db.query("requestLogs").collect());
    expect(doc.errorMessage).toBe("x".repeat(2047));
    expect(doc.userAgent).toBe("a".repeat(511));
    // A pair that ends exactly at the limit is kept whole.
    const fits = "x".repeat(2046) + "😀" + "tail";
    await post(t, "/ingest", { requestLogs: [requestLog(u, { requestId: "fits", status: "error", errorMessage: fits })] });
    const kept = await t.run((ctx) => ctx.db.query("requestLogs").withIndex("by_request_id", (q) => q.eq("requestId", "fits")).unique());
    expect(kept?.errorMessage).toBe("x".repeat(2046) + "😀");
  });

  test("long free text is truncated, unknown fields are ignored, null means absent", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const row = { ...requestLog(u, { status: "error", errorMessage: "x".repeat(5000) }), extra: 1, errorType: null };
    const r = await post(t, "/ingest", { requestLogs: [row] });
    expect(r.status).toBe(200);
    const [doc] = await t.run((ctx) => ctx.db.query("requestLogs").collect());
    expect(doc.errorMessage).toHaveLength(2048);
    expect("extra" in doc).toBe(false);
    expect("errorType" in doc).toBe(false);
  });
});

describe("users", () => {
  test("ensure creates once, updates name/email, get returns it", async () => {
    const t = newBackend();
    const a = await post(t, "/users/ensure", { clerkUserId: "user_1", email: "a@x.io" });
    expect(a.json).toMatchObject({ created: true });
    const b = await post(t, "/users/ensure", { clerkUserId: "user_1", name: "Ann" });
    const g = await post(t, "/users/get", { userId: a.json.userId });
    expect(g.json.user).toMatchObject({ id: a.json.userId, clerkUserId: "user_1", email: "a@x.io", name: "Ann", role: "user" });
    // The answer carries the user, as updated, so the gateway makes no second round trip to /users/get.
    expect(b.json).toEqual({ userId: a.json.userId, created: false, user: g.json.user });
    expect(a.json.user).toMatchObject({ id: a.json.userId, email: "a@x.io", name: null });
    const ext = await post(t, "/users/ensure", { externalId: "user_1" });
    expect(ext.json.created).toBe(true);
    expect(ext.json.userId).not.toBe(a.json.userId);
  });

  test("ensure needs exactly one identity; get rejects a non-id", async () => {
    const t = newBackend();
    expect((await post(t, "/users/ensure", {})).json.error.message).toBe("exactly one of clerkUserId and externalId is required");
    expect((await post(t, "/users/ensure", { clerkUserId: "a", externalId: "b" })).status).toBe(400);
    expect((await post(t, "/users/get", { userId: "zzz" })).json.error.message).toBe("userId: not a users id");
  });
});

describe("API keys", () => {
  test("create, lookup (refreshing lastUsedAt), list, revoke", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const c = await post(t, "/apikeys/create", { userId: u, keyHash: HASH, prefix: "sk-ll-a", name: "laptop", isAdmin: true });
    expect(c.status).toBe(200);
    const dup = await post(t, "/apikeys/create", { userId: u, keyHash: HASH, prefix: "x", name: "y", isAdmin: false });
    expect(dup.status).toBe(409);
    expect(dup.json.error.code).toBe("conflict");
    const l = await post(t, "/apikeys/lookup", { keyHash: HASH });
    expect(l.json).toEqual({
      key: { id: c.json.id, userId: u, isAdmin: true, isService: false, revoked: false, prefix: "sk-ll-a", name: "laptop" },
    });
    expect((await post(t, "/apikeys/lookup", { keyHash: HASH2 })).json).toEqual({ key: null });
    expect((await post(t, "/apikeys/lookup", { keyHash: "ABC" })).json.error.message).toBe(
      "keyHash: expected 64 lowercase hex characters (SHA-256)",
    );
    const list = await post(t, "/apikeys/list", { userId: u });
    expect(list.json.keys).toHaveLength(1);
    expect(list.json.keys[0].lastUsedAt).toBeTypeOf("number");
    expect("keyHash" in list.json.keys[0]).toBe(false);
    expect((await post(t, "/apikeys/revoke", { id: c.json.id })).json.revoked).toBe(true);
    expect((await post(t, "/apikeys/revoke", { id: c.json.id })).json.revoked).toBe(false);
    expect((await post(t, "/apikeys/lookup", { keyHash: HASH })).json.key.revoked).toBe(true);
    expect((await post(t, "/apikeys/revoke", { id: u })).json.error.message).toBe("id: not an apiKeys id");
  });

  test("onlyFirst creates a key only while none exists (the bootstrap admin key of replicas starting together)", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const first = await post(t, "/apikeys/create", { userId: u, keyHash: HASH, prefix: "llm_a", name: "bootstrap", isAdmin: true, onlyFirst: true });
    expect(first.status).toBe(200);
    expect(first.json.id).toEqual(expect.any(String));
    const before = await tableCounts(t);
    const second = await post(t, "/apikeys/create", { userId: u, keyHash: HASH2, prefix: "llm_b", name: "bootstrap", isAdmin: true, onlyFirst: true });
    expect(second.status).toBe(200);
    expect(second.json).toEqual({ id: null });
    // No key and no user written; only the request's own nonce is kept (it was accepted).
    expect(await tableCounts(t)).toEqual({ ...before, signatureNonces: before.signatureNonces + 1 });
    // Without onlyFirst, keys are created as before; the stored key has no onlyFirst field.
    expect((await post(t, "/apikeys/create", { userId: u, keyHash: HASH2, prefix: "llm_b", name: "laptop", isAdmin: false })).status).toBe(200);
    const keys = await t.run((ctx) => ctx.db.query("apiKeys").collect());
    expect(keys.map((k) => "onlyFirst" in k)).toEqual([false, false]);
  });
});

describe("service keys and the key on each row", () => {
  test("a service key is created, looked up and listed as one; never also an admin key", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const c = await post(t, "/apikeys/create", { userId: u, keyHash: HASH, prefix: "llm_ab", name: "chat-app", isAdmin: false, isService: true });
    expect(c.status).toBe(200);
    expect((await post(t, "/apikeys/lookup", { keyHash: HASH })).json.key).toMatchObject({ id: c.json.id, isService: true, isAdmin: false });
    expect((await post(t, "/apikeys/list", {})).json.keys[0]).toMatchObject({ id: c.json.id, isService: true });
    const before = await tableCounts(t);
    const both = await post(t, "/apikeys/create", { userId: u, keyHash: HASH2, prefix: "llm_cd", name: "x", isAdmin: true, isService: true });
    expect(both.status).toBe(400);
    expect(both.json.error.message).toBe("isService: a key is an admin key or a service key, not both");
    expect(await tableCounts(t)).toEqual(before);
    // A key stored before service keys existed reads as a plain key.
    await t.run((ctx) => ctx.db.insert("apiKeys", { keyHash: HASH2, prefix: "old", name: "old", userId: u, isAdmin: false, createdAt: 1 }));
    expect((await post(t, "/apikeys/lookup", { keyHash: HASH2 })).json.key.isService).toBe(false);
  });

  test("rows keep the apiKeyId they came through; admin:requestLogs shows it; a non-key id rejects the batch", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const key = (await post(t, "/apikeys/create", { userId: u, keyHash: HASH, prefix: "llm_ab", name: "svc", isAdmin: false, isService: true })).json.id;
    const r = await post(t, "/ingest", {
      usage: [usage(u, { apiKeyId: key })],
      requestLogs: [requestLog(u, { apiKeyId: key }), requestLog(u)],
      activity: [activity(u, { apiKeyId: key })],
    });
    expect(r.status).toBe(200);
    const docs = await t.run(async (ctx) => ({
      usage: await ctx.db.query("usageTracking").collect(),
      logs: await ctx.db.query("requestLogs").collect(),
      activity: await ctx.db.query("userActivity").collect(),
    }));
    expect(docs.usage.map((d) => d.apiKeyId)).toEqual([key]);
    expect(docs.logs.map((d) => d.apiKeyId).sort()).toEqual([key, undefined]);
    expect(docs.activity.map((d) => d.apiKeyId)).toEqual([key]);
    const page = await t.withIdentity(ADMIN).query(api.llmmeter.requestLogs, { paginationOpts: { numItems: 5, cursor: null } });
    expect(page.page.filter((d) => d.apiKeyId === key)).toHaveLength(1);

    const before = await tableCounts(t);
    for (const [body, message] of [
      [{ requestLogs: [requestLog(u, { apiKeyId: u })] }, "requestLogs[0].apiKeyId: not an apiKeys id"],
      [{ usage: [usage(u, { apiKeyId: "zzz" })] }, "usage[0].apiKeyId: not an apiKeys id"],
      [{ activity: [activity(u), activity(u, { apiKeyId: "zzz" })] }, "activity[1].apiKeyId: not an apiKeys id"],
    ] as const) {
      const bad = await post(t, "/ingest", body);
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toBe(message);
    }
    expect(await tableCounts(t)).toEqual(before);
  });
});

describe("jobs", () => {
  test("rows pages through [from, to) in timestamp order", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const logs = Array.from({ length: 25 }, (_, i) => requestLog(u, { timestamp: T0 + i * 1000 }));
    await post(t, "/ingest", { requestLogs: logs });
    const seen: number[] = [];
    let cursor: string | undefined;
    for (;;) {
      const r = await post(t, "/jobs/rows", { table: "requestLogs", from: T0 + 2000, to: T0 + 22_000, cursor, limit: 7 });
      expect(r.status).toBe(200);
      seen.push(...r.json.page.map((d: any) => d.timestamp));
      if (r.json.isDone) break;
      cursor = r.json.continueCursor;
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => T0 + (i + 2) * 1000));
    expect((await post(t, "/jobs/rows", { table: "requestLogs", from: 0, to: 1, limit: 1001 })).json.error.message).toBe(
      "limit: expected integer in [1, 1000]",
    );
  });

  test("aggregates upsert replaces by exact key and validates keys", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const row = {
      scope: "user",
      userId: u,
      period: "daily",
      periodKey: "2024-01-15",
      periodStart: Date.UTC(2024, 0, 15),
      shard: 0,
      totalRequests: 3,
      successfulRequests: 2,
      failedRequests: 1,
      promptTokens: 1,
      completionTokens: 2,
      totalTokens: 3,
      cachedTokens: 0,
      reasoningTokens: 0,
      totalCostNanoUsd: 1_500_000_000,
      totalProcessingTime: 300,
      conversationsStarted: 0,
      filesUploaded: 0,
      models: ["m"],
      latencyBuckets: [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    };
    expect((await post(t, "/jobs/aggregates/upsert", { rows: [row] })).json).toEqual({ inserted: 1, updated: 0 });
    expect((await post(t, "/jobs/aggregates/upsert", { rows: [{ ...row, totalCostNanoUsd: 7 }] })).json).toEqual({
      inserted: 0,
      updated: 1,
    });
    const docs = await t.run((ctx) => ctx.db.query("usageAggregates").collect());
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ totalCostNanoUsd: 7, totalCost: 7e-9, averageProcessingTime: 100, uniqueModels: 1 });
    const list = await post(t, "/jobs/aggregates/list", { scope: "user", period: "daily", from: 0, to: T0 * 2, limit: 5 });
    expect(list.json.page).toHaveLength(1);
    // A row without the fine buckets (an older fold) stores zeros; with them, the counts.
    expect(docs[0].latencyFine).toEqual(new Array(48).fill(0));
    const fine = new Array(48).fill(0).map((_, i) => (i === 7 ? 2 : i === 47 ? 1 : 0));
    const ttft = new Array(48).fill(0).map((_, i) => (i === 0 ? 2 : 0));
    await post(t, "/jobs/aggregates/upsert", { rows: [{ ...row, latencyFine: fine, ttftBuckets: ttft }] });
    const [withFine] = await t.run((ctx) => ctx.db.query("usageAggregates").collect());
    expect(withFine).toMatchObject({ latencyFine: fine, ttftBuckets: ttft, totalCostNanoUsd: 1_500_000_000 });
    const bad: [object, string][] = [
      [{ ...row, periodStart: row.periodStart + 1 }, 'rows[0].periodStart: not the start of a daily period in UTC'],
      [{ ...row, periodKey: "2024-01-16" }, 'rows[0].periodKey: expected "2024-01-15" for this periodStart'],
      [{ ...row, userId: undefined }, 'rows[0].userId: required for scope "user"'],
      [{ ...row, shard: 3 }, "rows[0].shard: user rows use shard 0"],
      [{ ...row, scope: "system" }, 'rows[0].userId: only allowed for scope "user"'],
      [{ ...row, scope: "model", userId: undefined }, 'rows[0].model: required for scope "model"'],
      [{ ...row, failedRequests: 0 }, "rows[0].totalRequests: must equal successfulRequests + failedRequests"],
      [{ ...row, latencyBuckets: [3] }, "rows[0].latencyBuckets: expected 11 counts"],
      [{ ...row, latencyFine: [3] }, "rows[0].latencyFine: expected 48 counts"],
      [{ ...row, ttftBuckets: new Array(49).fill(0) }, "rows[0].ttftBuckets: expected 48 counts"],
      [{ ...row, shard: 8 }, "rows[0].shard: expected integer in [0, 7]"],
    ];
    for (const [r, message] of bad) {
      expect((await post(t, "/jobs/aggregates/upsert", { rows: [r] })).json.error.message).toBe(message);
    }
  });

  test("quota reset is compare-and-set (exactly once); due lists expired quotas", async () => {
    const t = newBackend();
    const f = await fixture(t);
    expect((await post(t, "/jobs/quotas/due", { before: T0, limit: 10 })).json.quotas.map((q: any) => q.id)).toEqual([f.quotaId]);
    const body = { quotaId: f.quotaId, expectedResetDate: T0, nextResetDate: T0 + 86_400_000 };
    const a = await post(t, "/jobs/quotas/reset", body);
    expect(a.json).toMatchObject({ reset: true, quota: { used: 0, resetDate: T0 + 86_400_000 } });
    const b = await post(t, "/jobs/quotas/reset", body);
    expect(b.json).toMatchObject({ reset: false, quota: { resetDate: T0 + 86_400_000 } });
    expect((await post(t, "/jobs/quotas/due", { before: T0, limit: 10 })).json.quotas).toEqual([]);
    expect((await post(t, "/jobs/quotas/reset", { ...body, nextResetDate: T0 })).status).toBe(400);
  });

  test("alerts open once per condition, resolve, reopen", async () => {
    const t = newBackend();
    const open = { conditionKey: "cost:user:1", alertType: "quota", severity: "critical", message: "m", metadata: { pct: 95 } };
    const a = await post(t, "/jobs/alerts/open", open);
    expect(a.json.created).toBe(true);
    const b = await post(t, "/jobs/alerts/open", open);
    expect(b.json).toMatchObject({ alertId: a.json.alertId, created: false });
    expect((await post(t, "/jobs/alerts/resolve", { conditionKey: "cost:user:1" })).json).toEqual({ resolved: 1 });
    expect((await post(t, "/jobs/alerts/resolve", { conditionKey: "cost:user:1" })).json).toEqual({ resolved: 0 });
    const c = await post(t, "/jobs/alerts/open", open);
    expect(c.json.created).toBe(true);
    expect(c.json.alertId).not.toBe(a.json.alertId);
  });

  test("leases: acquire, contend, renew, release, expire", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(T0);
      const t = newBackend();
      const acq = (holder: string) => post(t, "/jobs/lease/acquire", { job: "j", holder, ttlMs: 60_000 });
      expect((await acq("a")).json).toEqual({ acquired: true, holder: "a", expiresAt: T0 + 60_000 });
      expect((await acq("b")).json).toEqual({ acquired: false, holder: "a", expiresAt: T0 + 60_000 });
      vi.setSystemTime(T0 + 30_000);
      expect((await acq("a")).json).toEqual({ acquired: true, holder: "a", expiresAt: T0 + 90_000 });
      expect((await post(t, "/jobs/lease/renew", { job: "j", holder: "a", ttlMs: 60_000 })).json).toEqual({
        renewed: true,
        holder: "a",
        expiresAt: T0 + 90_000,
      });
      expect((await post(t, "/jobs/lease/renew", { job: "j", holder: "b", ttlMs: 60_000 })).json.renewed).toBe(false);
      expect((await post(t, "/jobs/lease/release", { job: "j", holder: "b" })).json).toEqual({ released: false });
      vi.setSystemTime(T0 + 90_000);
      expect((await post(t, "/jobs/lease/renew", { job: "j", holder: "a", ttlMs: 60_000 })).json.renewed).toBe(false);
      expect((await acq("b")).json).toEqual({ acquired: true, holder: "b", expiresAt: T0 + 150_000 });
      expect((await post(t, "/jobs/lease/release", { job: "j", holder: "b" })).json).toEqual({ released: true });
      expect((await acq("a")).json.acquired).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  test("reports replace by kind+periodKey; forecasts replace by createdAt; health and runs prune old rows", async () => {
    const t = newBackend();
    const rep = { kind: "daily", periodKey: "2024-01-15", body: { n: 1 }, csv: "x\n" };
    const r1 = await post(t, "/jobs/reports/store", rep);
    const r2 = await post(t, "/jobs/reports/store", { ...rep, csv: "y\n" });
    expect(r2.json).toEqual({ reportId: r1.json.reportId, replaced: true, deliveries: [] });
    await post(t, "/jobs/forecasts/store", { createdAt: T0, rows: [forecastRow(), forecastRow()] });
    expect((await post(t, "/jobs/forecasts/store", { createdAt: T0, rows: [forecastRow()] })).json).toEqual({ stored: 1, replaced: 2 });
    const badForecast = await post(t, "/jobs/forecasts/store", { createdAt: T0, rows: [{ ...forecastRow(), costLowNanoUsd: 11 }] });
    expect(badForecast.json.error.message).toBe("rows[0].costNanoUsd: expected costLowNanoUsd <= costNanoUsd <= costHighNanoUsd");
    // historyDays is a count of days: a negative or fractional one is refused and nothing changes.
    for (const historyDays of [-1, 1.5]) {
      const bad = await post(t, "/jobs/forecasts/store", { createdAt: T0, rows: [{ ...forecastRow(), historyDays }] });
      expect(bad.status).toBe(400);
    }
    expect((await post(t, "/jobs/forecasts/store", { createdAt: T0, rows: [{ ...forecastRow(), historyDays: 3 }] })).json).toEqual({ stored: 1, replaced: 1 });
    expect((await t.run((ctx) => ctx.db.query("forecasts").collect())).map((f) => f.historyDays)).toEqual([3]);
    // Deliveries are recorded on the stored report and replaced by the next
    // delivery; a report that is not stored is a 404, a bad status a 400.
    const failed = { ...delivery(), status: "failed", attempts: 4, error: "webhook https://hooks.example.com/<secret>: HTTP 503" };
    const d1 = await post(t, "/jobs/reports/delivered", { kind: "daily", periodKey: "2024-01-15", deliveries: [failed] });
    expect(d1.json).toEqual({ reportId: r1.json.reportId, deliveries: 1 });
    // The retry job reads the reports with a failed delivery.
    const u1 = await post(t, "/jobs/reports/undelivered", { limit: 10 });
    expect(u1.json.reports).toEqual([{ kind: "daily", periodKey: "2024-01-15", createdAt: expect.any(Number), body: { n: 1 }, deliveries: [failed] }]);
    await post(t, "/jobs/reports/delivered", { kind: "daily", periodKey: "2024-01-15", deliveries: [delivery(), { ...delivery(), firstAt: T0 }] });
    expect((await t.run((ctx) => ctx.db.get(r1.json.reportId as Id<"reports">)))?.deliveries).toEqual([delivery(), { ...delivery(), firstAt: T0 }]);
    expect((await post(t, "/jobs/reports/undelivered", { limit: 10 })).json).toEqual({ reports: [] });
    // A rerun's report replaces the body and keeps the deliveries, which it returns.
    const r3 = await post(t, "/jobs/reports/store", rep);
    expect(r3.json).toEqual({ reportId: r1.json.reportId, replaced: true, deliveries: [delivery(), { ...delivery(), firstAt: T0 }] });
    const missing = await post(t, "/jobs/reports/delivered", { kind: "weekly", periodKey: "2024-W03", deliveries: [] });
    expect([missing.status, missing.json.error.code]).toEqual([404, "not_found"]);
    const bad = await post(t, "/jobs/reports/delivered", { kind: "daily", periodKey: "2024-01-15", deliveries: [{ ...delivery(), status: "sent" }] });
    expect(bad.status).toBe(400);
    expect((await t.run((ctx) => ctx.db.get(r1.json.reportId as Id<"reports">)))?.deliveries).toHaveLength(2);
    const health = { openrouterOk: true, storeOk: true, outboxDepth: 0, jobLagMs: 0, details: {} };
    await t.run((ctx) => ctx.db.insert("systemHealth", { ...health, checkedAt: 1_000 }));
    expect((await post(t, "/jobs/health/store", { ...health, checkedAt: Date.now() })).json.pruned).toBe(1);
    const run = { job: "r", outcome: "failure", counts: {}, error: "boom" };
    await t.run((ctx) => ctx.db.insert("jobRuns", { ...run, outcome: "failure", startedAt: 1_000, endedAt: 2_000 }));
    expect((await post(t, "/jobs/runs/record", { ...run, startedAt: Date.now(), endedAt: Date.now() })).json.pruned).toBe(1);
    expect((await post(t, "/jobs/runs/record", { ...run, startedAt: 5, endedAt: 4 })).json.error.message).toBe(
      "endedAt: must not be before startedAt",
    );
  });
});

describe("/quotas/get", () => {
  test("active user quotas plus the system budget", async () => {
    const t = newBackend();
    const f = await fixture(t);
    await t.run(async (ctx) => {
      await ctx.db.insert("userQuotas", { userId: f.userId, quotaType: "monthly_tokens", limit: 5, used: 0, resetDate: T0, isActive: false, updatedAt: 0 });
      await ctx.db.insert("userQuotas", {
        quotaType: "system_monthly_cost_usd",
        limit: 100,
        used: 1.5,
        limitNanoUsd: 100e9,
        usedNanoUsd: 1.5e9,
        resetDate: T0,
        isActive: true,
        updatedAt: 0,
      });
    });
    const r = await post(t, "/quotas/get", { userId: f.userId });
    expect(r.json.quotas.map((q: any) => q.quotaType)).toEqual(["daily_requests"]);
    expect(r.json.system).toMatchObject({ quotaType: "system_monthly_cost_usd", usedNanoUsd: 1.5e9, userId: null });
  });
});

/**
 * Issue 11 §5: with a body-only MAC, signed /quotas/reserve bytes replayed to
 * /quotas/release released the reservation, and /jobs/lease/acquire bytes
 * replayed to /jobs/lease/release released the lease. The signature now
 * covers method and path: the replay is refused and changes nothing.
 */
describe("a signed request replayed to another route is refused", () => {
  test.each([
    // [signed for, replayed to, body]
    ["/quotas/reserve", "/quotas/release", "reserve"],
    ["/jobs/lease/acquire", "/jobs/lease/release", "lease"],
  ] as const)("%s → %s", async (from, to, kind) => {
    const t = newBackend();
    const [userId] = await makeUsers(t, 1);
    // a reservation is held only against an active quota
    await t.run((ctx) =>
      ctx.db.insert("userQuotas", { userId, quotaType: "daily_requests", limit: 5, used: 0, resetDate: Date.now() + 86_400_000, isActive: true, updatedAt: 0 }),
    );
    const body =
      kind === "reserve"
        ? { requestId: "held", userId, tokens: 10, costNanoUsd: 0, ttlMs: 60_000 }
        : { job: "rollup", holder: "replica-a", ttlMs: 60_000 };
    const raw = JSON.stringify(body);
    const header = await sign(SECRET, { method: "POST", path: from, body: raw }, Date.now());
    const first = await post(t, from, body, { header, raw });
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    const before = await t.run(async (ctx) => ({
      reservations: await ctx.db.query("quotaReservations").collect(),
      leases: await ctx.db.query("jobLeases").collect(),
    }));
    expect(before.reservations.length + before.leases.length).toBe(1);

    const replay = await post(t, to, body, { header, raw });
    expect(replay.status).toBe(401);
    expect(replay.json.error.code).toBe("unauthorized");
    const after = await t.run(async (ctx) => ({
      reservations: await ctx.db.query("quotaReservations").collect(),
      leases: await ctx.db.query("jobLeases").collect(),
    }));
    expect(after).toEqual(before);

    // Signed for its own route, the same body is accepted there.
    expect((await post(t, to, body, { raw })).status).toBe(200);
  });
});

/**
 * Bodies no honest sender makes, probed as an outside reviewer would: each
 * is refused with a clear 4xx (never a 500) and changes nothing stored.
 */
describe("hostile bodies: a 4xx naming the field, nothing written", () => {
  // 100,000 levels of arrays where a small JSON object is allowed: the size
  // check serialized it first (JSON.stringify recurses: RangeError, a 500).
  const DEEP = `${"[".repeat(100_000)}1${"]".repeat(100_000)}`;
  test.each([
    ["/ingest", (u: string) => ({ activity: [activity(u, { metadata: { a: 0 } })] }), "activity[0].metadata.a[0][0][0][0]"],
    ["/jobs/health/store", () => ({ checkedAt: T0, openrouterOk: true, storeOk: true, outboxDepth: 0, jobLagMs: 5, details: { a: 0 } }), "details.a[0][0][0][0]"],
    ["/jobs/reports/store", () => ({ kind: "daily", periodKey: "2024-01-15", body: { a: 0 }, csv: "" }), "body.a[0][0][0][0]"],
  ] as const)("deeply nested JSON in %s", async (path, make, field) => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const before = await tableCounts(t);
    const raw = JSON.stringify(make(u)).replace('{"a":0}', `{"a":${DEEP}}`);
    const r = await post(t, path, null, { raw });
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({ code: "bad_request", message: `${field}: nested too deeply (max depth 4)`, type: "invalid_request_error" });
    expect(await tableCounts(t)).toEqual(before);
  });

  // A cursor that is not one of ours made paginate throw a plain Error: 500.
  test.each([
    ["/jobs/rows", { table: "requestLogs", from: 0, to: T0 * 2, limit: 10 }],
    ["/jobs/aggregates/list", { scope: "system", period: "daily", from: 0, to: T0 * 2, limit: 10 }],
    ["/jobs/quotas/due", { before: T0, limit: 10 }],
  ] as const)("a cursor that is not one of ours on %s", async (path, body) => {
    const t = newBackend();
    const r = await post(t, path, { ...body, cursor: "garbage" });
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({ code: "bad_request", message: "cursor: invalid cursor", type: "invalid_request_error" });
    // The first page (no cursor) still answers.
    expect((await post(t, path, body)).status).toBe(200);
  });

  // JSON can spell half a surrogate pair ("\ud800"); it is not text, and
  // Convex stores strings as UTF-8. Accepted, it was written as sent.
  test.each([
    ["requestLogs[0].userAgent", "/ingest", (u: string) => ({ requestLogs: [requestLog(u, { userAgent: "curl/8 \ud83d" })] })],
    ["usage[1].model", "/ingest", (u: string) => ({ usage: [usage(u), usage(u, { model: "\ude00model" })] })],
    ["activity[0].metadata.a.b[1]", "/ingest", (u: string) => ({ activity: [activity(u, { metadata: { a: { b: ["ok", "x\udbffy"] } } })] })],
    ["externalId", "/users/ensure", () => ({ externalId: "alice\ud800" })],
  ] as const)("a lone surrogate at %s (%s)", async (field, path, make) => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const before = await tableCounts(t);
    const r = await post(t, path, make(u));
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({ code: "bad_request", message: `${field}: expected well-formed Unicode text (a lone surrogate)`, type: "invalid_request_error" });
    expect(await tableCounts(t)).toEqual(before);
    // A whole pair is text.
    expect((await post(t, "/users/ensure", { externalId: "bob😀" })).status).toBe(200);
  });

  const fields = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 0]));
  // Convex stores at most 8192 values per array and 1024 fields per object
  // (its documented value limits; convex-test does not apply them): such a
  // report body reached the insert, where Convex refuses it, a 500.
  test.each([
    ["an array of 8193 values", "body.a", () => ({ a: new Array(8193).fill(0) }), "arrays hold at most 8192 values"],
    ["a nested object of 1025 fields", "body.a", () => ({ a: fields(1025) }), "objects hold at most 1024 fields"],
    ["a body of 1025 fields", "body", () => fields(1025), "objects hold at most 1024 fields"],
  ] as const)("a report body Convex cannot store: %s", async (_, field, make, detail) => {
    const t = newBackend();
    const before = await tableCounts(t);
    const r = await post(t, "/jobs/reports/store", { kind: "daily", periodKey: "2024-01-15", body: make(), csv: "" });
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({ code: "bad_request", message: `${field}: ${detail}`, type: "invalid_request_error" });
    expect(await tableCounts(t)).toEqual(before);
    // At the limits, it is stored.
    const fits = { a: new Array(8192).fill(0), b: fields(1024) };
    expect((await post(t, "/jobs/reports/store", { kind: "daily", periodKey: "2024-01-15", body: fits, csv: "" })).status).toBe(200);
  });

  // A number literal past float64 parses as Infinity: refused, but the
  // message said "expected number, got number".
  test("a number literal out of range is named as such", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const raw = JSON.stringify({ usage: [usage(u, { cachedTokens: 7 })] }).replace('"cachedTokens":7', '"cachedTokens":1e400');
    const r = await post(t, "/ingest", null, { raw });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe("usage[0].cachedTokens: expected number, got a number out of range");
  });
});

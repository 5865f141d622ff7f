/// <reference types="vite/client" />
/**
 * The library installed into a chat app that has its own users,
 * conversations and messages (test/chatapp/): the tables do not collide, the
 * routes land next to the app's own, the app's isAdmin (not a role claim)
 * decides who is an admin, the app records its own activity, and nothing of
 * the app's tables is read or written by llmmeter.
 */
import { convexTest } from "convex-test";
import { anyApi } from "convex/server";
import { beforeEach, expect, inject, test, vi } from "vitest";
import { sign } from "../src/lib/signature";
import schema from "./chatapp/schema";

const SECRET = "chat-app-secret-0123456789abcdef";
// convex-test finds the app's root by its _generated folder; the app needs no real codegen here.
const modules = { ...import.meta.glob("./chatapp/*.ts"), "./chatapp/_generated/api.js": async () => ({}) };
const api = anyApi;
const T0 = Date.UTC(2024, 0, 15, 13, 0, 0);

beforeEach(() => vi.stubEnv("INGEST_SECRET", SECRET));

test("a chat app with its own users/conversations/messages installs llmmeter beside them", async () => {
  const t = convexTest({ schema, modules, transactionLimits: true });
  const app = await t.run(async (ctx) => {
    const boss = await ctx.db.insert("users", { clerkId: "user_boss", name: "Boss", isAdmin: true });
    const ann = await ctx.db.insert("users", { clerkId: "user_ann", name: "Ann", isAdmin: false });
    const conv = await ctx.db.insert("conversations", { userId: ann, title: "hi" });
    const msg = await ctx.db.insert("messages", { conversationId: conv, body: "hello" });
    return { boss, ann, conv, msg };
  });
  const appRows = () =>
    t.run(async (ctx) => ({
      users: await ctx.db.query("users").collect(),
      conversations: await ctx.db.query("conversations").collect(),
      messages: await ctx.db.query("messages").collect(),
    }));
  const before = await appRows();

  // The app's server code names its user to llmmeter and records an activity.
  const { userId } = await t.mutation(api.llmmeter.ensureUser, { clerkUserId: "user_ann" });
  const act = await t.mutation(api.llmmeter.recordActivity, {
    userId,
    activityType: "message_sent",
    metadata: { conversationId: app.conv },
    timestamp: T0,
  });
  expect(act.created).toBe(true);

  // The Go service's signed ingest reaches the app's re-export of ingestBatch.
  const body = JSON.stringify({
    usage: [
      {
        generationId: "gen-1",
        requestId: "req-1",
        userId,
        conversationId: app.conv,
        messageId: app.msg,
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
      },
    ],
  });
  const header = await sign(SECRET, { method: "POST", path: "/ingest", body }, Date.now());
  const res = await t.fetch("/ingest", {
    method: "POST",
    headers: { "content-type": "application/json", "X-Llmmeter-Signature": header },
    body,
  });
  expect(res.status).toBe(200);
  expect((await res.json()).inserted.usage).toBe(1);
  // The fold job, through the app's signed fold routes and the Go fold core (vitest.global-setup.ts).
  const signedPost = async (path: string, payload: unknown) => {
    const b = JSON.stringify(payload);
    const h = await sign(SECRET, { method: "POST", path, body: b }, Date.now());
    const r = await t.fetch(path, { method: "POST", headers: { "content-type": "application/json", "X-Llmmeter-Signature": h }, body: b });
    expect(r.status).toBe(200);
    return await r.json();
  };
  const pending = await signedPost("/jobs/fold/pending", { limit: 200 });
  expect(pending.usage.length + pending.activity.length).toBe(2);
  const computed = await fetch(`${inject("foldUrl")}/compute?tz=UTC`, { method: "POST", body: JSON.stringify(pending) });
  expect(computed.status).toBe(200);
  expect(await signedPost("/jobs/fold/apply", await computed.json())).toMatchObject({ folded: 2 });
  expect(await (await t.fetch("/hello", { method: "GET" })).text()).toBe("hi");

  // The app's own check decides: a role claim alone is not enough here.
  const window = { from: T0 - 3_600_000, to: T0 + 3_600_000 };
  await expect(t.withIdentity({ subject: "user_ann", role: "admin" }).query(api.llmmeter.overview, window)).rejects.toMatchObject({
    data: { code: "forbidden" },
  });
  const o = await t.withIdentity({ subject: "user_boss" }).query(api.llmmeter.overview, window);
  expect(o.costNanoUsd).toBe(123_456);

  // The usage row keeps the app's ids as given; the app's tables are untouched.
  const stored = await t.run((ctx) => ctx.db.query("usageTracking").first());
  expect([stored?.conversationId, stored?.messageId]).toEqual([app.conv, app.msg]);
  expect(await appRows()).toEqual(before);
});

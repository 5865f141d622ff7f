/**
 * llmmeter:searchUsers' keys on Convex: ensureUser (the one upsert path)
 * writes them and keeps them in step with the name and email; users stored
 * before the keys existed are found once backfillUserSearchKeys has run
 * (POST /users/searchkeys/backfill, page by page, as the Go fold job calls it).
 * Matching and order are pinned on both engines by contract case 36.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import { ADMIN, makeUsers, newBackend, post, SECRET, type Backend } from "./test.setup";

beforeEach(() => vi.stubEnv("INGEST_SECRET", SECRET));
afterEach(() => vi.unstubAllEnvs());

const search = async (t: Backend, query: string) =>
  (await t.withIdentity(ADMIN).query(api.llmmeter.searchUsers, { query })).map((u) => u.externalId ?? u.clerkUserId);

describe("searchUsers keys", () => {
  test("ensureUser writes the keys of a new user and moves them with its name and email", async () => {
    const t = newBackend();
    await post(t, "/users/ensure", { externalId: "ALI-7", name: "Bo", email: "Bo@Example.com" });
    await post(t, "/users/ensure", { clerkUserId: "user_2ABC", name: "Alice Smith" });
    expect(await search(t, "ali")).toEqual(["ALI-7", "user_2ABC"]);
    expect(await search(t, "USER_2a")).toEqual(["user_2ABC"]);
    expect(await search(t, "bo@example")).toEqual(["ALI-7"]);

    await post(t, "/users/ensure", { clerkUserId: "user_2ABC", name: "Carol", email: "CAROL@example.com" });
    expect(await search(t, "alice")).toEqual([]);
    expect(await search(t, "carol")).toEqual(["user_2ABC"]);
  });

  test("users stored without keys are found after the backfill, page by page; a rerun patches nothing", async () => {
    const t = newBackend();
    await makeUsers(t, 1001, "Old"); // raw documents, as an install from before the keys
    expect(await search(t, "old1000")).toEqual([]);
    // Through the signed route the Go fold job calls (jobs/userkeys.go).
    const run = async (cursor: string | null) => {
      const res = await post(t, "/users/searchkeys/backfill", cursor === null ? {} : { cursor });
      expect(res.status).toBe(200);
      return res.json as { cursor: string; isDone: boolean; patched: number };
    };
    const pages = [];
    for (let cursor: string | null = null; ; ) {
      const page = await run(cursor);
      pages.push(page.patched);
      if (page.isDone) break;
      cursor = page.cursor;
    }
    expect(pages.reduce((a, b) => a + b, 0)).toBe(1001);
    expect(pages.length).toBeGreaterThan(2);
    expect(await search(t, "old1000")).toEqual(["Old1000"]);
    expect(await search(t, "OLD 1000")).toEqual(["Old1000"]);
    expect(await search(t, "old1000@EXAMPLE")).toEqual(["Old1000"]);
    expect((await run(null)).patched).toBe(0);
    expect((await post(t, "/users/searchkeys/backfill", { cursor: "garbage" })).status).toBe(400);
  });
});

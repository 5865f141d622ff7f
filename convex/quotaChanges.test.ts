/**
 * The log of quota changes (lib/quotaChanges.ts) behind POST
 * /quotas/changes: setQuota and deleteQuota record the user ("" for the
 * system budget) at the deployment's time; the route lists the changes
 * after `since`, oldest first, flags more than one answer holds, and each
 * change sweeps a few older than a day. Time is faked (Date only). The Go
 * engine's twin is sqlitestore's TestQuotaChanges.
 */
import { describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import { ADMIN, makeUsers, newBackend, post, signedAt } from "./test.setup";

const NOW = Date.UTC(2024, 4, 10, 12);
const DAY = 86_400_000;

signedAt(NOW);

type Changes = { changes: { id: string; userId: string; at: number }[]; more: boolean; now: number };

describe("POST /quotas/changes", () => {
  test("setQuota and deleteQuota are logged; since, more and the sweep", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const admin = t.withIdentity(ADMIN);
    const changes = async (since: number) => {
      const r = await post(t, "/quotas/changes", { since });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      return r.json as Changes;
    };
    await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "daily_requests", limit: 3 });
    vi.setSystemTime(NOW + 1);
    await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "daily_requests", limit: 4 });
    vi.setSystemTime(NOW + 2);
    await admin.mutation(api.llmmeter.setQuota, { quotaType: "system_monthly_cost_usd", limit: 10 });
    vi.setSystemTime(NOW + 3);
    await admin.mutation(api.llmmeter.deleteQuota, { userId: u, quotaType: "daily_requests" });
    await admin.mutation(api.llmmeter.deleteQuota, { userId: u, quotaType: "daily_requests" }); // none left: no change

    const all = await changes(0);
    expect(all.changes.map((c) => [c.userId, c.at])).toEqual([
      [u, NOW],
      [u, NOW + 1],
      ["", NOW + 2],
      [u, NOW + 3],
    ]);
    expect(all.more).toBe(false);
    expect(all.now).toBeGreaterThanOrEqual(NOW + 3); // convex-test's clock may have moved a ms
    expect(all.now).toBeLessThan(NOW + 1000);
    expect(new Set(all.changes.map((c) => c.id)).size).toBe(4);
    expect((await changes(NOW + 1)).changes.map((c) => c.at)).toEqual([NOW + 2, NOW + 3]);

    // More than one answer holds.
    await t.run(async (ctx) => {
      for (let i = 0; i < 300; i++) await ctx.db.insert("quotaChanges", { userId: "", at: NOW + 3 });
    });
    const page = await changes(0);
    expect(page.changes.length).toBe(256);
    expect(page.more).toBe(true);
    expect(page.changes[0].at).toBe(NOW);

    // A day and a millisecond later each change sweeps 8 of the old ones.
    vi.setSystemTime(NOW + 3 + DAY + 1);
    await admin.mutation(api.llmmeter.setQuota, { quotaType: "system_monthly_cost_usd", limit: 10 });
    expect(await t.run(async (ctx) => (await ctx.db.query("quotaChanges").collect()).length)).toBe(304 + 1 - 8);
  });

  test("a bad since is a 400 and reads nothing", async () => {
    const t = newBackend();
    for (const since of [-1, 1.5, "0"]) {
      const r = await post(t, "/quotas/changes", { since });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.json)).toContain("since");
    }
  });
});

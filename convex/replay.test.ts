/**
 * Replay protection of the signed routes: a signature's nonce is accepted
 * once by a route behind a mutation (packages/convex/src/lib/nonces.ts).
 * The same signed bytes sent again within the ±5 minute window are refused
 * with 409 and change nothing, on the routes where a replay undoes a newer
 * change (allowance leases, alerts, job leases) and on the others alike;
 * v1 signatures, which carry no nonce, are refused; expired nonces are
 * swept a bounded number at a time.
 */
import { describe, expect, test, vi } from "vitest";
import { NONCE_GRACE_MS, NONCE_SWEEP, nonceShard } from "../packages/convex/src/lib/nonces";
import { bytesToHex, MAX_SKEW_MS, newNonce, sign } from "../packages/convex/src/lib/signature";
import { type Backend, makeUsers, newBackend, post, SECRET, signedAt, tableCounts } from "./test.setup";

const NOW = Date.UTC(2024, 0, 15, 12);

signedAt(NOW);

/** A signed request that can be sent again byte for byte. */
async function signed(path: string, body: unknown) {
  const raw = JSON.stringify(body);
  return { path, body, raw, header: await sign(SECRET, { method: "POST", path, body: raw }, Date.now()) };
}
type Signed = Awaited<ReturnType<typeof signed>>;
const send = (t: Backend, s: Signed) => post(t, s.path, s.body, { header: s.header, raw: s.raw });

/** Sends s again and checks it is refused as a replay, writing nothing. */
async function expectReplayRefused(t: Backend, s: Signed) {
  const before = await tableCounts(t);
  const r = await send(t, s);
  expect(r.status, JSON.stringify(r.json)).toBe(409);
  expect(r.json.error.code).toBe("replayed");
  expect(r.json.error.message).toMatch(/nonce already used/);
  expect(await tableCounts(t)).toEqual(before);
}

const zero = { requests: 0, tokens: 0, costNanoUsd: 0 };
const leaseBody = (holder: string, userId: string, over: Record<string, unknown>) => ({
  holder,
  userId,
  claims: [],
  return: zero,
  want: zero,
  need: zero,
  ttlMs: 30_000,
  claimTtlMs: 1_800_000,
  ...over,
});

describe("a replayed request is refused and changes nothing", () => {
  test("/quotas/lease: a replayed return would drop allowance the holder counts as held (a quota bypass)", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await t.run((ctx) =>
      ctx.db.insert("userQuotas", { userId: u!, quotaType: "daily_requests", limit: 10, used: 0, resetDate: NOW + 86_400_000, isActive: true, updatedAt: 0 }),
    );
    const grant = (want: number) => signed("/quotas/lease", leaseBody("A", u!, { want: { ...zero, requests: want } }));
    expect((await send(t, await grant(6))).status).toBe(200);
    const giveBack = await signed("/quotas/lease", leaseBody("A", u!, { return: { ...zero, requests: 3 } }));
    expect((await send(t, giveBack)).json.quotas[0]).toMatchObject({ lease: 3 });
    expect((await send(t, await grant(3))).json.quotas[0]).toMatchObject({ lease: 6 }); // A counts 6 again

    await expectReplayRefused(t, giveBack);
    const leases = await t.run((ctx) => ctx.db.query("quotaLeases").collect());
    expect(leases.map((l) => [l.holder, l.amount])).toEqual([["A", 6]]);
    // So B gets only what is left beside A's 6: Σ leases stays within the limit.
    const b = await send(t, await signed("/quotas/lease", leaseBody("B", u!, { want: { ...zero, requests: 10 } })));
    expect(b.json.quotas[0]).toMatchObject({ lease: 4, others: 6 });
  });

  test("/jobs/alerts/resolve: a replay would resolve the condition's newer alert", async () => {
    const t = newBackend();
    const open = () => signed("/jobs/alerts/open", { conditionKey: "cost:u1", alertType: "cost", severity: "warning", message: "over budget" });
    expect((await send(t, await open())).json.created).toBe(true);
    const resolve = await signed("/jobs/alerts/resolve", { conditionKey: "cost:u1" });
    expect((await send(t, resolve)).json.resolved).toBe(1);
    vi.setSystemTime(NOW + 60_000);
    expect((await send(t, await open())).json.created).toBe(true);

    await expectReplayRefused(t, resolve);
    const alerts = await t.run((ctx) => ctx.db.query("systemAlerts").collect());
    expect(alerts.map((a) => a.isResolved)).toEqual([true, false]);
  });

  test("/jobs/lease/release: a replay would free the job's lease its holder took again", async () => {
    const t = newBackend();
    const acquire = () => signed("/jobs/lease/acquire", { job: "rollup", holder: "replica-a", ttlMs: 60_000 });
    expect((await send(t, await acquire())).json.acquired).toBe(true);
    const release = await signed("/jobs/lease/release", { job: "rollup", holder: "replica-a" });
    expect((await send(t, release)).json.released).toBe(true);
    expect((await send(t, await acquire())).json.acquired).toBe(true);

    await expectReplayRefused(t, release);
    const leases = await t.run((ctx) => ctx.db.query("jobLeases").collect());
    expect(leases.map((l) => l.holder)).toEqual(["replica-a"]);
  });

  test("a read route records no nonce: its replay is answered and changes nothing", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const get = await signed("/users/get", { userId: u });
    const first = await send(t, get);
    expect(first.status).toBe(200);
    const before = await tableCounts(t);
    expect(await send(t, get)).toEqual(first);
    expect(await tableCounts(t)).toEqual(before);
  });
});

test("a request its function refuses claims no nonce: the refusal writes nothing", async () => {
  const t = newBackend();
  const [u] = await makeUsers(t, 1);
  await t.run((ctx) => ctx.db.delete(u!));
  const before = await tableCounts(t);
  // refused inside the mutation, after its claim (not an alert id), and inside the query
  const escalate = { alertId: u, alertType: "cost", severity: "critical", message: "m" };
  expect((await post(t, "/jobs/alerts/escalate", escalate)).status).toBe(400);
  expect((await post(t, "/users/get", { userId: "nope" })).status).toBe(400);
  expect(await tableCounts(t)).toEqual(before);
});

/** The retired v1 header: "v1\n<t>\n<METHOD>\n<path>\n<body>", no nonce. */
async function signV1(path: string, raw: string, t: number): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, enc.encode(`v1\n${t}\nPOST\n${path}\n${raw}`));
  return `t=${t},v1=${bytesToHex(new Uint8Array(mac))}`;
}

test("a v1 signature, valid but without a nonce, is refused with 401 naming v2, and writes nothing", async () => {
  const t = newBackend();
  const body = { job: "rollup", holder: "replica-a", ttlMs: 60_000 };
  const raw = JSON.stringify(body);
  const before = await tableCounts(t);
  const r = await post(t, "/jobs/lease/acquire", body, { raw, header: await signV1("/jobs/lease/acquire", raw, Date.now()) });
  expect(r.status).toBe(401);
  expect(r.json.error).toMatchObject({ code: "unauthorized", type: "authentication_error" });
  expect(r.json.error.message).toMatch(/v1 signatures .* no longer accepted.*v2/);
  expect(await tableCounts(t)).toEqual(before);
});

describe("expired nonces", () => {
  const nonceDocs = (t: Backend) => t.run((ctx) => ctx.db.query("signatureNonces").collect());
  /** A fresh nonce in shard (two hex digits). */
  const inShard = (shard: string) => shard + newNonce().slice(2);
  const acquire = async (t: Backend, nonce: string) => {
    const body = { job: "j", holder: "h", ttlMs: 1000 };
    const raw = JSON.stringify(body);
    const header = await sign(SECRET, { method: "POST", path: "/jobs/lease/acquire", body: raw }, Date.now(), nonce);
    return await post(t, "/jobs/lease/acquire", body, { header, raw });
  };

  test(`an accepted request deletes at most ${NONCE_SWEEP} expired nonces of its shard, no live one and none of another shard`, async () => {
    const t = newBackend();
    await t.run(async (ctx) => {
      const gone = NOW - NONCE_GRACE_MS;
      for (let i = 0; i < 20; i++) await ctx.db.insert("signatureNonces", { nonce: inShard("ab"), shard: "ab", expiresAt: gone - 1 - i });
      for (let i = 0; i < 3; i++) await ctx.db.insert("signatureNonces", { nonce: inShard("ab"), shard: "ab", expiresAt: NOW + 1 + i });
      for (let i = 0; i < 5; i++) await ctx.db.insert("signatureNonces", { nonce: inShard("cd"), shard: "cd", expiresAt: gone - 1 - i });
    });
    const nonce = inShard("ab");
    expect((await acquire(t, nonce)).status).toBe(200);
    const docs = await nonceDocs(t);
    const count = (shard: string, swept: boolean) => docs.filter((d) => d.shard === shard && d.expiresAt < NOW - NONCE_GRACE_MS === swept).length;
    expect([count("ab", true), count("ab", false), count("cd", true)]).toEqual([20 - NONCE_SWEEP, 3 + 1, 5]);
    // The new one is kept until its signature is stale.
    expect(docs.find((d) => d.nonce === nonce)).toMatchObject({ shard: nonceShard(nonce), expiresAt: NOW + MAX_SKEW_MS });
  });

  test("a nonce expired less than the grace ago is kept: a replay checked just before its window ended may still be on its way to the mutation", async () => {
    const t = newBackend();
    const recent = [inShard("ab"), inShard("ab")];
    await t.run(async (ctx) => {
      for (const [i, nonce] of recent.entries()) await ctx.db.insert("signatureNonces", { nonce, shard: "ab", expiresAt: NOW - 1 - i });
      await ctx.db.insert("signatureNonces", { nonce: inShard("ab"), shard: "ab", expiresAt: NOW - NONCE_GRACE_MS - 1 });
    });
    expect((await acquire(t, inShard("ab"))).status).toBe(200);
    const left = (await nonceDocs(t)).map((d) => d.nonce);
    expect(left).toHaveLength(3);
    for (const nonce of recent) expect(left).toContain(nonce);
  });

  test("a shard holds no more than the window's nonces under steady traffic", async () => {
    const t = newBackend();
    for (let minute = 0; minute < 30; minute++) {
      vi.setSystemTime(NOW + minute * 60_000);
      expect((await acquire(t, inShard("ab"))).status).toBe(200);
    }
    // One request a minute, each kept 5 minutes past its timestamp and a
    // minute's grace: the last seven at most.
    expect((await nonceDocs(t)).length).toBeLessThanOrEqual(7);
  });
});

/** Small pure pieces: signature verification, wire-shape checks. */
import { describe, expect, test } from "vitest";
import { check, ShapeError } from "../packages/convex/src/lib/shape";
import { requestString, sign, verifySignature } from "../packages/convex/src/lib/signature";
import { usageRow } from "../packages/convex/src/lib/wire";
import { usage } from "./test.setup";

describe("verifySignature", () => {
  const body = '{"a":1}';
  const req = { method: "POST", path: "/ingest", body };
  const now = 1_700_000_000_000;
  const N = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
  const mac = "0".repeat(64);
  test.each([
    // [description, header factory, expected kind or "ok"]
    ["valid", () => sign("s", req, now), "ok"],
    ["one of several v2 values matches", async () => `${await sign("s", req, now)},v2=${mac}`, "ok"],
    ["missing", async () => null, "missing"],
    ["empty", async () => "", "missing"],
    ["no t", async () => `n=${N},v2=${mac}`, "malformed"],
    ["two t", async () => `t=${now},t=${now},n=${N},v2=${mac}`, "malformed"],
    ["no nonce", async () => `t=${now},v2=${mac}`, "malformed"],
    ["two nonces", async () => `t=${now},n=${N},n=${N},v2=${mac}`, "malformed"],
    ["short nonce", async () => `t=${now},n=${N.slice(1)},v2=${mac}`, "malformed"],
    ["uppercase hex", async () => (await sign("s", req, now)).toUpperCase().replace("T=", "t=").replace("N=", "n=").replace("V2=", "v2="), "malformed"],
    // the retired form without a nonce, whatever its MAC
    ["v1 only", async () => `t=${now},v1=${mac}`, "legacy"],
    ["forged", () => sign("other", req, now), "mismatch"],
    ["signed for another path", () => sign("s", { ...req, path: "/users/ensure" }, now), "mismatch"],
    ["signed for another method", () => sign("s", { ...req, method: "GET" }, now), "mismatch"],
    ["MAC of another nonce", async () => (await sign("s", req, now, N)).replace(`n=${N}`, `n=${"1".repeat(32)}`), "mismatch"],
    ["stale", () => sign("s", req, now - 300_001), "stale"],
    ["exactly 5 minutes is accepted", () => sign("s", req, now - 300_000), "ok"],
  ])("%s", async (_name, header, kind) => {
    const r = await verifySignature(await header(), req, ["s"], now);
    expect(r.ok ? "ok" : r.kind).toBe(kind);
  });
  test("a valid signature yields its timestamp and nonce (for the replay check)", async () => {
    expect(await verifySignature(await sign("s", req, now, N), req, ["s"], now)).toEqual({ ok: true, t: now, nonce: N });
  });
  test("every signature gets a fresh nonce unless one is given", async () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 100; i++) nonces.add(/n=([0-9a-f]{32}),/.exec(await sign("s", req, now))![1]!);
    expect(nonces.size).toBe(100);
  });
  test("a rotated-out secret still verifies while listed", async () => {
    const h = await sign("old", req, now);
    expect((await verifySignature(h, req, ["new", "old"], now)).ok).toBe(true);
    expect((await verifySignature(h, req, ["new"], now)).ok).toBe(false);
  });
});

/**
 * contract/signatures.json, produced by the Go signer (internal/signature's
 * TestSharedVectors checks it): this side builds the same signed strings,
 * accepts every request vector on its own route only, and no webhook vector
 * as a request.
 */
describe("shared signature vectors (Go signer ↔ Convex verifier)", () => {
  type Vector = { name: string; kind: string; secret: string; t: number; nonce?: string; method?: string; path?: string; body: string; signed: string; header: string };
  const vectors = (
    Object.values(import.meta.glob("../contract/signatures.json", { eager: true, import: "default" }))[0] as { vectors: Vector[] }
  ).vectors;
  const requests = vectors.filter((v) => v.kind === "request");
  const route = (v: Vector) => ({ method: v.method!, path: v.path!, body: v.body });
  test("the file has request, retired v1 and webhook vectors", () => {
    expect(requests.length).toBeGreaterThan(1);
    for (const kind of ["request-v1", "webhook"]) expect(vectors.some((v) => v.kind === kind), kind).toBe(true);
  });
  test.each(requests.map((v) => [v.name, v] as const))("request: %s", async (_name, v) => {
    expect(requestString(v.t, v.nonce!, route(v))).toBe(v.signed);
    expect(await sign(v.secret, route(v), v.t, v.nonce!)).toBe(v.header);
    expect(await verifySignature(v.header, route(v), [v.secret], v.t)).toEqual({ ok: true, t: v.t, nonce: v.nonce });
    // no other request vector's route, or nonce, accepts this one's header
    for (const other of requests) {
      if (other.path === v.path && other.method === v.method) continue;
      const check = await verifySignature(v.header, { ...route(other), body: v.body }, [v.secret], v.t);
      expect(check.ok, `${v.name} on ${other.path}`).toBe(false);
    }
    for (const other of requests.filter((o) => o.nonce !== v.nonce)) {
      const moved = v.header.replace(`n=${v.nonce}`, `n=${other.nonce}`);
      expect((await verifySignature(moved, route(v), [v.secret], v.t)).ok, `${v.name} with ${other.nonce}`).toBe(false);
    }
  });
  test.each(vectors.filter((v) => v.kind === "request-v1").map((v) => [v.name, v] as const))(
    "retired v1 is refused as legacy: %s",
    async (_name, v) => {
      expect(await verifySignature(v.header, route(v), [v.secret], v.t)).toMatchObject({ ok: false, kind: "legacy" });
    },
  );
  test.each(vectors.filter((v) => v.kind === "webhook").map((v) => [v.name, v] as const))(
    "webhook never verifies as a request: %s",
    async (_name, v) => {
      for (const path of ["/ingest", "/jobs/alerts/notified", ...requests.map((r) => r.path!)]) {
        const check = await verifySignature(v.header, { method: "POST", path, body: v.body }, [v.secret], v.t);
        expect(check.ok, path).toBe(false);
      }
    },
  );
});

test("wire shapes name the field and strip unknown fields", () => {
  const row = { ...usage("u1"), extra: true, provider: null };
  const out = check(usageRow, row);
  expect("extra" in out).toBe(false);
  expect("provider" in out).toBe(false);
  expect(() => check(usageRow, { ...row, isByok: "no" }, "usage[2]")).toThrowError(
    new ShapeError("usage[2].isByok", "expected boolean, got string"),
  );
});

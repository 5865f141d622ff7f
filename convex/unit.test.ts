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
  test.each([
    // [description, header factory, expected kind or "ok"]
    ["valid", () => sign("s", req, now), "ok"],
    ["one of several v1 values matches", async () => `${await sign("s", req, now)},v1=${"0".repeat(64)}`, "ok"],
    ["missing", async () => null, "missing"],
    ["empty", async () => "", "missing"],
    ["no t", async () => `v1=${"0".repeat(64)}`, "malformed"],
    ["two t", async () => `t=${now},t=${now},v1=${"0".repeat(64)}`, "malformed"],
    ["uppercase hex", async () => (await sign("s", req, now)).toUpperCase().replace("T=", "t=").replace("V1=", "v1="), "malformed"],
    ["forged", () => sign("other", req, now), "mismatch"],
    ["signed for another path", () => sign("s", { ...req, path: "/users/ensure" }, now), "mismatch"],
    ["signed for another method", () => sign("s", { ...req, method: "GET" }, now), "mismatch"],
    ["stale", () => sign("s", req, now - 300_001), "stale"],
    ["exactly 5 minutes is accepted", () => sign("s", req, now - 300_000), "ok"],
  ])("%s", async (_name, header, kind) => {
    const r = await verifySignature(await header(), req, ["s"], now);
    expect(r.ok ? "ok" : r.kind).toBe(kind);
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
  const vectors = (
    Object.values(import.meta.glob("../contract/signatures.json", { eager: true, import: "default" }))[0] as {
      vectors: { name: string; kind: string; secret: string; t: number; method?: string; path?: string; body: string; signed: string; header: string }[];
    }
  ).vectors;
  const requests = vectors.filter((v) => v.kind === "request");
  test("the file has request and webhook vectors", () => {
    expect(requests.length).toBeGreaterThan(1);
    expect(vectors.some((v) => v.kind === "webhook")).toBe(true);
  });
  test.each(requests.map((v) => [v.name, v] as const))("request: %s", async (_name, v) => {
    const r = { method: v.method!, path: v.path!, body: v.body };
    expect(requestString(v.t, r)).toBe(v.signed);
    expect(await sign(v.secret, r, v.t)).toBe(v.header);
    expect((await verifySignature(v.header, r, [v.secret], v.t)).ok).toBe(true);
    // no other request vector's route accepts this one's header
    for (const other of requests) {
      if (other.path === v.path && other.method === v.method) continue;
      const check = await verifySignature(v.header, { method: other.method!, path: other.path!, body: v.body }, [v.secret], v.t);
      expect(check.ok, `${v.name} on ${other.path}`).toBe(false);
    }
  });
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

/** Small pure pieces: shard hash, signature verification, wire-shape checks. */
import { describe, expect, test } from "vitest";
import { fnv1a32, shardOf } from "../lib/hash";
import { check, ShapeError } from "../lib/shape";
import { sign, verifySignature } from "../lib/signature";
import { usageRow } from "../lib/wire";
import { usage } from "./helpers";

test("FNV-1a 32 test vectors (the Go engine uses the same)", () => {
  expect(fnv1a32("")).toBe(0x811c9dc5);
  expect(fnv1a32("a")).toBe(0xe40c292c);
  expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  expect(shardOf("gen-123")).toBe(fnv1a32("gen-123") % 8);
  expect(fnv1a32("é")).toBe(fnv1a32("\u00e9")); // UTF-8 bytes
});

describe("verifySignature", () => {
  const body = '{"a":1}';
  const now = 1_700_000_000_000;
  test.each([
    // [description, header factory, expected kind or "ok"]
    ["valid", () => sign("s", body, now), "ok"],
    ["one of several v1 values matches", async () => `${await sign("s", body, now)},v1=${"0".repeat(64)}`, "ok"],
    ["missing", async () => null, "missing"],
    ["empty", async () => "", "missing"],
    ["no t", async () => `v1=${"0".repeat(64)}`, "malformed"],
    ["two t", async () => `t=${now},t=${now},v1=${"0".repeat(64)}`, "malformed"],
    ["uppercase hex", async () => (await sign("s", body, now)).toUpperCase().replace("T=", "t=").replace("V1=", "v1="), "malformed"],
    ["forged", () => sign("other", body, now), "mismatch"],
    ["stale", () => sign("s", body, now - 300_001), "stale"],
    ["exactly 5 minutes is accepted", () => sign("s", body, now - 300_000), "ok"],
  ])("%s", async (_name, header, kind) => {
    const r = await verifySignature(await header(), body, ["s"], now);
    expect(r.ok ? "ok" : r.kind).toBe(kind);
  });
  test("a rotated-out secret still verifies while listed", async () => {
    const h = await sign("old", body, now);
    expect((await verifySignature(h, body, ["new", "old"], now)).ok).toBe(true);
    expect((await verifySignature(h, body, ["new"], now)).ok).toBe(false);
  });
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

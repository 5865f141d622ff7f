/**
 * The fine latency / TTFT counts' storage (lib/fineCodec.ts, table
 * summaryLatency): the packing is exact for every count a summary can hold,
 * the worst case at the model cap fits Convex's 1 MiB document limit, and
 * modelStats merges the packed counts of several periods into the same
 * percentiles the dense counts give.
 */
import { describe, expect, test, vi } from "vitest";
import { getDocumentSize } from "convex/values";
import { api } from "./_generated/api";
import { FINE_BOUNDS, FINE_BUCKETS, LATENCY_BUCKETS, zeroCounters } from "../packages/convex/src/lib/aggregates";
import { MAX_PACKED_FINE, packFine, unpackFine } from "../packages/convex/src/lib/fineCodec";
import { calendar } from "../packages/convex/src/lib/periods";
import { checkSummary, MAX_SUMMARY_MODELS, readSummary, replaceSummary } from "../packages/convex/src/lib/summaries";
import type { SummaryRow } from "../packages/convex/src/lib/wire";
import { ADMIN, makeUsers, newBackend } from "./test.setup";

const ONE_MIB = 1024 * 1024;
const HOUR = 3_600_000;
const START = Date.UTC(2026, 10, 2, 10); // an hourly period

function counts(f: (i: number) => number): number[] {
  return Array.from({ length: FINE_BUCKETS }, (_, i) => f(i));
}

function bytes(...b: number[]): ArrayBuffer {
  return new Uint8Array(b).buffer;
}

describe("packFine / unpackFine", () => {
  const cases: [string, number[], number[]][] = [
    // No samples: no bytes at all.
    ["all zeros", counts(() => 0), counts(() => 0)],
    // One sample in the first latency bucket, none streamed.
    ["one sample", counts((i) => (i === 0 ? 1 : 0)), counts(() => 0)],
    // Zero runs between counts, a run reaching into the TTFT half.
    ["sparse", counts((i) => (i === 3 ? 5 : i === 40 ? 200 : 0)), counts((i) => (i === 9 ? 1 : 0))],
    // The +inf buckets only.
    ["last buckets", counts((i) => (i === FINE_BUCKETS - 1 ? 7 : 0)), counts((i) => (i === FINE_BUCKETS - 1 ? 9 : 0))],
    // Every varint length from 1 to 8 bytes, up to the largest safe integer.
    ["varint lengths", counts((i) => Math.min(2 ** (7 * (i % 8) + 6) + i, Number.MAX_SAFE_INTEGER)), counts(() => Number.MAX_SAFE_INTEGER)],
    // 127/128 and 2^32 edges, where a 32-bit shift would go wrong.
    ["edges", counts((i) => [127, 128, 16_383, 16_384, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1][i % 7]), counts((i) => i + 1)],
  ];
  for (const [name, latency, ttft] of cases) {
    test(`round trip: ${name}`, () => {
      const packed = packFine(latency, ttft);
      expect(packed.byteLength).toBeLessThanOrEqual(MAX_PACKED_FINE);
      expect(unpackFine(packed)).toEqual({ latencyFine: latency, ttftBuckets: ttft });
    });
  }

  test("sizes: zeros pack to nothing, small counts to a byte each, the bound is 8 bytes a count", () => {
    expect(packFine(undefined, undefined).byteLength).toBe(0);
    expect(packFine(counts(() => 1), counts(() => 1)).byteLength).toBe(2 * FINE_BUCKETS);
    expect(packFine(counts((i) => (i === 0 ? 3 : 0)), undefined).byteLength).toBe(1);
    const worst = counts(() => Number.MAX_SAFE_INTEGER);
    expect(packFine(worst, worst).byteLength).toBe(MAX_PACKED_FINE);
  });

  const bad: [string, ArrayBuffer][] = [
    // A varint whose last byte is missing.
    ["truncated varint", bytes(0x81)],
    // Nine bytes: past 2^53.
    ["overlong varint", bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)],
    // Eight bytes but above 2^53 - 1.
    ["unsafe count", bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)],
    // A zero run without its length.
    ["zero without run", bytes(0x05, 0x00)],
    // A zero run of length 0.
    ["empty run", bytes(0x00, 0x00)],
    // More counts than the two histograms hold.
    ["too many counts", bytes(0x00, 2 * FINE_BUCKETS, 0x01)],
  ];
  for (const [name, buf] of bad) {
    test(`rejects ${name}`, () => {
      expect(() => unpackFine(buf)).toThrow(/fine counts/);
    });
  }
});

function entry(model: string, over: Partial<SummaryRow["models"][number]> = {}): SummaryRow["models"][number] {
  const c = zeroCounters();
  return { model, ...c, ...over };
}

function summary(periodStart: number, models: SummaryRow["models"]): SummaryRow {
  const utc = calendar("UTC");
  return { period: "hourly", periodStart, periodKey: utc.periodOf("hourly", periodStart).periodKey, activeUsers: 0, models, topUsers: [] };
}

describe("summaryLatency documents", () => {
  test("the worst case at the model cap fits 1 MiB: 1,000 models, 128-character ids, every count non-zero and 8 bytes long", async () => {
    const t = newBackend();
    const big = Number.MAX_SAFE_INTEGER;
    const models = Array.from({ length: MAX_SUMMARY_MODELS }, (_, i) =>
      entry(`${String(i).padStart(4, "0")}/`.padEnd(128, "m"), {
        totalRequests: big,
        successfulRequests: big,
        latencyBuckets: new Array(LATENCY_BUCKETS).fill(big),
        latencyFine: counts(() => big),
        ttftBuckets: counts(() => big),
      }),
    );
    const s = summary(START, models);
    const sizes = await t.run(async (ctx) => {
      await replaceSummary(ctx.db, checkSummary(ctx.db, calendar("UTC"), s, "summary"));
      const latency = (await ctx.db.query("summaryLatency").unique())!;
      const coarse = (await ctx.db.query("summaryModels").unique())!;
      const back = await readSummary(ctx.db, "hourly", START);
      return { latency: getDocumentSize(latency), models: getDocumentSize(coarse), entries: latency.models.length, back };
    });
    expect(sizes.entries).toBe(MAX_SUMMARY_MODELS);
    // By construction: 1,000 × (object 2 + "model" 6 + id 130 + "fine" 5 + bytes 2 + 768) = 913,000, plus the keys.
    expect(sizes.latency).toBeGreaterThan(913_000);
    expect(sizes.latency).toBeLessThan(ONE_MIB);
    expect(sizes.models).toBeLessThan(ONE_MIB);
    console.info(`worst-case summary at ${MAX_SUMMARY_MODELS} models: summaryLatency ${sizes.latency} bytes, summaryModels ${sizes.models} bytes`);
    // Stored and read back exactly.
    expect(sizes.back!.models).toEqual(models);
  });

  test("models without fine samples are left out; replacing a summary replaces its latency document", async () => {
    const t = newBackend();
    const streamed = entry("a/streamed", { totalRequests: 2, successfulRequests: 2, latencyFine: counts((i) => (i === 4 ? 2 : 0)), ttftBuckets: counts((i) => (i === 1 ? 2 : 0)) });
    const plain = entry("b/plain", { totalRequests: 1, successfulRequests: 1 });
    const stored = await t.run(async (ctx) => {
      const cal = calendar("UTC");
      await replaceSummary(ctx.db, checkSummary(ctx.db, cal, summary(START, [streamed, plain]), "s"));
      const first = (await ctx.db.query("summaryLatency").collect()).map((d) => d.models.map((m) => m.model));
      await replaceSummary(ctx.db, checkSummary(ctx.db, cal, summary(START, [plain]), "s"));
      const second = (await ctx.db.query("summaryLatency").collect()).map((d) => d.models.length);
      const models = await ctx.db.query("summaryModels").unique();
      return { first, second, modelKeys: Object.keys(models!.models[0]).sort() };
    });
    expect(stored.first).toEqual([["a/streamed"]]);
    expect(stored.second).toEqual([0]);
    // The models document keeps no fine counts: its entries are as before them.
    expect(stored.modelKeys).not.toContain("latencyFine");
    expect(stored.modelKeys).not.toContain("ttftBuckets");
  });

  test("modelStats merges the packed counts of several periods into the dense counts' percentiles", async () => {
    vi.stubEnv("REPORTING_TZ", "UTC");
    const t = newBackend();
    // Hour 1: 90 fast calls (bucket 5); hour 2: 9 slow (bucket 20) and 1 beyond the last bound.
    // Together: p50 = FINE_BOUNDS[5], p95 = FINE_BOUNDS[20] (rank 95 of 100), p99 = FINE_BOUNDS[20] (rank 99), TTFT only in hour 2.
    const h1 = entry("m/one", { totalRequests: 90, successfulRequests: 90, latencyFine: counts((i) => (i === 5 ? 90 : 0)) });
    const h2 = entry("m/one", {
      totalRequests: 10,
      successfulRequests: 10,
      latencyFine: counts((i) => (i === 20 ? 9 : i === FINE_BUCKETS - 1 ? 1 : 0)),
      ttftBuckets: counts((i) => (i === 2 ? 10 : 0)),
    });
    await t.run(async (ctx) => {
      const cal = calendar("UTC");
      await replaceSummary(ctx.db, checkSummary(ctx.db, cal, summary(START, [h1]), "h1"));
      await replaceSummary(ctx.db, checkSummary(ctx.db, cal, summary(START + HOUR, [h2]), "h2"));
    });
    const [m] = await t.withIdentity(ADMIN).query(api.llmmeter.modelStats, { from: START, to: START + 2 * HOUR });
    expect(m).toMatchObject({
      model: "m/one",
      requests: 100,
      p50LatencyMs: FINE_BOUNDS[5],
      p95LatencyMs: FINE_BOUNDS[20],
      p99LatencyMs: FINE_BOUNDS[20],
      p50TtftMs: FINE_BOUNDS[2],
      p95TtftMs: FINE_BOUNDS[2],
      p99TtftMs: FINE_BOUNDS[2],
    });
    // One more slow call beyond the last bound moves p99 to the +inf bucket: null.
    const [only2] = await t.withIdentity(ADMIN).query(api.llmmeter.modelStats, { from: START + HOUR, to: START + 2 * HOUR });
    expect(only2).toMatchObject({ p50LatencyMs: FINE_BOUNDS[20], p99LatencyMs: null });
  });
});

/**
 * The stored form of a model's fine processing-time and TTFT bucket counts
 * (table summaryLatency): both histograms, FINE_BUCKETS counts each, packed
 * into one byte string. Go computes the counts and sends them as arrays; this
 * only changes how Convex keeps them, so a period's histograms fit one
 * document at the 1,000-model cap (two dense arrays of numbers cost Convex
 * 9 bytes a count: 864 bytes a model on top of its summary entry).
 *
 * Format: the 2 · FINE_BUCKETS counts (latency first, then TTFT) as unsigned
 * LEB128 varints, except that a run of zero counts is written as a 0 followed
 * by the run's length (a varint ≥ 1), and trailing zeros are left out. So all
 * zeros pack to no bytes, a count below 128 takes one byte, and no count takes
 * more than 8 (2^53 − 1 needs 53 bits): at most 8 · 2 · FINE_BUCKETS = 768
 * bytes a model, whatever the counts.
 */
import { FINE_BUCKETS } from "./aggregates";

const COUNTS = 2 * FINE_BUCKETS;
/** The most bytes one model's packed counts can take (see the module comment). */
export const MAX_PACKED_FINE = 8 * COUNTS;

function pushVarint(out: number[], n: number): void {
  // Division, not bit shifts: counts go up to 2^53 − 1, past 32-bit operators.
  while (n >= 128) {
    out.push((n % 128) + 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

/** Packs the two histograms (absent or short arrays read as zeros). */
export function packFine(latencyFine: readonly number[] | undefined, ttftBuckets: readonly number[] | undefined): ArrayBuffer {
  const counts: number[] = [];
  for (let i = 0; i < FINE_BUCKETS; i++) counts.push(latencyFine?.[i] ?? 0);
  for (let i = 0; i < FINE_BUCKETS; i++) counts.push(ttftBuckets?.[i] ?? 0);
  let end = COUNTS;
  while (end > 0 && counts[end - 1] === 0) end--;
  const out: number[] = [];
  for (let i = 0; i < end; ) {
    if (counts[i] !== 0) {
      pushVarint(out, counts[i++]!);
      continue;
    }
    let run = 0;
    while (counts[i] === 0) {
      run++;
      i++;
    }
    out.push(0);
    pushVarint(out, run);
  }
  return new Uint8Array(out).buffer;
}

/** Unpacks what packFine wrote; throws on bytes it cannot have written. */
export function unpackFine(buf: ArrayBuffer): { latencyFine: number[]; ttftBuckets: number[] } {
  const bytes = new Uint8Array(buf);
  let at = 0;
  const varint = (): number => {
    let n = 0;
    for (let scale = 1; ; scale *= 128) {
      if (at >= bytes.length || scale > 2 ** 49) throw new Error("fine counts: truncated or overlong varint");
      const b = bytes[at++]!;
      n += (b % 128) * scale;
      if (b >= 128) continue;
      if (!Number.isSafeInteger(n)) throw new Error("fine counts: a count past 2^53 - 1");
      return n;
    }
  };
  const counts: number[] = [];
  while (at < bytes.length) {
    const n = varint();
    if (n !== 0) counts.push(n);
    else {
      const run = varint();
      if (run === 0) throw new Error("fine counts: an empty zero run");
      for (let k = 0; k < run && counts.length <= COUNTS; k++) counts.push(0);
    }
    if (counts.length > COUNTS) throw new Error(`fine counts: more than ${COUNTS}`);
  }
  while (counts.length < COUNTS) counts.push(0);
  return { latencyFine: counts.slice(0, FINE_BUCKETS), ttftBuckets: counts.slice(FINE_BUCKETS) };
}

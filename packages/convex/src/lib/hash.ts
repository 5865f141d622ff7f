/**
 * Shard choice for system and model aggregate rows: FNV-1a 32-bit over the
 * UTF-8 bytes of the key, modulo {@link SHARDS}. Test vectors:
 * fnv1a32("") = 0x811c9dc5, fnv1a32("a") = 0xe40c292c,
 * fnv1a32("gen-123") % 8 = shardOf("gen-123").
 */
export const SHARDS = 8;

const encoder = new TextEncoder();

export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of encoder.encode(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function shardOf(key: string): number {
  return fnv1a32(key) % SHARDS;
}

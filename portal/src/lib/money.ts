/**
 * Exact money formatting. Amounts arrive as integer nano-dollars
 * (costNanoUsd, 1e-9 USD); they are summed and rounded with BigInt and
 * formatted from their decimal digits, never through float arithmetic.
 */

const NANOS_PER_USD = 1_000_000_000n;

/** Nano-dollars as a BigInt; throws on anything that is not an integer. */
export function toNanos(v: number | bigint | string): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new RangeError(`not an exact nano amount: ${v}`);
    return BigInt(v);
  }
  if (!/^-?\d+$/.test(v)) throw new RangeError(`not an exact nano amount: ${JSON.stringify(v)}`);
  return BigInt(v);
}

/** Exact sum of nano amounts. */
export function sumNanos(values: Iterable<number | bigint | string>): bigint {
  let total = 0n;
  for (const v of values) total += toNanos(v);
  return total;
}

function group(int: string): string {
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Decimals shown by default: cents from a dollar up, more for small amounts. */
export function defaultDecimals(nanos: bigint): number {
  const abs = nanos < 0n ? -nanos : nanos;
  if (abs === 0n || abs >= NANOS_PER_USD) return 2;
  if (abs >= 10_000_000n) return 4; // ≥ $0.01
  return 6;
}

/**
 * "$1,234.57" — rounded half away from zero to `decimals` (0..9; default
 * by size: 2 from $1, 4 from $0.01, else 6).
 */
export function formatUsd(v: number | bigint | string, decimals?: number): string {
  const n = toNanos(v);
  const d = decimals ?? defaultDecimals(n);
  if (!Number.isInteger(d) || d < 0 || d > 9) throw new RangeError(`decimals: ${d}`);
  const neg = n < 0n;
  const abs = neg ? -n : n;
  const scale = 10n ** BigInt(9 - d);
  const q = (abs + scale / 2n) / scale; // in units of 10^-d USD
  const unit = 10n ** BigInt(d);
  const int = (q / unit).toString();
  const frac = d > 0 ? "." + (q % unit).toString().padStart(d, "0") : "";
  const sign = neg && q !== 0n ? "-" : "";
  return `${sign}$${group(int)}${frac}`;
}

/** Every digit: "$0.000012345" (at least two decimals, trailing zeros dropped). */
export function formatUsdExact(v: number | bigint | string): string {
  const n = toNanos(v);
  const neg = n < 0n;
  const abs = neg ? -n : n;
  const int = (abs / NANOS_PER_USD).toString();
  let frac = (abs % NANOS_PER_USD).toString().padStart(9, "0").replace(/0+$/, "");
  if (frac.length < 2) frac = frac.padEnd(2, "0");
  return `${neg ? "-" : ""}$${group(int)}.${frac}`;
}

/**
 * Parses a dollar amount typed by an admin ("12.5", "$1,000") into nanos,
 * exactly: at most 9 decimals, commas only between groups of three digits.
 */
export function parseUsd(text: string): bigint | null {
  const m = /^\$?(\d+|\d{1,3}(?:,\d{3})+)(?:\.(\d{0,9}))?$/.exec(text.trim());
  if (!m) return null;
  return BigInt(m[1].replace(/,/g, "")) * NANOS_PER_USD + BigInt((m[2] ?? "").padEnd(9, "0"));
}

/**
 * A dollar amount typed by an admin as llmmeter:setQuota takes it (USD,
 * stored as round(limit · 1e9) nanos: a decimal of at most 9 places
 * round-trips exactly), or null when parseUsd refuses it.
 */
export function usdLimit(text: string): number | null {
  return parseUsd(text) === null ? null : Number(text.trim().replace(/^\$/, "").replace(/,/g, ""));
}

/** Dollars as a float, for chart geometry only (never for sums or labels of totals). */
export function nanosToChartUsd(v: number | bigint): number {
  return Number(v) / 1e9;
}

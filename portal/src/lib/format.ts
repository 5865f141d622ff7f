/** Number formatting. A fixed locale keeps figures identical for every admin. */

const LOCALE = "en-US";
const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(LOCALE, { notation: "compact", maximumFractionDigits: 1 });

/** 1234567 → "1,234,567". */
export function formatInt(n: number): string {
  return integer.format(n);
}

/**
 * A count and its noun, singular for exactly one: (1, "request") → "1 request",
 * (1234, "request") → "1,234 requests". The plural defaults to singular + "s".
 */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatInt(n)} ${n === 1 ? singular : pluralForm}`;
}

/** 1234567 → "1.2M" (chart axes). */
export function formatCompact(n: number): string {
  return compact.format(n);
}

/** A ratio in [0, 1] as a percentage: 0.98765 → "98.77%". */
export function formatPercent(ratio: number, decimals = 2): string {
  if (!Number.isFinite(ratio)) return "—";
  return `${(ratio * 100).toFixed(decimals)}%`;
}

/** A value already in percent (the forecast's backtestMape: 8.5 means 8.5 %). */
export function formatPercentValue(percent: number, decimals = 1): string {
  if (!Number.isFinite(percent)) return "—";
  return `${percent.toFixed(decimals)}%`;
}

/** successful / requests as a percentage, "—" without requests. */
export function successRate(successful: number, requests: number): string {
  return requests > 0 ? formatPercent(successful / requests) : "—";
}

/** Milliseconds: 950 → "950 ms", 12345 → "12.3 s", null → "> 64 s". */
export function formatMs(ms: number | null): string {
  if (ms === null) return "> 64 s";
  if (ms < 1000) return `${formatInt(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Bytes: 1536 → "1.5 KB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Money is kept as integer nano-USD (1e-9 USD); USD floats are derived for display. */

export const NANOS_PER_USD = 1_000_000_000;

/** Display USD from exact nanos. */
export function nanosToUsd(nanos: number): number {
  return nanos / NANOS_PER_USD;
}

/** Nanos from a USD amount given by a person (rounded to the nearest nano). */
export function usdToNanos(usd: number): number {
  return Math.round(usd * NANOS_PER_USD);
}

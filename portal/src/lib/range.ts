import { DAY_MS, HOUR_MS } from "./time";

/** The time windows the pages offer. */
export type RangeKey = "24h" | "7d" | "30d" | "90d";

export const RANGES: { key: RangeKey; label: string; span: number }[] = [
  { key: "24h", label: "Last 24 hours", span: 24 * HOUR_MS },
  { key: "7d", label: "Last 7 days", span: 7 * DAY_MS },
  { key: "30d", label: "Last 30 days", span: 30 * DAY_MS },
  { key: "90d", label: "Last 90 days", span: 90 * DAY_MS },
];

export interface Window {
  from: number;
  to: number;
}

/**
 * The window for a range at `now`: it ends at the start of the next hour
 * (so the current hour counts) and reaches back the range's span. Both ends
 * are whole hours, so the arguments change only once an hour and the
 * admin functions' whole-period rule keeps every period it covers.
 */
export function windowFor(key: RangeKey, now: number): Window {
  const span = RANGES.find((r) => r.key === key)?.span ?? DAY_MS;
  const to = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
  return { from: to - span, to };
}

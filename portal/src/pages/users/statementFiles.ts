import type { FunctionReturnType } from "convex/server";
import type { admin } from "../../data/api";
import { csvSafeText } from "../../lib/csvSafe";
import { toNanos } from "../../lib/money";

export type UserStatement = FunctionReturnType<typeof admin.userStatement>;

/** Nano-USD as an exact decimal of USD with all nine places: 500000007 → "0.500000007". */
export function usdDecimal(nanos: number): string {
  const n = toNanos(nanos);
  const abs = n < 0n ? -n : n;
  return `${n < 0n ? "-" : ""}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, "0")}`;
}

/** A CSV field: quoted when it holds a comma, quote or line break. */
function field(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const HEADER = [
  "userId",
  "month",
  "section",
  "key",
  "requests",
  "successful",
  "failed",
  "generations",
  "promptTokens",
  "completionTokens",
  "totalTokens",
  "cachedTokens",
  "reasoningTokens",
  "costNanoUsd",
  "costUsd",
];

/**
 * The statement as CSV, one row per line item: section "total" (key: the
 * month), "day" (key: the day's periodKey) and "model" (key: the model).
 * Request counts are per day and in total (request logs), generations per
 * model (usage rows); a column that does not apply is empty. costNanoUsd is
 * the exact integer, costUsd its exact decimal.
 */
export function statementCsv(s: UserStatement): string {
  const lines = [HEADER.join(",")];
  const row = (section: string, key: string, item: { costNanoUsd: number }) => {
    const c = item as Record<string, unknown>;
    const counts = HEADER.slice(4, 13).map((h) => (typeof c[h] === "number" ? (c[h] as number) : ""));
    // Text cells (a model id comes from callers) through csvSafeText; numbers raw.
    const texts = [s.userId, s.month, section, key].map(csvSafeText);
    lines.push([...texts, ...counts, item.costNanoUsd, usdDecimal(item.costNanoUsd)].map(field).join(","));
  };
  row("total", s.month, s.totals);
  for (const d of s.byDay) row("day", d.periodKey, d);
  for (const m of s.byModel) row("model", m.model, m);
  return lines.join("\r\n") + "\r\n";
}

/** The statement as JSON: llmmeter:userStatement's answer, costs in exact nano-USD. */
export function statementJson(s: UserStatement): string {
  return JSON.stringify(s, null, 2) + "\n";
}

import type { Quota, QuotaType } from "../../data/api";
import { formatInt } from "../../lib/format";
import { formatUsd } from "../../lib/money";

export const USER_QUOTA_TYPES: { type: Exclude<QuotaType, "system_monthly_cost_usd">; label: string; cost: boolean }[] = [
  { type: "daily_requests", label: "Requests per day", cost: false },
  { type: "monthly_tokens", label: "Tokens per month", cost: false },
  { type: "monthly_cost_usd", label: "Cost per month (USD)", cost: true },
];

export function quotaLabel(t: QuotaType): string {
  return USER_QUOTA_TYPES.find((q) => q.type === t)?.label ?? "System budget per month (USD)";
}

export function isCost(t: QuotaType) {
  return t === "monthly_cost_usd" || t === "system_monthly_cost_usd";
}

/** "1,234 / 5,000" or "$12.34 / $50.00", exact for money. */
export function quotaUsage(q: Quota): { used: string; limit: string; ratio: number } {
  if (isCost(q.quotaType) && q.limitNanoUsd !== null) {
    const used = q.usedNanoUsd ?? 0;
    return { used: formatUsd(used, 2), limit: formatUsd(q.limitNanoUsd, 2), ratio: q.limitNanoUsd > 0 ? used / q.limitNanoUsd : 0 };
  }
  return { used: formatInt(q.used), limit: formatInt(q.limit), ratio: q.limit > 0 ? q.used / q.limit : 0 };
}

/**
 * Validators shared by the schema, the internal functions and the HTTP wire
 * shapes. Literal unions here are the vocabulary of the whole backend.
 */
import { v } from "convex/values";

export const vRole = v.union(v.literal("admin"), v.literal("user"));
export const vPeriod = v.union(v.literal("hourly"), v.literal("daily"), v.literal("weekly"), v.literal("monthly"));
export const vScope = v.union(v.literal("system"), v.literal("user"), v.literal("model"));
export const vCostStatus = v.union(v.literal("reported"), v.literal("estimated"), v.literal("confirmed"));
export const vRequestStatus = v.union(v.literal("success"), v.literal("error"));
export const vQuotaType = v.union(
  v.literal("daily_requests"),
  v.literal("monthly_tokens"),
  v.literal("monthly_cost_usd"),
  v.literal("system_monthly_cost_usd"),
);
export const vSeverity = v.union(v.literal("info"), v.literal("warning"), v.literal("critical"));
export const vJobOutcome = v.union(v.literal("success"), v.literal("failure"), v.literal("skipped"));
export const vReportKind = v.union(v.literal("daily"), v.literal("weekly"));
export const vRowTable = v.union(v.literal("usageTracking"), v.literal("requestLogs"), v.literal("userActivity"));

/** Small JSON object (metadata, counts, bodies): string keys, any values. */
export const vJsonObject = v.record(v.string(), v.any());

export type QuotaType = "daily_requests" | "monthly_tokens" | "monthly_cost_usd" | "system_monthly_cost_usd";
export type Scope = "system" | "user" | "model";

/**
 * Where one report went: one webhook (its scheme and host, and a
 * fingerprint of the whole URL) and the outcome; firstAt is when it was
 * first tried (absent on deliveries recorded before retries existed).
 */
export const vReportDelivery = v.object({
  target: v.string(),
  status: v.union(v.literal("delivered"), v.literal("failed")),
  attempts: v.number(),
  at: v.number(),
  error: v.string(),
  firstAt: v.optional(v.number()),
});

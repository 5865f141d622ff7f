/**
 * Report deliveries (issue 16 §6): the Go report job sends each report to
 * the webhooks and records the outcome per webhook here, through the signed
 * route /jobs/reports/delivered. The Reports page reads them with the report.
 * The Go report_retry job reads the newest reports with a failed delivery
 * (/jobs/reports/undelivered) and sends each again to the webhooks that
 * failed only (jobs/reportretry.go).
 */
import { signedMutation } from "./lib/nonces";
import { v } from "convex/values";
import { internalQuery } from "./server";
import { badRequest, notFound } from "./lib/errors";
import { intIn, opt, str, text } from "./lib/shape";
import { vReportKind } from "./lib/validators";

/** More webhooks than any deployment configures: a bound, not a setting. */
export const MAX_REPORT_DELIVERIES = 20;

export const reportDeliveryBody = v.object({
  kind: vReportKind,
  periodKey: str(16),
  deliveries: v.array(
    v.object({
      target: str(300),
      status: v.union(v.literal("delivered"), v.literal("failed")),
      attempts: intIn(0, 100),
      at: intIn(0, 4_102_444_800_000),
      error: text(500),
      firstAt: opt(intIn(0, 4_102_444_800_000)),
    }),
  ),
});

/** Replaces the deliveries of the stored report of kind and periodKey (404 if none). */
export const record = signedMutation({
  args: reportDeliveryBody.fields,
  handler: async (ctx, args) => {
    if (args.deliveries.length > MAX_REPORT_DELIVERIES)
      badRequest(`deliveries: at most ${MAX_REPORT_DELIVERIES} per report`);
    const report = await ctx.db
      .query("reports")
      .withIndex("by_kind_and_period_key", (q) => q.eq("kind", args.kind).eq("periodKey", args.periodKey))
      .first();
    if (!report) notFound(`report ${args.kind} ${args.periodKey}: not stored`);
    await ctx.db.patch(report._id, { deliveries: args.deliveries });
    return { reportId: report._id, deliveries: args.deliveries.length };
  },
});

export const reportUndeliveredBody = v.object({ limit: intIn(1, 100) });

/**
 * The reports among the newest `limit` (by createdAt) that have a failed
 * delivery, with their body and deliveries: what the retry job sends again.
 */
export const undelivered = internalQuery({
  args: reportUndeliveredBody.fields,
  handler: async (ctx, args) => {
    const newest = await ctx.db.query("reports").withIndex("by_created_at").order("desc").take(args.limit);
    const reports = newest
      .filter((r) => (r.deliveries ?? []).some((d) => d.status === "failed"))
      .map((r) => ({ kind: r.kind, periodKey: r.periodKey, createdAt: r.createdAt, body: r.body, deliveries: r.deliveries ?? [] }));
    return { reports };
  },
});

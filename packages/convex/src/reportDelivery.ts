/**
 * Report deliveries (issue 16 §6): the Go report job sends each report to
 * the webhooks and records the outcome per webhook here, through the signed
 * route /jobs/reports/delivered. The Reports page reads them with the report.
 */
import { v } from "convex/values";
import { internalMutation } from "./server";
import { badRequest, notFound } from "./lib/errors";
import { intIn, str, text } from "./lib/shape";
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
    }),
  ),
});

/** Replaces the deliveries of the stored report of kind and periodKey (404 if none). */
export const record = internalMutation({
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

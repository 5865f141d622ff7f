/**
 * Report deliveries (issue 16 §6): the Go report job sends each report to
 * the webhooks and records the outcome per webhook here, through the signed
 * route /jobs/reports/delivered. The Reports page reads them with the report.
 * The Go report_retry job finds the reports with a delivery still to retry
 * by the retry deadline recorded with the deliveries (/jobs/reports/due,
 * an index range), reads each (/jobs/reports/get) under the report's
 * delivery lease, which the report job holds too while it sends, and sends
 * it again to the webhooks that failed only (jobs/reportretry.go). Reports
 * recorded before deadlines existed are found once per process as before
 * (/jobs/reports/undelivered).
 */
import { signedMutation } from "./lib/nonces";
import { v } from "convex/values";
import { internalQuery, type Doc } from "./server";
import { badRequest, notFound, paginated } from "./lib/errors";
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
  /** The retry deadline (ms) the Go job computed; absent: nothing left to retry. */
  retryUntil: opt(intIn(1, 4_102_444_800_000)),
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
    // retryUntil undefined removes the field: out of by_retry_until's range.
    await ctx.db.patch(report._id, { deliveries: args.deliveries, retryUntil: args.retryUntil });
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
      .map(deliveryView);
    return { reports };
  },
});

function deliveryView(r: Doc<"reports">) {
  return {
    kind: r.kind,
    periodKey: r.periodKey,
    createdAt: r.createdAt,
    body: r.body,
    deliveries: r.deliveries ?? [],
    ...(r.retryUntil === undefined ? {} : { retryUntil: r.retryUntil }),
  };
}

export const reportGetBody = v.object({ kind: vReportKind, periodKey: str(16) });

/** The stored report of kind and periodKey with its deliveries and retry deadline: {report}, or {report: null}. */
export const get = internalQuery({
  args: reportGetBody.fields,
  handler: async (ctx, args) => {
    const r = await ctx.db
      .query("reports")
      .withIndex("by_kind_and_period_key", (q) => q.eq("kind", args.kind).eq("periodKey", args.periodKey))
      .first();
    return { report: r === null ? null : deliveryView(r) };
  },
});

export const reportDueBody = v.object({
  since: intIn(0, 4_102_444_800_000),
  limit: intIn(1, 1000),
  /** The previous page's cursor; absent for the first page. */
  cursor: opt(str(4096)),
});

/**
 * A page of the reports whose retry deadline is at or after `since`,
 * earliest first (by_retry_until: reports without one are not in the
 * range): their kind, period and deadline. {reports, cursor: null after the last page}.
 */
export const due = internalQuery({
  args: reportDueBody.fields,
  handler: async (ctx, args) => {
    const page = await paginated(args.cursor, "cursor", () =>
      ctx.db
        .query("reports")
        .withIndex("by_retry_until", (q) => q.gte("retryUntil", args.since))
        .paginate({ numItems: args.limit, cursor: args.cursor ?? null }),
    );
    return {
      reports: page.page.map((r) => ({ kind: r.kind, periodKey: r.periodKey, retryUntil: r.retryUntil! })),
      cursor: page.isDone ? null : page.continueCursor,
    };
  },
});

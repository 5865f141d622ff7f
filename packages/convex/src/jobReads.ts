/**
 * Internal reads for the Go scheduled jobs, behind signed routes (the
 * service holds no admin identity, so it cannot call llmmeter:jobRuns or
 * llmmeter:alerts):
 * - `jobReads:runs` (POST /jobs/runs/list): runs newest first, of one job
 *   and/or one outcome — the scheduler's last successful run (catch-up)
 *   and the CLI's `jobs runs`;
 * - `jobReads:openAlerts` (POST /jobs/alerts/list): open and held alerts
 *   with their conditionKey, history, acknowledgement, silence and
 *   lastNotifiedAt — alert reconciliation and notification.
 */
import { v } from "convex/values";
import { internalQuery } from "./server";
import { intIn, opt, str } from "./lib/shape";
import { vJobOutcome } from "./lib/validators";
import { alertView, jobRunView } from "./admin";

export const runsListBody = v.object({ job: opt(str(128)), outcome: opt(vJobOutcome), limit: intIn(1, 200) });
export const alertsListBody = v.object({ limit: intIn(1, 1000) });

/** Scan bound when filtering by outcome (a long run of skipped runs). */
const MAX_SCAN = 2000;

export const runs = internalQuery({
  args: runsListBody.fields,
  handler: async (ctx, args) => {
    const q =
      args.job !== undefined
        ? ctx.db.query("jobRuns").withIndex("by_job_and_started_at", (q) => q.eq("job", args.job!))
        : ctx.db.query("jobRuns").withIndex("by_started_at");
    const out = [];
    let scanned = 0;
    for await (const r of q.order("desc")) {
      if (++scanned > MAX_SCAN) break;
      if (args.outcome !== undefined && r.outcome !== args.outcome) continue;
      out.push(jobRunView(r));
      if (out.length >= args.limit) break;
    }
    return { runs: out };
  },
});

export const openAlerts = internalQuery({
  args: alertsListBody.fields,
  handler: async (ctx, args) => {
    const rows = await ctx.db
      .query("systemAlerts")
      .withIndex("by_is_resolved_and_created_at", (q) => q.eq("isResolved", false))
      .order("desc")
      .take(args.limit);
    // Held alerts (resolved by an admin while their condition held) are live
    // too: the job re-arms them when their condition clears.
    const held = await ctx.db
      .query("systemAlerts")
      .withIndex("by_held", (q) => q.eq("held", true))
      .take(Math.max(args.limit - rows.length, 0));
    return {
      alerts: [...rows, ...held].map(alertView),
    };
  },
});

/**
 * Signed HTTP actions for the Go service (the only caller). Every route is
 * POST with a JSON body and the X-Llmmeter-Signature header (lib/signature.ts),
 * whose MAC covers the method and path too, so it is valid on its own route only;
 * the envelope and error mapping are in lib/http.ts. Routes only call
 * internal functions.
 */
import { makeFunctionReference, type ApiFromModules, type HttpRouter } from "convex/server";
import type { InternalFunctions } from "./functions";
import { badRequest } from "./lib/errors";
import { signedRoute } from "./lib/http";
import * as wire from "./lib/wire";
import { alertsListBody, runsListBody } from "./jobReads";
import { usageConfirmBody, usageGetBody } from "./usage";
import { foldApplyBody, foldPendingBody, foldStateBody, foldVersionBody, summariesReplaceBody } from "./fold";
import { reportDeliveryBody, reportUndeliveredBody } from "./reportDelivery";

/** References to the app's re-exports of the internal functions, by name. */
type Refs = ApiFromModules<{ m: InternalFunctions }>["m"];

function refs(module: string): Refs {
  return new Proxy({} as Refs, {
    // The app registers the functions; only their path is known here.
    get: (_, name) => makeFunctionReference(`${module}:${String(name)}`),
  });
}

/** Options of {@link addSignedRoutes}. */
export type SignedRouteOptions = {
  /** The app's module that re-exports llmmeter's functions (default "llmmeter", i.e. convex/llmmeter.ts). */
  module?: string;
};

/**
 * Adds llmmeter's signed routes (POST /ingest, /users/…, /apikeys/…,
 * /quotas/…, /jobs/…) to the app's router. They read INGEST_SECRET (and
 * REPORTING_TZ) from the deployment's environment on every request and call
 * the internal functions the app re-exports from `opts.module`.
 */
export function addSignedRoutes(http: HttpRouter, opts: SignedRouteOptions = {}): void {
  const fn = refs(opts.module ?? "llmmeter");
  const post = (path: string, handler: ReturnType<typeof signedRoute>) => http.route({ path, method: "POST", handler });

  post(
    "/ingest",
    signedRoute(wire.ingestBody, async (ctx, body) => {
      const total = (body.usage?.length ?? 0) + (body.requestLogs?.length ?? 0) + (body.activity?.length ?? 0);
      if (total > wire.MAX_INGEST_ROWS) {
        badRequest(`batch too large: ${total} rows (max ${wire.MAX_INGEST_ROWS} per request across usage, requestLogs and activity)`);
      }
      return await ctx.runMutation(fn.ingestBatch, body);
    }),
  );

  post("/users/ensure", signedRoute(wire.usersEnsureBody, (ctx, b) => ctx.runMutation(fn.ensureUser, b)));
  post("/users/get", signedRoute(wire.usersGetBody, (ctx, b) => ctx.runQuery(fn.getUser, b)));
  post(
    "/users/searchkeys/backfill",
    signedRoute(wire.usersSearchKeysBackfillBody, (ctx, b) => ctx.runMutation(fn.backfillUserSearchKeys, b)),
  );

  post("/apikeys/lookup", signedRoute(wire.apiKeyLookupBody, (ctx, b) => ctx.runMutation(fn.lookupApiKey, b)));
  post("/apikeys/create", signedRoute(wire.apiKeyCreateBody, (ctx, b) => ctx.runMutation(fn.createApiKey, b)));
  post("/apikeys/list", signedRoute(wire.apiKeyListBody, (ctx, b) => ctx.runQuery(fn.listApiKeys, b)));
  post("/apikeys/revoke", signedRoute(wire.apiKeyRevokeBody, (ctx, b) => ctx.runMutation(fn.revokeApiKey, b)));

  post("/quotas/get", signedRoute(wire.quotasGetBody, (ctx, b) => ctx.runQuery(fn.getQuotas, b)));
  post("/quotas/reserve", signedRoute(wire.quotaReserveBody, (ctx, b) => ctx.runMutation(fn.reserveQuotas, b)));
  post("/quotas/release", signedRoute(wire.quotaReleaseBody, (ctx, b) => ctx.runMutation(fn.releaseQuotas, b)));
  post(
    "/quotas/lease",
    signedRoute(wire.quotaLeaseBody, async (ctx, b) => {
      if (b.claims.length > wire.MAX_LEASE_CLAIMS) badRequest(`claims: ${b.claims.length} is more than ${wire.MAX_LEASE_CLAIMS}`);
      return await ctx.runMutation(fn.leaseQuotas, b);
    }),
  );

  post("/jobs/rows", signedRoute(wire.jobRowsBody, (ctx, b) => ctx.runQuery(fn.jobRows, b)));
  post(
    "/jobs/aggregates/upsert",
    signedRoute(wire.aggregatesUpsertBody, (ctx, b) => ctx.runMutation(fn.jobUpsertAggregates, b)),
  );
  post("/jobs/aggregates/list", signedRoute(wire.aggregatesListBody, (ctx, b) => ctx.runQuery(fn.jobListAggregates, b)));
  post("/jobs/quotas/reset", signedRoute(wire.quotaResetBody, (ctx, b) => ctx.runMutation(fn.resetQuotas, b)));
  post("/jobs/quotas/due", signedRoute(wire.quotasDueBody, (ctx, b) => ctx.runQuery(fn.dueQuotas, b)));
  post("/jobs/alerts/open", signedRoute(wire.alertOpenBody, (ctx, b) => ctx.runMutation(fn.jobOpenAlert, b)));
  post("/jobs/alerts/escalate", signedRoute(wire.alertEscalateBody, (ctx, b) => ctx.runMutation(fn.jobEscalateAlert, b)));
  post("/jobs/alerts/resolve", signedRoute(wire.alertResolveBody, (ctx, b) => ctx.runMutation(fn.jobResolveAlert, b)));
  post("/jobs/alerts/notified", signedRoute(wire.alertNotifiedBody, (ctx, b) => ctx.runMutation(fn.jobAlertNotified, b)));
  post("/jobs/reports/store", signedRoute(wire.reportStoreBody, (ctx, b) => ctx.runMutation(fn.jobStoreReport, b)));
  post("/jobs/reports/delivered", signedRoute(reportDeliveryBody, (ctx, b) => ctx.runMutation(fn.jobRecordReportDelivery, b)));
  post("/jobs/reports/undelivered", signedRoute(reportUndeliveredBody, (ctx, b) => ctx.runQuery(fn.jobUndeliveredReports, b)));
  post("/jobs/forecasts/store", signedRoute(wire.forecastStoreBody, (ctx, b) => ctx.runMutation(fn.jobStoreForecasts, b)));
  post("/jobs/health/store", signedRoute(wire.healthStoreBody, (ctx, b) => ctx.runMutation(fn.jobStoreHealth, b)));
  post("/jobs/lease/acquire", signedRoute(wire.leaseAcquireBody, (ctx, b) => ctx.runMutation(fn.jobAcquireLease, b)));
  post("/jobs/lease/renew", signedRoute(wire.leaseRenewBody, (ctx, b) => ctx.runMutation(fn.jobRenewLease, b)));
  post("/jobs/lease/release", signedRoute(wire.leaseReleaseBody, (ctx, b) => ctx.runMutation(fn.jobReleaseLease, b)));
  post("/jobs/runs/record", signedRoute(wire.runRecordBody, (ctx, b) => ctx.runMutation(fn.jobRecordRun, b)));
  post("/jobs/runs/list", signedRoute(runsListBody, (ctx, b) => ctx.runQuery(fn.jobListRuns, b)));
  post("/jobs/alerts/list", signedRoute(alertsListBody, (ctx, b) => ctx.runQuery(fn.jobListAlerts, b)));
  post("/jobs/fold/pending", signedRoute(foldPendingBody, (ctx, b) => ctx.runQuery(fn.foldPending, b)));
  post("/jobs/fold/version", signedRoute(foldVersionBody, (ctx, b) => ctx.runQuery(fn.foldVersion, b)));
  post("/jobs/fold/state", signedRoute(foldStateBody, (ctx, b) => ctx.runQuery(fn.foldSummaryState, b)));
  post("/jobs/summaries/replace", signedRoute(summariesReplaceBody, (ctx, b) => ctx.runMutation(fn.jobReplaceSummaries, b)));
  post("/jobs/fold/apply", signedRoute(foldApplyBody, (ctx, b) => ctx.runMutation(fn.foldApply, b)));
  post("/jobs/usage/get", signedRoute(usageGetBody, (ctx, b) => ctx.runQuery(fn.getUsage, b)));
  post("/jobs/usage/confirm", signedRoute(usageConfirmBody, (ctx, b) => ctx.runMutation(fn.confirmUsage, b)));
}

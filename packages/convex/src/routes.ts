/**
 * Signed HTTP actions for the Go service (the only caller). Every route is
 * POST with a JSON body and the X-Llmmeter-Signature header (lib/signature.ts),
 * whose MAC covers the method and path too, so it is valid on its own route
 * only, and a nonce, so a route that changes state takes it once (a replay
 * is refused with 409); the envelope and error mapping are in lib/http.ts. Routes only call
 * internal functions.
 *
 * Every route behind a mutation claims its nonce (lib/nonces.ts), though a
 * replay harms only some: those that move state a newer call may have moved since
 * (/quotas/lease and /quotas/release: allowance or reservations dropped
 * that a replica still counts as held; /quotas/reserve after a release;
 * /jobs/lease/acquire, /renew and /release: a job run by two replicas or
 * by none; /jobs/alerts/open, /escalate, /resolve and /notified: a cleared
 * alert reopened, a newer one hidden or notified again;
 * /jobs/aggregates/upsert, /jobs/reports/store, /users/ensure: newer values
 * overwritten; /jobs/health/store and /jobs/runs/record: duplicate rows). One
 * rule for all is simpler to keep than a list of exceptions. Routes behind
 * queries claim nothing: a replayed read changes nothing.
 */
import { makeFunctionReference, type ApiFromModules, type HttpRouter } from "convex/server";
import type { InternalFunctions } from "./functions";
import { badRequest } from "./lib/errors";
import { mutationRoute, queryRoute } from "./lib/http";
import * as wire from "./lib/wire";
import { alertsListBody, runsListBody } from "./jobReads";
import { usageConfirmBody, usageGetBody } from "./usage";
import { foldApplyBody, foldPendingBody, foldStateBody, foldVersionBody, summariesReplaceBody } from "./fold";
import { reportDeliveryBody, reportDueBody, reportGetBody, reportUndeliveredBody } from "./reportDelivery";

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
  const post = (path: string, handler: ReturnType<typeof queryRoute>) => http.route({ path, method: "POST", handler });

  post(
    "/ingest",
    mutationRoute(wire.ingestBody, fn.ingestBatch, (body) => {
      const total = (body.usage?.length ?? 0) + (body.requestLogs?.length ?? 0) + (body.activity?.length ?? 0);
      if (total > wire.MAX_INGEST_ROWS) {
        badRequest(`batch too large: ${total} rows (max ${wire.MAX_INGEST_ROWS} per request across usage, requestLogs and activity)`);
      }
    }),
  );

  post("/users/ensure", mutationRoute(wire.usersEnsureBody, fn.ensureUser));
  post("/users/get", queryRoute(wire.usersGetBody, fn.getUser));
  post("/users/searchkeys/backfill", mutationRoute(wire.usersSearchKeysBackfillBody, fn.backfillUserSearchKeys));

  post("/apikeys/lookup", mutationRoute(wire.apiKeyLookupBody, fn.lookupApiKey));
  post("/apikeys/create", mutationRoute(wire.apiKeyCreateBody, fn.createApiKey));
  post("/apikeys/list", queryRoute(wire.apiKeyListBody, fn.listApiKeys));
  post("/apikeys/revoke", mutationRoute(wire.apiKeyRevokeBody, fn.revokeApiKey));

  post("/quotas/get", queryRoute(wire.quotasGetBody, fn.getQuotas));
  post("/quotas/changes", queryRoute(wire.quotaChangesBody, fn.quotaChanges));
  post("/quotas/reserve", mutationRoute(wire.quotaReserveBody, fn.reserveQuotas));
  post("/quotas/release", mutationRoute(wire.quotaReleaseBody, fn.releaseQuotas));
  post(
    "/quotas/lease",
    mutationRoute(wire.quotaLeaseBody, fn.leaseQuotas, (b) => {
      if (b.claims.length > wire.MAX_LEASE_CLAIMS) badRequest(`claims: ${b.claims.length} is more than ${wire.MAX_LEASE_CLAIMS}`);
    }),
  );

  post("/quotas/lease/release-holder", mutationRoute(wire.leaseReleaseHolderBody, fn.releaseLeaseHolder));

  post("/jobs/rows", queryRoute(wire.jobRowsBody, fn.jobRows));
  post(
    "/jobs/aggregates/upsert",
    mutationRoute(wire.aggregatesUpsertBody, fn.jobUpsertAggregates),
  );
  post("/jobs/aggregates/list", queryRoute(wire.aggregatesListBody, fn.jobListAggregates));
  post("/jobs/quotas/reset", mutationRoute(wire.quotaResetBody, fn.resetQuotas));
  post("/jobs/quotas/due", queryRoute(wire.quotasDueBody, fn.dueQuotas));
  post("/jobs/alerts/open", mutationRoute(wire.alertOpenBody, fn.jobOpenAlert));
  post("/jobs/alerts/escalate", mutationRoute(wire.alertEscalateBody, fn.jobEscalateAlert));
  post("/jobs/alerts/resolve", mutationRoute(wire.alertResolveBody, fn.jobResolveAlert));
  post("/jobs/alerts/notified", mutationRoute(wire.alertNotifiedBody, fn.jobAlertNotified));
  post("/jobs/reports/store", mutationRoute(wire.reportStoreBody, fn.jobStoreReport));
  post("/jobs/reports/delivered", mutationRoute(reportDeliveryBody, fn.jobRecordReportDelivery));
  post("/jobs/reports/undelivered", queryRoute(reportUndeliveredBody, fn.jobUndeliveredReports));
  post("/jobs/reports/get", queryRoute(reportGetBody, fn.jobGetReportDeliveries));
  post("/jobs/reports/due", queryRoute(reportDueBody, fn.jobDueReportDeliveries));
  post("/jobs/forecasts/store", mutationRoute(wire.forecastStoreBody, fn.jobStoreForecasts));
  post("/jobs/health/store", mutationRoute(wire.healthStoreBody, fn.jobStoreHealth));
  post("/jobs/lease/acquire", mutationRoute(wire.leaseAcquireBody, fn.jobAcquireLease));
  post("/jobs/lease/renew", mutationRoute(wire.leaseRenewBody, fn.jobRenewLease));
  post("/jobs/lease/release", mutationRoute(wire.leaseReleaseBody, fn.jobReleaseLease));
  post("/jobs/runs/record", mutationRoute(wire.runRecordBody, fn.jobRecordRun));
  post("/jobs/runs/list", queryRoute(runsListBody, fn.jobListRuns));
  post("/jobs/alerts/list", queryRoute(alertsListBody, fn.jobListAlerts));
  post("/jobs/fold/pending", queryRoute(foldPendingBody, fn.foldPending));
  post("/jobs/fold/version", queryRoute(foldVersionBody, fn.foldVersion));
  post("/jobs/fold/state", queryRoute(foldStateBody, fn.foldSummaryState));
  post("/jobs/summaries/replace", mutationRoute(summariesReplaceBody, fn.jobReplaceSummaries));
  post("/jobs/fold/apply", mutationRoute(foldApplyBody, fn.foldApply));
  post("/jobs/usage/get", queryRoute(usageGetBody, fn.getUsage));
  post("/jobs/usage/confirm", mutationRoute(usageConfirmBody, fn.confirmUsage));
}

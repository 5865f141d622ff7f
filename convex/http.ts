/**
 * Signed HTTP actions for the Go service (the only caller). Every route is
 * POST with a JSON body and the X-Llmmeter-Signature header (lib/signature.ts),
 * whose MAC covers the method and path too, so it is valid on its own route only;
 * the envelope and error mapping are in lib/http.ts. Routes only call
 * internal functions.
 */
import { httpRouter } from "convex/server";
import { internal } from "./_generated/api";
import { badRequest } from "./lib/errors";
import { signedRoute } from "./lib/http";
import * as wire from "./lib/wire";
import { alertsListBody, runsListBody } from "./jobReads";
import { usageConfirmBody } from "./usage";
import { foldApplyBody, foldPendingBody, foldVersionBody } from "./fold";

const http = httpRouter();

const post = (path: string, handler: ReturnType<typeof signedRoute>) => http.route({ path, method: "POST", handler });

post(
  "/ingest",
  signedRoute(wire.ingestBody, async (ctx, body) => {
    const total = (body.usage?.length ?? 0) + (body.requestLogs?.length ?? 0) + (body.activity?.length ?? 0);
    if (total > wire.MAX_INGEST_ROWS) {
      badRequest(`batch too large: ${total} rows (max ${wire.MAX_INGEST_ROWS} per request across usage, requestLogs and activity)`);
    }
    return await ctx.runMutation(internal.ingest.batch, body);
  }),
);

post("/users/ensure", signedRoute(wire.usersEnsureBody, (ctx, b) => ctx.runMutation(internal.users.ensure, b)));
post("/users/get", signedRoute(wire.usersGetBody, (ctx, b) => ctx.runQuery(internal.users.get, b)));

post("/apikeys/lookup", signedRoute(wire.apiKeyLookupBody, (ctx, b) => ctx.runMutation(internal.apiKeys.lookup, b)));
post("/apikeys/create", signedRoute(wire.apiKeyCreateBody, (ctx, b) => ctx.runMutation(internal.apiKeys.create, b)));
post("/apikeys/list", signedRoute(wire.apiKeyListBody, (ctx, b) => ctx.runQuery(internal.apiKeys.list, b)));
post("/apikeys/revoke", signedRoute(wire.apiKeyRevokeBody, (ctx, b) => ctx.runMutation(internal.apiKeys.revoke, b)));

post("/quotas/get", signedRoute(wire.quotasGetBody, (ctx, b) => ctx.runQuery(internal.quotas.get, b)));
post("/quotas/reserve", signedRoute(wire.quotaReserveBody, (ctx, b) => ctx.runMutation(internal.quotas.reserve, b)));
post("/quotas/release", signedRoute(wire.quotaReleaseBody, (ctx, b) => ctx.runMutation(internal.quotas.release, b)));

post("/jobs/rows", signedRoute(wire.jobRowsBody, (ctx, b) => ctx.runQuery(internal.jobs.rows, b)));
post(
  "/jobs/aggregates/upsert",
  signedRoute(wire.aggregatesUpsertBody, (ctx, b) => ctx.runMutation(internal.jobs.upsertAggregates, b)),
);
post("/jobs/aggregates/list", signedRoute(wire.aggregatesListBody, (ctx, b) => ctx.runQuery(internal.jobs.listAggregates, b)));
post("/jobs/quotas/reset", signedRoute(wire.quotaResetBody, (ctx, b) => ctx.runMutation(internal.quotas.reset, b)));
post("/jobs/quotas/due", signedRoute(wire.quotasDueBody, (ctx, b) => ctx.runQuery(internal.quotas.due, b)));
post("/jobs/alerts/open", signedRoute(wire.alertOpenBody, (ctx, b) => ctx.runMutation(internal.jobs.openAlert, b)));
post("/jobs/alerts/resolve", signedRoute(wire.alertResolveBody, (ctx, b) => ctx.runMutation(internal.jobs.resolveAlert, b)));
post("/jobs/alerts/notified", signedRoute(wire.alertNotifiedBody, (ctx, b) => ctx.runMutation(internal.jobs.alertNotified, b)));
post("/jobs/reports/store", signedRoute(wire.reportStoreBody, (ctx, b) => ctx.runMutation(internal.jobs.storeReport, b)));
post("/jobs/forecasts/store", signedRoute(wire.forecastStoreBody, (ctx, b) => ctx.runMutation(internal.jobs.storeForecasts, b)));
post("/jobs/health/store", signedRoute(wire.healthStoreBody, (ctx, b) => ctx.runMutation(internal.jobs.storeHealth, b)));
post("/jobs/lease/acquire", signedRoute(wire.leaseAcquireBody, (ctx, b) => ctx.runMutation(internal.jobs.acquireLease, b)));
post("/jobs/lease/renew", signedRoute(wire.leaseRenewBody, (ctx, b) => ctx.runMutation(internal.jobs.renewLease, b)));
post("/jobs/lease/release", signedRoute(wire.leaseReleaseBody, (ctx, b) => ctx.runMutation(internal.jobs.releaseLease, b)));
post("/jobs/runs/record", signedRoute(wire.runRecordBody, (ctx, b) => ctx.runMutation(internal.jobs.recordRun, b)));
post("/jobs/runs/list", signedRoute(runsListBody, (ctx, b) => ctx.runQuery(internal.jobReads.runs, b)));
post("/jobs/alerts/list", signedRoute(alertsListBody, (ctx, b) => ctx.runQuery(internal.jobReads.openAlerts, b)));
post("/jobs/fold/pending", signedRoute(foldPendingBody, (ctx, b) => ctx.runQuery(internal.fold.pending, b)));
post("/jobs/fold/version", signedRoute(foldVersionBody, (ctx, b) => ctx.runQuery(internal.fold.version, b)));
post("/jobs/fold/apply", signedRoute(foldApplyBody, (ctx, b) => ctx.runMutation(internal.fold.apply, b)));
post("/jobs/usage/confirm", signedRoute(usageConfirmBody, (ctx, b) => ctx.runMutation(internal.usage.confirm, b)));

export default http;

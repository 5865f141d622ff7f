/**
 * @llmmeter/convex: llmmeter's tables, functions and signed HTTP routes for
 * an existing Convex app, installed the way Convex Auth is:
 *
 *   // convex/schema.ts
 *   export default defineSchema({ ...llmmeterTables, ...yourTables });
 *   // convex/llmmeter.ts (the one module that registers the functions)
 *   export const { overview, ..., ingestBatch, recordActivity, ... } = llmmeter({ isAdmin });
 *   // convex/http.ts
 *   addHttpRoutes(http, { functions: llmmeterModule }); // import * as llmmeterModule from "./llmmeter"
 *
 * Shaped like a Convex component (own table names, a narrow surface, no
 * reads of the app's tables) so that a later move to `app.use` is mechanical;
 * see the README for why it is not one yet.
 */
import * as admin from "./admin";
import { deleteQuota } from "./adminQuotaDelete";
import { userModels } from "./adminUserModels";
import { requestLogs } from "./adminRequestLogs";
import { periodOverPeriod } from "./adminCompare";
import { errorSummary } from "./adminErrors";
import { userStatement } from "./adminStatement";
import { userMonthCosts } from "./adminUserMonthCosts";
import { searchUsers } from "./adminUserSearch";
import { adminBuilders, type IsAdmin } from "./lib/auth";
import { internalFunctions } from "./functions";
import { addSignedRoutes, type SignedRouteOptions } from "./routes";
import type { HttpRouter } from "convex/server";

export { llmmeterTables } from "./tables";
// Types in the functions' signatures, exported so that an app's own
// declaration build (e.g. a portal importing its convex/_generated/api) can
// name them (TS2742 otherwise).
export type { IngestResult, KindCounts } from "./lib/ingest";
export type { RefusedQuota, ReserveResult } from "./lib/quotas";
export type { LeasedQuota } from "./lib/leases";
export type { DataModel, Doc, Id } from "./server";
export { claimIsAdmin, type IsAdmin } from "./lib/auth";

/** Options of {@link llmmeter}. */
export type LlmmeterOptions = {
  /**
   * Who may call the admin functions: the app's own check on a signed-in
   * caller (e.g. a Clerk role claim, or a row in the app's users table).
   * {@link claimIsAdmin} is this repository's rule (ADMIN_ROLE_CLAIM).
   */
  isAdmin: IsAdmin;
};

/**
 * Every llmmeter function, for the app to re-export from convex/llmmeter.ts:
 * the public admin queries and mutations (behind opts.isAdmin) and the
 * internal functions the signed routes and the chat app call.
 */
export function llmmeter(opts: LlmmeterOptions) {
  const b = adminBuilders(opts.isAdmin);
  return {
    overview: admin.overview(b),
    usageSeries: admin.usageSeries(b),
    topUsers: admin.topUsers(b),
    userDetail: admin.userDetail(b),
    userModels: userModels(b),
    modelStats: admin.modelStats(b),
    requestLogs: requestLogs(b),
    alerts: admin.alerts(b),
    quotas: admin.quotas(b),
    reports: admin.reports(b),
    report: admin.report(b),
    settings: admin.settings(b),
    forecast: admin.forecast(b),
    jobRuns: admin.jobRuns(b),
    setQuota: admin.setQuota(b),
    deleteQuota: deleteQuota(b),
    markAlertRead: admin.markAlertRead(b),
    resolveAlert: admin.resolveAlert(b),
    acknowledgeAlert: admin.acknowledgeAlert(b),
    silenceAlert: admin.silenceAlert(b),
    openAlertCount: admin.openAlertCount(b),
    errorSummary: errorSummary(b),
    userStatement: userStatement(b),
    periodOverPeriod: periodOverPeriod(b),
    userMonthCosts: userMonthCosts(b),
    searchUsers: searchUsers(b),
    ...internalFunctions,
  };
}

/** The name of one function {@link llmmeter} builds. */
export type FunctionName = keyof ReturnType<typeof llmmeter>;

/**
 * Every function name {@link llmmeter} builds, sorted: exactly what an app's
 * convex/llmmeter.ts must re-export, since the signed routes, the Go service
 * and the portal call them as `llmmeter:<name>`. Derived from the factory's
 * own result so that a new function cannot be left out of this list; tests
 * hold this repository's apps to it (test/reexports.test.ts).
 */
export const functionNames: readonly FunctionName[] = Object.freeze(
  (Object.keys(llmmeter({ isAdmin: () => false })) as FunctionName[]).sort(),
);

/** Options of {@link addHttpRoutes}. */
export type RouteOptions = SignedRouteOptions & {
  /**
   * The app's module that re-exports llmmeter's functions, as imported by
   * http.ts (`import * as llmmeterModule from "./llmmeter"`). Given, a name
   * missing from it fails addHttpRoutes, and so the push or deploy that
   * analyses http.ts, instead of the first call of a route, the Go
   * service or the portal that needs the function.
   */
  functions?: object;
};

/**
 * Adds llmmeter's signed routes (POST /ingest, /users/…, /apikeys/…,
 * /quotas/…, /jobs/…) to the app's router, after checking opts.functions
 * (when given) for every name in {@link functionNames}.
 */
export function addHttpRoutes(http: HttpRouter, opts: RouteOptions = {}): void {
  const { functions } = opts;
  if (functions !== undefined) {
    const missing = functionNames.filter((name) => !(name in functions));
    if (missing.length > 0) {
      throw new Error(
        `llmmeter: the module ${opts.module ?? "llmmeter"} does not re-export ${missing.join(", ")}; ` +
          "export every name of functionNames from it (see the README's install steps)",
      );
    }
  }
  addSignedRoutes(http, opts);
}

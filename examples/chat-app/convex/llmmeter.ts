/**
 * Registers llmmeter's functions in this app under `llmmeter:<name>`: the
 * admin functions the portal calls (`api.llmmeter.overview`, …) and the
 * internal ones behind the signed routes of http.ts. This chat app
 * makes its admins by the same Clerk role claim rule as the standalone app
 * (claimIsAdmin); an app with its own admin list would pass its own check.
 */
import { claimIsAdmin, llmmeter } from "@llmmeter/convex";

export const {
  overview,
  usageSeries,
  topUsers,
  userDetail,
  modelStats,
  requestLogs,
  alerts,
  quotas,
  reports,
  report,
  settings,
  forecast,
  jobRuns,
  setQuota,
  markAlertRead,
  resolveAlert,
  ingestBatch,
  recordActivity,
  ensureUser,
  getUser,
  lookupApiKey,
  createApiKey,
  listApiKeys,
  revokeApiKey,
  getQuotas,
  reserveQuotas,
  releaseQuotas,
  leaseQuotas,
  resetQuotas,
  dueQuotas,
  confirmUsage,
  jobRows,
  jobUpsertAggregates,
  jobListAggregates,
  jobOpenAlert,
  jobResolveAlert,
  jobAlertNotified,
  jobStoreReport,
  jobStoreForecasts,
  jobStoreHealth,
  jobAcquireLease,
  jobRenewLease,
  jobReleaseLease,
  jobRecordRun,
  jobListRuns,
  jobListAlerts,
} = llmmeter({ isAdmin: claimIsAdmin });

/**
 * The library's function surface, by the names the app re-exports them under
 * (one flat module, `convex/llmmeter.ts`): the internal functions here, the
 * admin functions in index.ts. The signed routes (routes.ts) and a chat app's
 * own code reach the internal ones as `internal.llmmeter.<name>`.
 */
import * as activity from "./activity";
import * as apiKeys from "./apiKeys";
import * as fold from "./fold";
import * as ingest from "./ingest";
import * as jobReads from "./jobReads";
import * as jobs from "./jobs";
import * as quotas from "./quotas";
import * as reportDelivery from "./reportDelivery";
import * as usage from "./usage";
import * as users from "./users";

export const internalFunctions = {
  ingestBatch: ingest.batch,
  /** For the chat app: records its own activities (login, message_sent, file_uploaded, …). */
  recordActivity: activity.record,
  ensureUser: users.ensure,
  /** Once after upgrading to a version with user search: the search keys of older users (users.ts). */
  backfillUserSearchKeys: users.backfillUserSearchKeys,
  getUser: users.get,
  lookupApiKey: apiKeys.lookup,
  createApiKey: apiKeys.create,
  listApiKeys: apiKeys.list,
  revokeApiKey: apiKeys.revoke,
  getQuotas: quotas.get,
  quotaChanges: quotas.changes,
  reserveQuotas: quotas.reserve,
  releaseQuotas: quotas.release,
  leaseQuotas: quotas.lease,
  releaseLeaseHolder: quotas.releaseLeaseHolder,
  resetQuotas: quotas.reset,
  dueQuotas: quotas.due,
  getUsage: usage.get,
  confirmUsage: usage.confirm,
  jobRows: jobs.rows,
  jobUpsertAggregates: jobs.upsertAggregates,
  jobListAggregates: jobs.listAggregates,
  jobOpenAlert: jobs.openAlert,
  jobEscalateAlert: jobs.escalateAlert,
  jobResolveAlert: jobs.resolveAlert,
  jobAlertNotified: jobs.alertNotified,
  jobStoreReport: jobs.storeReport,
  jobRecordReportDelivery: reportDelivery.record,
  jobUndeliveredReports: reportDelivery.undelivered,
  jobGetReportDeliveries: reportDelivery.get,
  jobDueReportDeliveries: reportDelivery.due,
  jobStoreForecasts: jobs.storeForecasts,
  jobStoreHealth: jobs.storeHealth,
  jobAcquireLease: jobs.acquireLease,
  jobRenewLease: jobs.renewLease,
  jobReleaseLease: jobs.releaseLease,
  jobRecordRun: jobs.recordRun,
  jobListRuns: jobReads.runs,
  jobListAlerts: jobReads.openAlerts,
  foldPending: fold.pending,
  foldVersion: fold.version,
  foldApply: fold.apply,
  foldSummaryState: fold.state,
  jobReplaceSummaries: fold.replaceSummaries,
};
export type InternalFunctions = typeof internalFunctions;

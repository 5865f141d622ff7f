import type { Quota } from "../../data/api";
import { formatDateTime } from "../../lib/time";
import { quotaLabel } from "./quotaTypes";

/**
 * Active quotas with nothing left: the service refuses the user's calls
 * (429 quota_exceeded) until they reset. Compared in each quota's exact unit
 * (nano-USD for cost quotas).
 */
export function exhaustedQuotas(quotas: Quota[]): Quota[] {
  return quotas.filter((q) => {
    if (!q.isActive) return false;
    if (q.limitNanoUsd !== null) return (q.usedNanoUsd ?? 0) >= q.limitNanoUsd;
    return q.used >= q.limit;
  });
}

/** A visible "Blocked" state while a quota is exhausted, with when it lifts (an instant: the browser's zone). */
export function BlockedNotice({ quotas }: { quotas: Quota[] }) {
  const out = exhaustedQuotas(quotas);
  if (out.length === 0) return null;
  return (
    <div className="error-box" data-testid="user-blocked">
      <strong>Blocked.</strong>{" "}
      {out.map((q, i) => (
        <span key={q.id}>
          {i > 0 && "; "}
          {quotaLabel(q.quotaType)} is used up until {formatDateTime(q.resetDate)}
        </span>
      ))}
      . Calls are refused with 429 until then, or until the quota is raised or deleted.
    </div>
  );
}

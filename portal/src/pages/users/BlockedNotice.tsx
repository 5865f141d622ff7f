import type { Quota } from "../../data/api";
import { formatUsd } from "../../lib/money";
import { formatDateTime } from "../../lib/time";
import { Link } from "../../router/router";
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

/** Whether the system budget is set and used up: then every user's calls are refused. */
export function budgetUsedUp(budget: Quota | null | undefined): budget is Quota {
  return budget != null && exhaustedQuotas([budget]).length > 0;
}

/**
 * What a used-up system budget means, said one way on the Budget page and
 * on a user's page (there with a link to the Budget page).
 */
export function BudgetUsedUp({ budget, link }: { budget: Quota; link?: boolean }) {
  return (
    <>
      The system budget is used up ({formatUsd(budget.usedNanoUsd ?? 0, 2)} of {formatUsd(budget.limitNanoUsd ?? 0, 2)}):
      every user&apos;s calls are refused with 429 until {formatDateTime(budget.resetDate)}, or until{" "}
      {link ? (
        <Link to="/forecast" data-testid="budget-link">
          the budget
        </Link>
      ) : (
        "the budget"
      )}{" "}
      is raised.
    </>
  );
}

/**
 * A visible "Blocked" state while one of the user's quotas, or the system
 * budget, is used up, with when it lifts (an instant: the browser's zone).
 * The system budget refuses this user's calls as much as their own quotas.
 */
export function BlockedNotice({ quotas, budget }: { quotas: Quota[]; budget?: Quota | null }) {
  const out = exhaustedQuotas(quotas);
  const system = budgetUsedUp(budget);
  if (out.length === 0 && !system) return null;
  return (
    <div className="error-box" data-testid="user-blocked">
      <strong>Blocked.</strong>{" "}
      {out.length > 0 && (
        <>
          {out.map((q, i) => (
            <span key={q.id}>
              {i > 0 && "; "}
              {quotaLabel(q.quotaType)} is used up until {formatDateTime(q.resetDate)}
            </span>
          ))}
          . Calls are refused with 429 until then, or until the quota is raised or deleted.{" "}
        </>
      )}
      {system && (
        <span data-testid="user-blocked-system">
          <BudgetUsedUp budget={budget} link />
        </span>
      )}
    </div>
  );
}

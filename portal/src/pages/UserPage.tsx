import { useRef } from "react";
import { admin } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { RangePicker } from "../components/RangePicker";
import { QueryView } from "../components/States";
import { Badge } from "../components/Badge";
import { Link } from "../router/router";
import { formatDate } from "../lib/time";
import { useRange } from "../lib/useRange";
import type { Window } from "../lib/range";
import { QuotaTable } from "./users/QuotaTable";
import { QuotaForm } from "./users/QuotaForm";
import { ActivityTimeline } from "./users/ActivityTimeline";
import { Statement } from "./users/Statement";
import { UserStats } from "./users/UserStats";
import { UserUsageChart } from "./users/UserUsageChart";
import { ModelCosts } from "./users/ModelCosts";
import { BlockedNotice, budgetUsedUp, exhaustedQuotas } from "./users/BlockedNotice";
import { useSystemBudget } from "./users/systemBudget";

/**
 * One user: totals, usage over the range, cost by model, quotas (used this
 * day or month against each limit, blocked when one, or the system budget,
 * is used up) and recent
 * activity. Each part is its own component so that sections can be added
 * without touching the others.
 */
export function UserPage({ userId }: { userId: string }) {
  const range = useRange({ key: "30d" });
  const win = range.win;
  const args = win ? { userId, ...win } : undefined;
  const detail = useAdminQuery(admin.userDetail, args ?? "skip");
  const models = useAdminQuery(admin.userModels, args ?? "skip");
  // A used-up system budget refuses this user's calls too (429 quota_exceeded, X-Quota-Type system_monthly_cost_usd).
  const budget = useSystemBudget();
  const quotasHeading = useRef<HTMLHeadingElement>(null);
  const firstSeen = models.data?.firstSeenAt;
  return (
    <section data-page="user" data-args={JSON.stringify(args)}>
      <p className="crumbs">
        <Link to="/users">← Users</Link>
      </p>
      <QueryView state={detail}>
        {({ user, totals, quotas, recentActivity }) => (
          <>
            <PageHeader
              title={user.name ?? user.email ?? user.id}
              subtitle={
                <>
                  {user.email ?? "no email"} · {user.externalId ?? user.clerkUserId ?? user.id} ·{" "}
                  <span data-testid="user-first-seen">
                    {firstSeen === undefined ? "…" : firstSeen === null ? "no activity yet" : `first seen ${formatDate(firstSeen)}`}
                  </span>
                  {(exhaustedQuotas(quotas).length > 0 || budgetUsedUp(budget)) && (
                    <>
                      {" "}
                      <Badge tone="bad">blocked</Badge>
                    </>
                  )}
                </>
              }
              actions={<RangePicker range={range} />}
            />
            <BlockedNotice quotas={quotas} budget={budget} />
            <p>
              <Link to={`/requests?user=${encodeURIComponent(user.id)}`} data-testid="user-requests-link">
                Requests of this user
              </Link>
            </p>
            <UserStats totals={totals} />
            {win && <UserUsageChart userId={user.id} win={win as Window} />}
            {models.data && <ModelCosts data={models.data} />}
            <div className="grid-2">
              <div className="card">
                <h2 ref={quotasHeading} tabIndex={-1}>
                  Quotas
                </h2>
                <QuotaTable userId={user.id} quotas={quotas} afterDelete={() => quotasHeading.current?.focus()} />
                <QuotaForm userId={user.id} quotas={quotas} />
              </div>
              <div className="card">
                <h2>Recent activity</h2>
                <ActivityTimeline items={recentActivity} />
              </div>
            </div>
            <Statement userId={user.id} />
          </>
        )}
      </QueryView>
    </section>
  );
}

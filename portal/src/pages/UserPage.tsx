import { admin } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { RangePicker } from "../components/RangePicker";
import { QueryView } from "../components/States";
import { StatCard } from "../components/StatCard";
import { Link } from "../router/router";
import { formatInt, formatMs, successRate } from "../lib/format";
import { formatUsd, formatUsdExact } from "../lib/money";
import { formatDate } from "../lib/time";
import { useRange } from "../lib/useRange";
import { QuotaTable } from "./users/QuotaTable";
import { QuotaForm } from "./users/QuotaForm";
import { ActivityTimeline } from "./users/ActivityTimeline";
import { Statement } from "./users/Statement";

export function UserPage({ userId }: { userId: string }) {
  const range = useRange({ key: "30d" });
  const win = range.win;
  const args = win ? { userId, ...win } : undefined;
  const detail = useAdminQuery(admin.userDetail, args ?? "skip");
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
                  {user.email ?? "no email"} · {user.externalId ?? user.clerkUserId ?? user.id} · since {formatDate(user.createdAt)}
                </>
              }
              actions={<RangePicker range={range} />}
            />
            <div className="stats">
              <StatCard testId="user-requests" label="Requests" value={formatInt(totals.requests)} hint={`${formatInt(totals.failed)} failed`} />
              <StatCard testId="user-tokens" label="Tokens" value={formatInt(totals.totalTokens)} />
              <StatCard testId="user-cost" label="Cost" value={formatUsd(totals.costNanoUsd)} title={formatUsdExact(totals.costNanoUsd)} />
              <StatCard label="Success rate" value={successRate(totals.successful, totals.requests)} />
              <StatCard label="Avg latency" value={formatMs(totals.avgProcessingMs)} />
            </div>
            <div className="grid-2">
              <div className="card">
                <h2>Quotas</h2>
                <QuotaTable quotas={quotas} />
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

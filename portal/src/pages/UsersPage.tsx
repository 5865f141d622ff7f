import { admin } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { RangePicker } from "../components/RangePicker";
import { Empty, QueryView } from "../components/States";
import { DataTable } from "../components/DataTable";
import { Money } from "../components/Money";
import { Link, useRouter } from "../router/router";
import { formatInt } from "../lib/format";
import { labelOfPeriodKey } from "../lib/time";
import { useCurrentMonth, useQueryParam, useRange } from "../lib/useRange";
import { rangeParams } from "../lib/range";
import { UserSearch } from "./users/UserSearch";

type By = "cost" | "tokens" | "requests";

export function UsersPage() {
  const range = useRange({ key: "30d" });
  const [byParam, setBy] = useQueryParam("by");
  const { setQuery } = useRouter();
  const monthByCost = range.spec.key === "month" && (byParam ?? "cost") === "cost";
  const by: By = byParam === "tokens" || byParam === "requests" ? byParam : "cost";
  const win = range.win;
  const args = win ? { ...win, by, limit: 50 } : undefined;
  const top = useAdminQuery(admin.topUsers, args ?? "skip");
  const monthCost = useMonthCosts(top.data?.map((u) => u.userId));
  return (
    <section data-page="users" data-args={JSON.stringify(args)}>
      <PageHeader title="Users" subtitle="Top users in the range." actions={<RangePicker range={range} />} />
      <UserSearch />
      <div className="toolbar">
        <label>
          Rank by
          <select aria-label="Rank by" value={by} onChange={(e) => setBy(e.target.value === "cost" ? undefined : e.target.value)}>
            <option value="cost">cost</option>
            <option value="tokens">tokens</option>
            <option value="requests">requests</option>
          </select>
        </label>
        {/* One step (one history entry) to the question admins ask most: who spends most this month. */}
        <button
          type="button"
          className="btn"
          aria-pressed={monthByCost}
          data-testid="month-by-cost"
          onClick={() => setQuery({ ...rangeParams({ key: "month" }), by: undefined })}
        >
          Top spenders this month
        </button>
      </div>
      <div className="card">
        <QueryView state={top} isEmpty={(d) => d.length === 0} empty={<Empty title="No user activity in this range" />}>
          {(rows) => (
            <DataTable
              testId="users-table"
              rows={rows}
              rowKey={(u) => u.userId}
              key={by}
              initialSort={{ key: by, dir: "desc" }}
              columns={[
                {
                  key: "name",
                  header: "User",
                  render: (u) => (
                    <Link to={`/users/${encodeURIComponent(u.userId)}`} className="user-link">
                      {u.name ?? u.userId}
                    </Link>
                  ),
                  sortValue: (u) => u.name ?? u.userId,
                },
                { key: "email", header: "Email", render: (u) => u.email ?? "—", sortValue: (u) => u.email },
                { key: "requests", header: "Requests", align: "right", render: (u) => formatInt(u.requests), sortValue: (u) => u.requests },
                { key: "tokens", header: "Tokens", align: "right", render: (u) => formatInt(u.totalTokens), sortValue: (u) => u.totalTokens },
                { key: "cost", header: "Cost", align: "right", render: (u) => <Money nanos={u.costNanoUsd} />, sortValue: (u) => u.costNanoUsd },
                {
                  key: "month",
                  header: monthCost.month === undefined ? "Cost this month" : `Cost ${labelOfPeriodKey(monthCost.month)}`,
                  align: "right",
                  render: (u) => {
                    const n = monthCost.of(u.userId);
                    if (n !== undefined) return <Money nanos={n} />;
                    return <span className="muted" data-testid="month-cost-pending">{monthCost.failed ? "—" : "…"}</span>;
                  },
                  // Unknown (still loading) sorts below every known amount.
                  sortValue: (u) => monthCost.of(u.userId) ?? -1,
                },
              ]}
            />
          )}
        </QueryView>
      </div>
    </section>
  );
}

/**
 * Each listed user's cost in the current month of the reporting time zone,
 * whatever the page's range (llmmeter:userMonthCosts: one monthly row per
 * user, a page being at most 100 users).
 */
function useMonthCosts(userIds: string[] | undefined) {
  const month = useCurrentMonth();
  const res = useAdminQuery(admin.userMonthCosts, month === undefined || userIds === undefined || userIds.length === 0 ? "skip" : { month, userIds });
  const data = res.data?.month === month ? res.data : undefined;
  const byUser = new Map(data?.users.map((u) => [u.userId, u.costNanoUsd]));
  return { month, failed: res.error !== undefined, of: (userId: string) => byUser.get(userId) };
}

import { admin } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { RangePicker } from "../components/RangePicker";
import { Empty, QueryView } from "../components/States";
import { DataTable } from "../components/DataTable";
import { Money } from "../components/Money";
import { Link, useRouter } from "../router/router";
import { formatInt } from "../lib/format";
import { useQueryParam, useRange } from "../lib/useRange";
import { rangeParams } from "../lib/range";

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
  return (
    <section data-page="users" data-args={JSON.stringify(args)}>
      <PageHeader title="Users" subtitle="Top users in the range." actions={<RangePicker range={range} />} />
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
              ]}
            />
          )}
        </QueryView>
      </div>
    </section>
  );
}

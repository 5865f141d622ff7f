import { useState } from "react";
import { admin } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { RangePicker } from "../components/RangePicker";
import { Empty, QueryView } from "../components/States";
import { DataTable } from "../components/DataTable";
import { Money } from "../components/Money";
import { Link } from "../router/router";
import { formatInt } from "../lib/format";
import { useWindow } from "../lib/useWindow";
import type { RangeKey } from "../lib/range";

type By = "cost" | "tokens" | "requests";

export function UsersPage() {
  const [range, setRange] = useState<RangeKey>("30d");
  const [by, setBy] = useState<By>("cost");
  const win = useWindow(range);
  const args = { ...win, by, limit: 50 };
  const top = useAdminQuery(admin.topUsers, args);
  return (
    <section data-page="users" data-args={JSON.stringify(args)}>
      <PageHeader title="Users" subtitle="Top users in the range." actions={<RangePicker value={range} onChange={setRange} options={["24h", "7d", "30d"]} />} />
      <div className="toolbar">
        <label>
          Rank by
          <select aria-label="Rank by" value={by} onChange={(e) => setBy(e.target.value as By)}>
            <option value="cost">cost</option>
            <option value="tokens">tokens</option>
            <option value="requests">requests</option>
          </select>
        </label>
      </div>
      <div className="card">
        <QueryView state={top} isEmpty={(d) => d.length === 0} empty={<Empty title="No user activity in this range" />}>
          {(rows) => (
            <DataTable
              testId="users-table"
              rows={rows}
              rowKey={(u) => u.userId}
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

import type { Quota } from "../../data/api";
import { Badge } from "../../components/Badge";
import { Empty } from "../../components/States";
import { formatDateTime } from "../../lib/time";
import { quotaLabel, quotaUsage } from "./quotaTypes";
import { DeleteQuotaButton } from "./DeleteQuotaButton";

/**
 * The user's quotas: used in the current period (the day for requests, the
 * month for tokens and cost) against the limit, when it resets, and a delete.
 * The reset is an instant (the start of a reporting day or month), so it is
 * shown in the browser's zone like every other time the footer speaks of.
 */
export function QuotaTable({ userId, quotas, afterDelete }: { userId: string; quotas: Quota[]; afterDelete?: () => void }) {
  if (quotas.length === 0) return <Empty title="No quotas">This user is not limited. Add one below.</Empty>;
  return (
    <div className="table-wrap">
      <table className="data-table compact" data-testid="quota-table">
        <thead>
          <tr>
            <th>Quota</th>
            <th className="num">Used</th>
            <th className="num">Limit</th>
            <th>Resets</th>
            <th>State</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {quotas.map((q) => {
            const u = quotaUsage(q);
            return (
              <tr key={q.id} data-quota-type={q.quotaType}>
                <td>{quotaLabel(q.quotaType)}</td>
                <td className="num">
                  {u.used}
                  <span className="muted small quota-percent"> ({Math.floor(u.ratio * 100)}%)</span>
                  <div className="meter" aria-hidden="true">
                    <span style={{ width: `${Math.min(100, u.ratio * 100)}%` }} className={u.ratio >= 1 ? "over" : u.ratio >= 0.8 ? "near" : ""} />
                  </div>
                </td>
                <td className="num quota-limit">{u.limit}</td>
                <td>{formatDateTime(q.resetDate)}</td>
                <td>{q.isActive ? <Badge tone="ok">active</Badge> : <Badge>inactive</Badge>}</td>
                <td>
                  <DeleteQuotaButton userId={userId} quota={q} after={afterDelete} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

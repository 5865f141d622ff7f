import type { Quota } from "../../data/api";
import { Badge } from "../../components/Badge";
import { Empty } from "../../components/States";
import { formatDateTime } from "../../lib/time";
import { useReportingTz } from "../../lib/useRange";
import { quotaLabel, quotaUsage } from "./quotaTypes";

export function QuotaTable({ quotas }: { quotas: Quota[] }) {
  // A quota resets at the start of a reporting day or month: shown in that zone.
  const tz = useReportingTz();
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
                  <div className="meter" aria-hidden="true">
                    <span style={{ width: `${Math.min(100, u.ratio * 100)}%` }} className={u.ratio >= 1 ? "over" : u.ratio >= 0.8 ? "near" : ""} />
                  </div>
                </td>
                <td className="num quota-limit">{u.limit}</td>
                <td title={tz}>{formatDateTime(q.resetDate, tz)}</td>
                <td>{q.isActive ? <Badge tone="ok">active</Badge> : <Badge>inactive</Badge>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

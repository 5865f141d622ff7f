import type { ReportSummary } from "../../data/api";
import { Badge } from "../../components/Badge";
import { plural } from "../../lib/format";
import { formatDateTime } from "../../lib/time";

/**
 * Where a report was delivered: one line per webhook (scheme and host, and a
 * fingerprint of the URL; the path is a secret and never stored), delivered
 * or failed, with the attempts and, when it failed, why ("gave up: …" once
 * the retries ran out).
 */
export function Deliveries({ r }: { r: ReportSummary }) {
  if (r.deliveries.length === 0) return <span className="muted">not delivered</span>;
  return (
    <ul className="deliveries" data-testid="report-deliveries">
      {r.deliveries.map((d, i) => (
        <li key={i} data-status={d.status} title={formatDateTime(d.at)}>
          <Badge tone={d.status === "delivered" ? "ok" : "bad"}>{d.status}</Badge> <span className="delivery-target">{d.target}</span>
          <span className="muted">
            {" "}
            ({plural(d.attempts, "attempt")}){d.error && `: ${d.error}`}
          </span>
        </li>
      ))}
    </ul>
  );
}

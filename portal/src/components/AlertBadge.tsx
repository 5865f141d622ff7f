import { admin } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { plural } from "../lib/format";

/** The count of open alerts beside "Alerts" in the navigation; red when one is critical. */
export function AlertBadge() {
  const q = useAdminQuery(admin.openAlertCount, {});
  if (q.data === undefined || q.data.open === 0) return null;
  const { open, critical, capped } = q.data;
  const text = `${open}${capped ? "+" : ""}`;
  const label = `${capped ? "at least " : ""}${plural(open, "open alert")}`;
  return (
    <span
      className={`nav-badge ${critical > 0 ? "nav-badge-critical" : ""}`}
      data-testid="alert-badge"
      aria-label={`${label}${critical > 0 ? `, ${critical} critical` : ""}`}
    >
      {text}
    </span>
  );
}

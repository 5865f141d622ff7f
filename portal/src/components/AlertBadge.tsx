import { admin } from "../data/api";
import { useAdminQuery } from "../data/hooks";

/** The count of open alerts beside "Alerts" in the navigation; red when one is critical. */
export function AlertBadge() {
  const q = useAdminQuery(admin.openAlertCount, {});
  if (q.data === undefined || q.data.open === 0) return null;
  const { open, critical, capped } = q.data;
  const text = `${open}${capped ? "+" : ""}`;
  return (
    <span
      className={`nav-badge ${critical > 0 ? "nav-badge-critical" : ""}`}
      data-testid="alert-badge"
      aria-label={`${text} open alert${open === 1 ? "" : "s"}${critical > 0 ? `, ${critical} critical` : ""}`}
    >
      {text}
    </span>
  );
}

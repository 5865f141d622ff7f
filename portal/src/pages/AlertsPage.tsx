import { useRef, useState } from "react";
import { useAnnounce } from "../components/Announcer";
import { admin, type Alert, type Severity } from "../data/api";
import { useAdminMutation, useAdminQuery } from "../data/hooks";
import { toAdminError } from "../data/errors";
import { PageHeader } from "../components/PageHeader";
import { Badge, type Tone } from "../components/Badge";
import { Empty, ErrorState, QueryView } from "../components/States";
import { formatDateTime, formatRelative } from "../lib/time";
import { useQueryParam } from "../lib/useRange";

const SEVERITY_TONE: Record<Severity, Tone> = { info: "info", warning: "warn", critical: "bad" };

export function AlertsPage() {
  // The filters live in the query string (?status=resolved&severity=critical).
  const [statusParam, setStatusParam] = useQueryParam("status");
  const [severityParam, setSeverityParam] = useQueryParam("severity");
  const status: "open" | "resolved" = statusParam === "resolved" ? "resolved" : "open";
  const severity: Severity | "" = severityParam === "critical" || severityParam === "warning" || severityParam === "info" ? severityParam : "";
  const setStatus = (s: "open" | "resolved") => setStatusParam(s === "open" ? undefined : s);
  const setSeverity = (s: Severity | "") => setSeverityParam(s || undefined);
  const args = { status, ...(severity ? { severity } : {}), limit: 100 };
  const alerts = useAdminQuery(admin.alerts, args);
  return (
    <section data-page="alerts" data-args={JSON.stringify(args)}>
      <PageHeader title="Alerts" subtitle="Raised by the alert jobs; mark read or resolve." />
      <div className="toolbar">
        <div className="segmented" role="group" aria-label="Alert status">
          {(["open", "resolved"] as const).map((s) => (
            <button key={s} type="button" className={status === s ? "active" : ""} aria-pressed={status === s} onClick={() => setStatus(s)}>
              {s}
            </button>
          ))}
        </div>
        <label>
          Severity
          <select aria-label="Severity" value={severity} onChange={(e) => setSeverity(e.target.value as Severity | "")}>
            <option value="">any</option>
            <option value="critical">critical</option>
            <option value="warning">warning</option>
            <option value="info">info</option>
          </select>
        </label>
      </div>
      <QueryView
        state={alerts}
        isEmpty={(d) => d.length === 0}
        empty={<Empty title={status === "open" ? "No open alerts" : "No resolved alerts"}>All quiet.</Empty>}
      >
        {(rows) => (
          <ul className="alert-list" data-testid="alerts">
            {rows.map((a) => (
              <AlertItem key={a.id} a={a} />
            ))}
          </ul>
        )}
      </QueryView>
    </section>
  );
}

/** What the alert is about, for its buttons' accessible names ("Resolve alert …"). */
function alertTitle(a: Alert): string {
  const text = `${a.alertType.replace(/_/g, " ")}: ${a.message}`;
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
}

/**
 * One alert and its actions. The buttons are aria-disabled while a change
 * runs (disabled would drop focus to <body>); after it, focus goes where the
 * user can carry on (Resolve after Mark read, the next alert after Resolve),
 * and the result is announced.
 */
function AlertItem({ a }: { a: Alert }) {
  const markRead = useAdminMutation(admin.markAlertRead);
  const resolve = useAdminMutation(admin.resolveAlert);
  const announce = useAnnounce();
  const item = useRef<HTMLLIElement>(null);
  const resolveButton = useRef<HTMLButtonElement>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (f: () => Promise<unknown>, done: string, focusNext: () => void) => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await f();
      focusNext();
      announce(done);
    } catch (e) {
      setError(toAdminError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <li ref={item} tabIndex={-1} aria-label={alertTitle(a)} className={`alert-item card ${a.isRead ? "" : "unread"}`} data-alert-id={a.id}>
      <div className="alert-head">
        <Badge tone={SEVERITY_TONE[a.severity]}>{a.severity}</Badge>
        <span className="mono small">{a.alertType}</span>
        {!a.isRead && <Badge tone="info">new</Badge>}
        <span className="muted small" title={formatDateTime(a.createdAt)}>
          {formatRelative(a.createdAt)}
        </span>
      </div>
      <p className="alert-message">{a.message}</p>
      {a.isResolved && a.resolvedAt !== null && <p className="muted small">Resolved {formatDateTime(a.resolvedAt)}</p>}
      <div className="alert-actions">
        {!a.isRead && (
          <button
            type="button"
            className="btn"
            aria-disabled={busy}
            onClick={() =>
              run(
                () => markRead({ alertId: a.id }),
                "Alert marked read.",
                () => (resolveButton.current ?? item.current)?.focus(),
              )
            }
          >
            Mark read<span className="sr-only"> alert {alertTitle(a)}</span>
          </button>
        )}
        {!a.isResolved && (
          <button
            ref={resolveButton}
            type="button"
            className="btn primary"
            aria-disabled={busy}
            onClick={() =>
              run(
                () => resolve({ alertId: a.id }),
                "Alert resolved.",
                () => focusNeighbour(item.current),
              )
            }
          >
            Resolve<span className="sr-only"> alert {alertTitle(a)}</span>
          </button>
        )}
      </div>
      {error && <ErrorState error={error} title="The change failed" />}
    </li>
  );
}

/** Focuses the alert after `li` (or before it, or the page's h1): it is about to leave the list. */
function focusNeighbour(li: HTMLElement | null) {
  const next = (li?.nextElementSibling ?? li?.previousElementSibling) as HTMLElement | null;
  (next ?? document.querySelector<HTMLElement>("main h1"))?.focus();
}

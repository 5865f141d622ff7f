import { useRef, useState } from "react";
import { useAnnounce } from "../components/Announcer";
import { admin, type Alert, type Severity } from "../data/api";
import { useAdminMutation, useAdminQuery } from "../data/hooks";
import { toAdminError } from "../data/errors";
import { PageHeader } from "../components/PageHeader";
import { Badge, type Tone } from "../components/Badge";
import { Empty, ErrorState, QueryView } from "../components/States";
import { formatDateTime, formatRelative } from "../lib/time";
import { useNow } from "../lib/useNow";
import { useQueryParam } from "../lib/useRange";
import { Link } from "../router/router";

const SEVERITY_TONE: Record<Severity, Tone> = {
  info: "info",
  warning: "warn",
  critical: "bad",
};

export function AlertsPage() {
  // The filters live in the query string (?status=resolved&severity=critical).
  const [statusParam, setStatusParam] = useQueryParam("status");
  const [severityParam, setSeverityParam] = useQueryParam("severity");
  const status: "open" | "resolved" =
    statusParam === "resolved" ? "resolved" : "open";
  const severity: Severity | "" =
    severityParam === "critical" ||
    severityParam === "warning" ||
    severityParam === "info"
      ? severityParam
      : "";
  const setStatus = (s: "open" | "resolved") =>
    setStatusParam(s === "open" ? undefined : s);
  const setSeverity = (s: Severity | "") => setSeverityParam(s || undefined);
  // One more than is shown: a flood of alerts (hundreds open) must not look
  // like the whole list, and the least severe ones are the ones cut off.
  const args = { status, ...(severity ? { severity } : {}), limit: SHOWN + 1 };
  const alerts = useAdminQuery(admin.alerts, args);
  return (
    <section data-page="alerts" data-args={JSON.stringify(args)}>
      <PageHeader
        title="Alerts"
        subtitle="Most severe first. Acknowledge to stop repeats, silence to stop notifications for a while; alerts resolve themselves when their condition clears."
      />
      <div className="toolbar">
        <div className="segmented" role="group" aria-label="Alert status">
          {(["open", "resolved"] as const).map((s) => (
            <button
              key={s}
              type="button"
              className={status === s ? "active" : ""}
              aria-pressed={status === s}
              onClick={() => setStatus(s)}
            >
              {s}
            </button>
          ))}
        </div>
        <label>
          Severity
          <select
            aria-label="Severity"
            value={severity}
            onChange={(e) => setSeverity(e.target.value as Severity | "")}
          >
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
          <>
            <ul className="alert-list" data-testid="alerts">
              {rows.slice(0, SHOWN).map((a) => (
                <AlertItem key={a.id} a={a} />
              ))}
            </ul>
            {rows.length > SHOWN && (
              <p className="muted small" data-testid="alerts-more">
                The {SHOWN} most severe, newest first, are shown; there are more. Filter by severity, or resolve some, to
                see the rest.
              </p>
            )}
          </>
        )}
      </QueryView>
    </section>
  );
}

/** Alerts listed at most (the function reads up to 200). */
const SHOWN = 100;

/** Silence lengths offered, as Alertmanager's UI offers durations. */
const SILENCES: { label: string; ms: number }[] = [
  { label: "1 hour", ms: 3_600_000 },
  { label: "4 hours", ms: 4 * 3_600_000 },
  { label: "1 day", ms: 86_400_000 },
  { label: "1 week", ms: 7 * 86_400_000 },
];

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
  const acknowledge = useAdminMutation(admin.acknowledgeAlert);
  const silence = useAdminMutation(admin.silenceAlert);
  const now = useNow(30_000);
  const [silenceFor, setSilenceFor] = useState(SILENCES[0].ms);
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
  // Whether the silence has run out, by the browser's clock: no admin read
  // carries the service's time (and a Convex query's own Date.now() would
  // not re-run as time passes). A skewed clock only misjudges when a silence
  // ends, which picks the button offered (Lift silence or Silence, both
  // harmless); the instant itself is the service's and is shown as such, and
  // the jobs notify by the service's clock whatever the page shows.
  const silenced = a.silencedUntil !== null && a.silencedUntil > now;
  return (
    <li
      ref={item}
      tabIndex={-1}
      aria-label={alertTitle(a)}
      className={`alert-item card ${a.isRead ? "" : "unread"} ${silenced ? "silenced" : ""}`}
      data-alert-id={a.id}
      data-severity={a.severity}
      data-silenced={silenced ? "true" : undefined}
    >
      <div className="alert-head">
        <Badge tone={SEVERITY_TONE[a.severity]}>{a.severity}</Badge>
        <span className="mono small">{a.alertType}</span>
        {!a.isRead && <Badge tone="info">new</Badge>}
        <span className="muted small" title={formatDateTime(a.createdAt)}>
          {formatRelative(a.createdAt, now)}
        </span>
      </div>
      <p className="alert-message">
        {a.userId !== null && (
          <>
            <Link
              to={`/users/${encodeURIComponent(a.userId)}`}
              className="user-link"
              data-testid="alert-user"
            >
              {a.userName ?? a.userId}
            </Link>
            {": "}
          </>
        )}
        {a.message}
      </p>
      {a.history.length > 1 && (
        <ol
          className="alert-history"
          aria-label="Escalations"
          data-testid="alert-history"
        >
          {a.history.map((h, i) => (
            <li key={i}>
              {i > 0 && <span aria-hidden="true">→ </span>}
              <Badge tone={SEVERITY_TONE[h.severity]}>{h.severity}</Badge>{" "}
              <span className="muted small">{formatDateTime(h.at)}</span>
            </li>
          ))}
        </ol>
      )}
      {(a.acknowledgedAt !== null || silenced || a.isResolved) && (
        <div className="alert-states">
          {a.acknowledgedAt !== null && (
            <Badge tone="neutral">
              acknowledged {formatDateTime(a.acknowledgedAt)}
            </Badge>
          )}
          {silenced && (
            <Badge tone="neutral">
              silenced until {formatDateTime(a.silencedUntil!)}
            </Badge>
          )}
          {a.isResolved && a.resolvedAt !== null && (
            <span className="muted small">
              Resolved {formatDateTime(a.resolvedAt)}
            </span>
          )}
        </div>
      )}
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
        {!a.isResolved && a.acknowledgedAt === null && (
          <button
            type="button"
            className="btn primary"
            aria-disabled={busy}
            aria-label={`Acknowledge alert ${alertTitle(a)}`}
            onClick={() => run(() => acknowledge({ alertId: a.id }), "Alert acknowledged.", () => item.current?.focus())}
          >
            Acknowledge
          </button>
        )}
        {silenced ? (
          <button
            type="button"
            className="btn"
            aria-disabled={busy}
            aria-label={`Lift the silence of alert ${alertTitle(a)}`}
            onClick={() => run(() => silence({ alertId: a.id, until: 0 }), "Silence lifted.", () => item.current?.focus())}
          >
            Lift silence
          </button>
        ) : (
          !a.isResolved && (
            <>
              <label className="small">
                Silence for{" "}
                <select
                  aria-label={`Silence length for alert ${alertTitle(a)}`}
                  value={silenceFor}
                  onChange={(e) => setSilenceFor(Number(e.target.value))}
                >
                  {SILENCES.map((d) => (
                    <option key={d.ms} value={d.ms}>
                      {d.label}
                    </option>
                  ))}
                </select>
              </label>
              <button
                type="button"
                className="btn"
                aria-disabled={busy}
                aria-label={`Silence alert ${alertTitle(a)}`}
                onClick={() =>
                  run(
                    // A duration: the service takes the instant from its own clock.
                    () => silence({ alertId: a.id, forMs: silenceFor }),
                    "Alert silenced.",
                    () => item.current?.focus(),
                  )
                }
              >
                Silence
              </button>
            </>
          )
        )}
        {!a.isResolved && (
          <button
            ref={resolveButton}
            type="button"
            className="btn"
            aria-disabled={busy}
            title="Close it by hand; no new alert opens for this condition until it has cleared"
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

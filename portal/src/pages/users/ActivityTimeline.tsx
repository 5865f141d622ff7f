import type { ActivityItem } from "../../data/api";
import { Empty } from "../../components/States";
import { formatDateTime, formatRelative } from "../../lib/time";

function detail(meta: ActivityItem["metadata"]): string {
  if (!meta || typeof meta !== "object") return "";
  const m = meta as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof m.model === "string") parts.push(m.model);
  if (typeof m.status === "string") parts.push(m.status);
  if (m.stream === true) parts.push("stream");
  return parts.join(" · ");
}

/**
 * The user's latest activity, newest first; metadata shown as text. The
 * scroll area is a focusable, labelled region so keyboard users can scroll it.
 */
export function ActivityTimeline({ items }: { items: ActivityItem[] }) {
  if (items.length === 0) return <Empty title="No activity yet" />;
  return (
    <div className="timeline-scroll" tabIndex={0} role="region" aria-label="Recent activity, scrollable">
      <ol className="timeline" data-testid="activity">
        {items.map((a) => (
          <li key={a.id}>
            <span className={`dot ${(a.metadata as { status?: string } | null)?.status === "error" ? "bad" : ""}`} aria-hidden="true" />
            <div>
              <div className="timeline-title">{a.activityType.replace(/_/g, " ")}</div>
              <div className="muted small">{detail(a.metadata)}</div>
            </div>
            <time dateTime={new Date(a.timestamp).toISOString()} title={formatDateTime(a.timestamp)} className="muted small">
              {formatRelative(a.timestamp)}
            </time>
          </li>
        ))}
      </ol>
    </div>
  );
}

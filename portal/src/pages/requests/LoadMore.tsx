import { useEffect, useRef } from "react";
import { useAnnounce } from "../../components/Announcer";
import { formatInt, plural } from "../../lib/format";

type Status = "LoadingFirstPage" | "CanLoadMore" | "LoadingMore" | "Exhausted";

/** What the foot says when the view stopped before the log's end. */
const OLDER = "narrow the filters or the time range to see older requests";

/**
 * The table's foot: the row count and "Load more". The button stays in the
 * page while the next page loads (aria-disabled, not disabled, which would
 * drop focus to <body>); the new count is announced, and when the log ends
 * focus moves to the "End of the log" note that replaces the button (or,
 * when the view stopped at its most pages, to a note that older requests
 * remain).
 */
export function LoadMore({ count, status, capped, loadMore }: { count: number; status: Status; capped: boolean; loadMore: () => void }) {
  const announce = useAnnounce();
  const button = useRef<HTMLButtonElement>(null);
  const end = useRef<HTMLSpanElement>(null);
  // The count when "Load more" was pressed, and whether the button had focus.
  const pending = useRef<{ count: number; focused: boolean } | null>(null);
  const loading = status === "LoadingMore";

  useEffect(() => {
    const p = pending.current;
    // Done when rows arrived or the log ended (a refresh in between changes neither).
    if (!p || (count <= p.count && status !== "Exhausted")) return;
    pending.current = null;
    const shown = `${plural(count, "request")} shown`;
    announce(status === "Exhausted" ? `${shown}, ${capped ? OLDER : "end of the log"}` : shown);
    if (p.focused && status === "Exhausted") end.current?.focus();
  }, [count, status, capped, announce]);

  const onClick = () => {
    if (loading) return;
    pending.current = { count, focused: document.activeElement === button.current };
    loadMore();
  };
  return (
    <div className="table-foot">
      <span className="muted small" data-testid="row-count">
        {plural(count, "request")} shown
      </span>
      {(status === "CanLoadMore" || loading) && (
        <button ref={button} type="button" className="btn" aria-disabled={loading} onClick={onClick}>
          {loading ? "Loading…" : "Load more"}
        </button>
      )}
      {status === "Exhausted" && (
        <span ref={end} tabIndex={-1} className="muted small" data-testid="log-end">
          {capped ? `The newest ${formatInt(count)}; ${OLDER}` : "End of the log"}
        </span>
      )}
    </div>
  );
}
